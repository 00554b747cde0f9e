#!/usr/bin/env bash
# Builds the container images of the local cluster's real node, without Docker or a registry, as
# docker-archive tarballs ($TRADING_BOT_CACHE/images/<name>.tar) that local/cluster/node.sh imports
# into containerd (`ctr -n k8s.io images import`). References are pinned in versions.sh:
#   pause        PAUSE_IMAGE     containerd's sandbox image (local/images/pause, Go)
#   trading-bot  BOT_IMAGE       the stand-in bot (local/images/bot, Go)
#   postgres     POSTGRES_IMAGE  PostgreSQL from Debian's packages (local/images/postgres)
#   redis        REDIS_IMAGE     Redis from Debian's packages (local/images/redis)
# The Debian images hold the packages' programs and exactly the shared libraries they need (found
# by local/images/imagetool from the unpacked .debs), not a whole Debian base.
# An image is rebuilt only when its inputs change (sources, pins, the Debian package versions apt
# offers, this script); a new PostgreSQL, Redis or bot image is published only after
# local/images/smoke-test.sh has run it.
#
# Usage: build-images.sh [pause|trading-bot|postgres|redis]...   (no argument: all of them)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

SRC="$PROJECT_ROOT/local/images"
OUT="$TRADING_BOT_CACHE/images"
WORK="$TOOLCHAIN_BUILD/images"
LOGS="$TOOLCHAIN_BUILD/logs"
IMAGETOOL="$WORK/bin/imagetool"

# fingerprint <text> <file under $SRC>...: a hash of the text, of this script's contents and of the
# files' names (relative to $SRC) and contents. No absolute path goes in, so another clone, or
# the project at another path, reuses the images.
fingerprint() {
  local text="$1"; shift
  { printf '%s\n' "$text" "$(go version 2>/dev/null)"; sha256sum <"$0"; (cd "$SRC" && sha256sum "${@#"$SRC"/}"); } |
    sha256sum | cut -d' ' -f1
}

# current <name> <fingerprint>: the published tar was built from these inputs.
current() { [[ -f "$OUT/$1.tar" && -f "$WORK/stamps/$1" && "$(<"$WORK/stamps/$1")" == "$2" ]]; }

imagetool_sources() { find "$SRC/imagetool" -type f | sort; }

