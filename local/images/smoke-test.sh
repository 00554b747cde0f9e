#!/usr/bin/env bash
# Runs the images' programs the way their pods do, without a container runtime: each image's layer
# is unpacked and its program started by chroot in a private mount namespace, as the pod's UID/GID,
# with a read-only root and only the pod spec's volumes writable (tmpfs for emptyDirs, directories for
# the data volumes). It checks that
#   PostgreSQL initialises, starts, answers pg_isready and accepts the user's password (and no other)
#   over TCP with psql; Redis starts from a configuration read on stdin and answers redis-cli with
#   REDISCLI_AUTH (and refuses without it); the bot becomes ready against both (Redis over TLS,
#   checking the server name against a CA file), says why not with
#   wrong passwords, serves /health and /metrics, writes its two files, and exits 0 soon after SIGTERM.
#
# Usage: smoke-test.sh BOT_TAR POSTGRES_TAR REDIS_TAR   (as root; prints SKIPPED and exits 0 otherwise)
set -euo pipefail
(( $# == 3 )) || { echo "usage: $0 BOT_TAR POSTGRES_TAR REDIS_TAR" >&2; exit 2; }
bot_tar="$1" postgres_tar="$2" redis_tar="$3"
if [[ $(id -u) != 0 ]] || ! unshare --mount true 2>/dev/null; then
  echo "SKIPPED: the image smoke test needs root and mount namespaces (chroot, bind mounts)"
  exit 0
fi

work=$(mktemp -d /tmp/image-smoke.XXXXXX)
launchers=()
# stop <launcher pid>: SIGTERM to the program, then wait for the launcher, which exits with the
# program's status. The launcher (a subshell) runs unshare, which ignores SIGTERM and waits for its
# child, the program (sh having exec'd chroot, and chroot the program).
stop() {
  local pid="$1" child
  while child=$(pgrep -P "$pid" | head -n 1) && [[ -n "$child" ]]; do
    pid=$child
    [[ "$(ps -o comm= -p "$pid")" == unshare ]] || break
  done
  [[ "$pid" == "$1" ]] || kill -TERM "$pid" 2>/dev/null || true
  wait "$1"
}
cleanup() {
  local p
  for p in "${launchers[@]}"; do [[ -z "$p" ]] || stop "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  local f
  for f in "$work"/*.log; do [[ -f "$f" ]] && { echo "--- $(basename "$f"):"; tail -n 15 "$f"; }; done >&2
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }

# unpack <tar> <dir>: the image's single layer, with its owners and modes.
unpack() {
  local layer
  layer=$(tar -xOf "$1" manifest.json | sed -n 's/.*"Layers":\["\([^"]*\)".*/\1/p')
  mkdir -p "$2"
  tar -xOf "$1" "$layer" | tar -x --same-owner --numeric-owner -C "$2"
}

# contain <root> <uid:gid> <mounts> <command>...: run a command of the image as the pod would, with
# only the environment in the array `envs` (and PATH). mounts: space-separated SOURCE=PATH; SOURCE
# "tmpfs" for an emptyDir.
envs=()
contain() {
  local root="$1" user="$2" mounts="$3"; shift 3
  env -i PATH="$image_path" "${envs[@]}" unshare --mount --propagation private --fork sh -c '
    set -e
    root=$1 user=$2 mounts=$3; shift 3
    mount --bind "$root" "$root"
    mount --rbind /dev "$root/dev"
    for m in $mounts; do
      src=${m%%=*} dst=${m#*=}
      if [ "$src" = tmpfs ]; then mount -t tmpfs -o mode=1777,size=64m tmpfs "$root$dst"; else mount --bind "$src" "$root$dst"; fi
    done
    mount -o remount,bind,ro "$root"
    exec chroot --userspec="$user" --groups="${user#*:}" "$root" "$@"
  ' contain "$root" "$user" "$mounts" "$@"
}

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  fail "no free port"
}

# eventually <seconds> <what> <command>...: retry until the command succeeds.
eventually() {
  local timeout="$1" what="$2" deadline=$((SECONDS + $1)); shift 2
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || fail "$what: not within $timeout s"
    sleep 0.5
  done
}

for image in bot postgres redis; do
  tar_var="${image}_tar"
  unpack "${!tar_var}" "$work/$image"
done
password=$(head -c 18 /dev/urandom | base64 | tr -d '+/=')
redis_password=$(head -c 18 /dev/urandom | base64 | tr -d '+/=')
pg_port=$(free_port) redis_port=$(free_port) redis_tls_port=$(free_port) bot_port=$(free_port)
# Clients connect to the machine's own address, not loopback: a pod's connections come from its pod
# IP, which only the image's "host all all all" rule admits (initdb's defaults admit loopback only).
host_ip=$(hostname -I 2>/dev/null | awk '{print $1}')
[[ -n "$host_ip" ]] || { host_ip=127.0.0.1; echo "note: no non-loopback address; PostgreSQL's pg_hba rule for remote hosts goes untested"; }
# The images' PATHs plus the host's (for unshare, mount, chroot).
image_path="/usr/lib/postgresql/${POSTGRES_MAJOR:-15}/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# PostgreSQL: its data volume is group-writable by fsGroup 70, as the kubelet leaves it.
mkdir -p "$work/pgvol"; chown 0:70 "$work/pgvol"; chmod 2770 "$work/pgvol"
envs=(POSTGRES_DB=trading POSTGRES_USER=bot POSTGRES_PASSWORD="$password" PGDATA=/var/lib/postgresql/data/pgdata PGPORT="$pg_port")
contain "$work/postgres" 70:70 "tmpfs=/var/run/postgresql tmpfs=/tmp $work/pgvol=/var/lib/postgresql/data" \
  /usr/local/bin/postgres-entrypoint postgres >"$work/postgres.log" 2>&1 &
launchers+=($!)
envs=()
pg_ready() { contain "$work/postgres" 70:70 "" pg_isready -h 127.0.0.1 -p "$pg_port"; }
eventually 90 "PostgreSQL answers pg_isready on port $pg_port" pg_ready
pass "PostgreSQL initialised and ready (pg_isready)"
psql_as() { # <password> <query>
  local envs=(PGPASSWORD="$1")
  contain "$work/postgres" 70:70 "" psql -h "$host_ip" -p "$pg_port" -U bot -d trading -tAc "$2"
}
got=$(psql_as "$password" "select current_user || '@' || current_database() || ' ' || (select setting from pg_settings where name = 'password_encryption')" 2>&1) ||
  fail "psql with the password: $got"
[[ "$got" == "bot@trading scram-sha-256" ]] || fail "psql answered '$got', want 'bot@trading scram-sha-256'"
pass "psql over TCP with the password: $got"
if out=$(psql_as "wrong-$password" "select 1" 2>&1); then fail "psql with a wrong password succeeded"; fi
[[ "$out" == *"password authentication failed"* ]] || fail "psql with a wrong password: $out"
pass "psql with a wrong password is refused"
[[ -s "$work/pgvol/pgdata/PG_VERSION" && $(stat -c %u "$work/pgvol/pgdata") == 70 ]] || fail "PGDATA is not on the volume, owned by 70"

# Redis: configuration (with the password) on stdin, never on the command line.
# Also a TLS port, with a certificate for the name redis.test that is its own CA: the bot must
# verify that name against that CA (REDIS_TLS_SERVER_NAME, REDIS_TLS_CA_FILE), not the address.
mkdir -p "$work/redisvol" "$work/tls"; chown 0:999 "$work/redisvol"; chmod 2770 "$work/redisvol"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=redis.test -addext subjectAltName=DNS:redis.test \
  -keyout "$work/tls/key.pem" -out "$work/tls/ca.pem" 2>/dev/null || fail "openssl could not make a test certificate"
chmod 0644 "$work/tls/key.pem"
envs=(REDIS_PASSWORD="$redis_password" REDIS_PORT="$redis_port" REDIS_TLS_PORT="$redis_tls_port")
contain "$work/redis" 999:999 "$work/tls=/tmp $work/redisvol=/data" /bin/sh -c 'exec redis-server - <<EOF
port $REDIS_PORT
tls-port $REDIS_TLS_PORT
tls-cert-file /tmp/ca.pem
tls-key-file /tmp/key.pem
tls-auth-clients no
requirepass $REDIS_PASSWORD
appendonly yes
dir /data
EOF' >"$work/redis.log" 2>&1 &
launchers+=($!)
envs=()
redis_ping() { contain "$work/redis" 999:999 "" redis-cli -h "$host_ip" -p "$redis_port" ping; }
redis_pong() { local envs=(REDISCLI_AUTH="$redis_password"); [[ $(redis_ping) == PONG ]]; }
eventually 30 "Redis answers PONG with REDISCLI_AUTH" redis_pong
pass "redis-cli ping with REDISCLI_AUTH: PONG"
out=$(redis_ping 2>&1 || true)
[[ "$out" == *NOAUTH* ]] || fail "redis-cli without the password: '$out', want NOAUTH"
pass "redis-cli without the password is refused ($out)"
[[ -n "$(ls "$work/redisvol")" ]] || fail "Redis wrote nothing to its data volume"

# The bot, with the ConfigMap's and Secret's environment; Redis over TLS unless told a plain port.
bot() { # <port> <db password> <redis password> <volume> [redis plain port]
  mkdir -p "$4/data" "$4/logs"; chown 1000:1000 "$4/data" "$4/logs"
  local envs=(HTTP_PORT="$1" ENVIRONMENT=dev LOG_LEVEL=info POD_NAME=smoke-bot POD_NAMESPACE=smoke
    DATABASE_HOST="$host_ip" DATABASE_PORT="$pg_port" DATABASE_NAME=trading DATABASE_USER=bot DATABASE_SSL_MODE=prefer
    DATABASE_PASSWORD="$2" REDIS_HOST="$host_ip" REDIS_DB=0 REDIS_PASSWORD="$3"
    TRADING_ENABLED=true LEADER_ELECTION_ENABLED=false LEADER_ELECTION_LEASE_NAME= DATA_DIR=/app/data LOG_DIR=/app/logs)
  if [[ -n "${5:-}" ]]; then
    envs+=(REDIS_PORT="$5" REDIS_TLS=false)
  else
    envs+=(REDIS_PORT="$redis_tls_port" REDIS_TLS=true REDIS_TLS_SERVER_NAME=redis.test REDIS_TLS_CA_FILE=/tmp/ca.pem)
  fi
  contain "$work/bot" 1000:1000 "$work/tls=/tmp $4/data=/app/data $4/logs=/app/logs" /usr/local/bin/trading-bot
}
http_status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1"; }
bot_serves() { [[ $(http_status "$bot_port/health") == 200 ]]; }
bot_ready() { [[ $(http_status "$bot_port/ready") == 200 ]]; }
bot "$bot_port" "$password" "$redis_password" "$work/botvol" >"$work/bot.log" 2>&1 &
bot_launcher=$!
launchers+=("$bot_launcher")
eventually 10 "the bot serves /health" bot_serves
eventually 20 "the bot is ready" bot_ready
pass "bot /health 200 and /ready 200 against PostgreSQL and Redis (TLS, verified as redis.test)"
metrics=$(curl -s "http://127.0.0.1:$bot_port/metrics")
for line in "trading_bot_up 1" "trading_bot_ready 1" "trading_bot_leader 1"; do
  grep -qx "$line" <<<"$metrics" || fail "/metrics lacks '$line'"
done
pass "bot /metrics: up, ready, leader"
[[ -s "$work/botvol/data/trading-bot-state.json" && -s "$work/botvol/logs/trading-bot.log" ]] || fail "the bot wrote no state or log file"
pass "bot wrote /app/data/trading-bot-state.json and /app/logs/trading-bot.log"

wrong_port=$(free_port)
bot "$wrong_port" "wrong-$password" "wrong-$redis_password" "$work/botvol2" "$redis_port" >"$work/bot2.log" 2>&1 &
launchers+=($!)
says_why() {
  local body; body=$(curl -s "http://127.0.0.1:$wrong_port/ready")
  [[ $body == *"password authentication failed"* && $body == *WRONGPASS* ]]
}
eventually 15 "the bot with wrong passwords says why it is not ready" says_why
[[ $(http_status "$wrong_port/ready") == 503 ]] || fail "the bot with wrong passwords is not 503"
pass "bot with wrong passwords: 503, $(curl -s "http://127.0.0.1:$wrong_port/ready" | cut -c1-200)"

start=$SECONDS
stop "$bot_launcher" || fail "the bot did not exit 0 after SIGTERM: $(tail -n 5 "$work/bot.log")"
launchers=("${launchers[@]/$bot_launcher}")
(( SECONDS - start <= 6 )) || fail "the bot took $((SECONDS - start)) s to stop"
grep -q "shutting down" "$work/bot.log" || fail "the bot did not log 'shutting down'"
pass "bot stopped on SIGTERM with status 0 in $((SECONDS - start)) s"
echo "PASSED: images smoke test"