# A few seconds cold, nothing when up to date (go build leaves an up-to-date binary alone).
build_imagetool() {
  mkdir -p "$LOGS"
  (cd "$SRC/imagetool" && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$IMAGETOOL" . >"$LOGS/imagetool.log" 2>&1) ||
    { cat "$LOGS/imagetool.log" >&2; die "go build imagetool failed"; }
}

# skeleton <dir>: an empty root with Debian's merged /usr (bin, sbin, lib, lib64 link into /usr)
# and the mount points a runtime expects.
skeleton() {
  rm -rf "$1"
  mkdir -p "$1"/usr/{bin,sbin,lib,lib64} "$1"/{etc,dev,proc,sys,tmp}
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$1/$d"; done
  chmod 1777 "$1/tmp"
}

# Go images: one static binary (CGO_ENABLED=0, from lib.sh) plus directories.
go_image_inputs() { find "$SRC/$1" -type f | sort; imagetool_sources; }

pause_fingerprint() { fingerprint "$PAUSE_IMAGE" $(go_image_inputs pause); }

build_pause() {
  local fp; fp=$(pause_fingerprint)
  if current pause "$fp"; then info "pause: $OUT/pause.tar is up to date ($PAUSE_IMAGE)"; return; fi
  step "Building the pause image ($PAUSE_IMAGE)"
  local root="$WORK/pause/rootfs"
  skeleton "$root"
  (cd "$SRC/pause" && run_logged "go test pause" "$LOGS/image-pause-test.log" go test -trimpath -count=1 . &&
    run_logged "go build pause" "$LOGS/image-pause.log" go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$root/pause" .)
  "$IMAGETOOL" archive --rootfs "$root" --ref "$PAUSE_IMAGE" --out "$WORK/out/pause.tar" \
    --user 65535:65535 --entrypoint '["/pause"]'
  publish pause "$fp"
}

bot_fingerprint() { fingerprint "$BOT_IMAGE" $(go_image_inputs bot); }

build_trading-bot() {
  step "Building the stand-in bot image ($BOT_IMAGE)"
  local root="$WORK/trading-bot/rootfs"
  skeleton "$root"
  mkdir -p "$root/usr/local/bin" "$root/app/data" "$root/app/logs"
  # Its unit tests (HTTP, readiness reporting, SIGTERM, leader election against a fake API) first.
  (cd "$SRC/bot" && run_logged "go test trading-bot" "$LOGS/image-trading-bot-test.log" go test -trimpath -count=1 . &&
    run_logged "go build trading-bot" "$LOGS/image-trading-bot.log" \
      go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$root/usr/local/bin/trading-bot" .)
  printf 'root:x:0:0:root:/root:/nonexistent\nbot:x:1000:1000:trading bot:/app:/nonexistent\n' >"$root/etc/passwd"
  printf 'root:x:0:\nbot:x:1000:\n' >"$root/etc/group"
  # The pod runs it as 1000:1000 with a read-only root: these are its only writable places.
  "$IMAGETOOL" archive --rootfs "$root" --ref "$BOT_IMAGE" --out "$WORK/out/trading-bot.tar" \
    --user 1000:1000 --workdir /app --entrypoint '["/usr/local/bin/trading-bot"]' --port 8000/tcp \
    --env DATA_DIR=/app/data --env LOG_DIR=/app/logs --env HTTP_PORT=8000 \
    --owner 1000:1000=/app/data --owner 1000:1000=/app/logs --owner 1000:1000=/tmp
}

# Debian images --------------------------------------------------------------------------------

# deb_packages <package>...: the packages and the libraries they depend on (recursively). Left out:
# what only maintainer scripts use (perl, debconf, ...), LLVM (the JIT, which the image leaves out),
# and elogind (an alternative to libsystemd0 with the same library name). zlib1g is a library
# without the lib prefix.
deb_packages() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$@" | grep -v -e '^ ' -e '^<' | sort -u |
    grep -x -e "$(printf '%s\\|' "$@")zlib1g\\|lib.*" | grep -v -x -e 'libllvm.*' -e 'libperl.*' -e 'lib.*-perl' \
    -e 'libelogind0' -e 'libc-bin' -e 'libc-l10n' -e 'libz3-.*'
}

# deb_files <package>...: the .deb file names apt would download (name_version_arch.deb).
deb_files() {
  apt-get download --print-uris "$@" | awk '{print $2}' | sort
}

# unpack <dir> <package>...: download (once) and unpack the packages into a merged-/usr root.
unpack() {
  local dir="$1" debs="$WORK/debs" missing=() f; shift
  mkdir -p "$debs"
  for f in $(deb_files "$@"); do
    [[ -f "$debs/$f" ]] || missing+=("${f%%_*}")
  done
  if (( ${#missing[@]} )); then
    (cd "$debs" && run_logged "apt-get download (${#missing[@]} packages)" "$LOGS/image-apt-download.log" \
      apt-get download "${missing[@]}")
  fi
  skeleton "$dir"
  for f in $(deb_files "$@"); do
    dpkg-deb --fsys-tarfile "$debs/$f" | tar -x --keep-directory-symlink -C "$dir"
  done
}

deb_version() { dpkg-deb -f "$WORK/debs/$(deb_files "$1")" Version; }

postgres_major() { local tag="${POSTGRES_IMAGE##*:}"; echo "${tag%%-*}"; }
postgres_roots() { echo "postgresql-$(postgres_major) postgresql-client-$(postgres_major) tzdata dash coreutils"; }
redis_roots() { echo "redis-server redis-tools dash"; }

deb_fingerprint() { # <name> <ref>
  local packages; packages=$(deb_packages $("$1_roots")) || die "apt-cache knows no $("$1_roots"): run apt-get update"
  fingerprint "$2 $(deb_files $packages | tr '\n' ' ')" "$SRC/$1"/* $(imagetool_sources)
}

build_postgres() {
  local major; major=$(postgres_major)
  step "Building the PostgreSQL image ($POSTGRES_IMAGE) from Debian's postgresql-$major"
  local staging="$WORK/postgres/staging" root="$WORK/postgres/rootfs" lib="/usr/lib/postgresql/$major"
  unpack "$staging" $(deb_packages $(postgres_roots))
  skeleton "$root"
  # The server's loadable modules, without the LLVM JIT (the server runs without it).
  local modules; modules=$(cd "$staging" && find ".$lib/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' | sed 's/^\.//')
  "$IMAGETOOL" install --from "$staging" --to "$root" "$lib/bin" $modules "/usr/share/postgresql/$major" \
    /usr/share/zoneinfo /usr/bin/dash /usr/bin/rm /usr/bin/mkdir /usr/bin/cat /usr/bin/ls /usr/bin/id
  ln -s dash "$root/usr/bin/sh"
  install -D -m 0755 "$SRC/postgres/entrypoint.sh" "$root/usr/local/bin/postgres-entrypoint"
  install -m 0644 "$SRC/postgres/passwd" "$SRC/postgres/group" "$root/etc/"
  mkdir -p "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
  "$IMAGETOOL" archive --rootfs "$root" --ref "$POSTGRES_IMAGE" --out "$WORK/out/postgres.tar" \
    --user 70:70 --entrypoint '["/usr/local/bin/postgres-entrypoint"]' --cmd '["postgres"]' --port 5432/tcp \
    --env "PATH=$lib/bin:/usr/local/bin:/usr/bin:/bin" --env PGDATA=/var/lib/postgresql/data \
    --owner 70:70=/var/lib/postgresql --owner 70:70=/var/run/postgresql \
    --label "org.opencontainers.image.version=$(deb_version "postgresql-$major")" \
    --label "org.opencontainers.image.description=PostgreSQL from Debian's postgresql-$major"
}

build_redis() {
  step "Building the Redis image ($REDIS_IMAGE) from Debian's redis-server"
  local staging="$WORK/redis/staging" root="$WORK/redis/rootfs"
  unpack "$staging" $(deb_packages $(redis_roots))
  skeleton "$root"
  "$IMAGETOOL" install --from "$staging" --to "$root" /usr/bin/redis-server /usr/bin/redis-cli /usr/bin/dash
  ln -s dash "$root/usr/bin/sh"
  install -m 0644 "$SRC/redis/passwd" "$SRC/redis/group" "$root/etc/"
  mkdir -p "$root/data"
  "$IMAGETOOL" archive --rootfs "$root" --ref "$REDIS_IMAGE" --out "$WORK/out/redis.tar" \
    --user 999:999 --workdir /data --cmd '["redis-server"]' --port 6379/tcp --env PATH=/usr/bin:/bin \
    --owner 999:999=/data \
    --label "org.opencontainers.image.version=$(deb_version redis-server)" \
    --label "org.opencontainers.image.description=Redis from Debian's redis-server"
}

# publish <name> <fingerprint>: move the built tar into place (atomically) and remember its inputs.
publish() {
  mkdir -p "$OUT" "$WORK/stamps"
  # Same bytes (the builds are reproducible): keep the old file, so the node does not import it again.
  if cmp -s "$WORK/out/$1.tar" "$OUT/$1.tar"; then
    rm "$WORK/out/$1.tar"
    info "$1: rebuilt, the same bytes as $OUT/$1.tar"
    echo "$2" >"$WORK/stamps/$1"
    return
  else
    mv "$WORK/out/$1.tar" "$OUT/$1.tar"
  fi
  echo "$2" >"$WORK/stamps/$1"
  info "$1: $OUT/$1.tar ($(du -h "$OUT/$1.tar" | cut -f1))"
}

mkdir -p "$WORK/out" "$WORK/bin"
rm -f "$WORK/out"/*.tar
parts=("$@")
(( ${#parts[@]} )) || parts=(pause trading-bot postgres redis)
for part in "${parts[@]}"; do
  case "$part" in pause | trading-bot | postgres | redis) ;; *) die "unknown image '$part' (expected pause, trading-bot, postgres or redis)" ;; esac
done
build_imagetool
tested_imagetool=false
test_imagetool() {
  $tested_imagetool && return
  (cd "$SRC/imagetool" && run_logged "go test imagetool" "$LOGS/imagetool-test.log" go test -trimpath -count=1 .)
  tested_imagetool=true
}

# The bot, PostgreSQL and Redis images are smoke-tested together (the bot must get ready against
# the other two), so when one of them changes, the three are checked before any is published.
declare -A want=()
tested=()
for part in "${parts[@]}"; do
  case "$part" in
    pause) current pause "$(pause_fingerprint)" || test_imagetool; build_pause ;;
    trading-bot) want[$part]=$(bot_fingerprint) ;;
    postgres | redis) want[$part]=$(deb_fingerprint "$part" "$([[ $part == postgres ]] && echo "$POSTGRES_IMAGE" || echo "$REDIS_IMAGE")") ;;
  esac
done
for part in "${!want[@]}"; do
  if current "$part" "${want[$part]}"; then
    info "$part: $OUT/$part.tar is up to date"
    continue
  fi
  test_imagetool
  start=$SECONDS
  "build_$part"
  info "$part: built in $((SECONDS - start)) s"
  tested+=("$part")
done
if (( ${#tested[@]} )); then
  for part in trading-bot postgres redis; do
    [[ -f "$WORK/out/$part.tar" ]] || cp "$OUT/$part.tar" "$WORK/out/$part.tar" 2>/dev/null ||
      die "the smoke test needs the $part image too: run build-images.sh without arguments"
  done
  step "Smoke-testing the images (local/images/smoke-test.sh)"
  run_logged "smoke test" "$LOGS/image-smoke-test.log" \
    bash "$SRC/smoke-test.sh" "$WORK/out/trading-bot.tar" "$WORK/out/postgres.tar" "$WORK/out/redis.tar"
  grep '^SKIPPED' "$LOGS/image-smoke-test.log" >&2 || true
  for part in "${tested[@]}"; do publish "$part" "${want[$part]}"; done
fi
