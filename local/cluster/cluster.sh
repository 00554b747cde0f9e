#!/usr/bin/env bash
# A local Kubernetes cluster for the Pulumi stacks: the real control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) built from source, kwok playing the kubelets of three
# fake nodes where no container runs, and, beside them, one real node (node.sh: kubelet, containerd,
# kube-proxy, CoreDNS) for the pods that ask for it. The control plane listens on loopback only.
# Volumes come from our own dynamic provisioner (local-provisioner, provisioner
# trading-bot.local/hostpath): a directory per volume under $LOCAL_STATE/cluster/volumes, owned by
# UID 1000, offering what a cloud's class would (addons/storage-classes.yaml): `standard` any access
# mode, ReadWriteMany included; `fast-ssd` ReadWriteOnce only, pinned to the consuming pod's zone.
#
# Usage (npm run cluster -- <command>):
#   up              build what is missing, start what is not running, apply the add-ons, wait until ready
#   down [--purge]  stop every component; --purge also deletes the cluster's data, certificates and
#                   volumes
#   status          each component, the API's readiness, the nodes (exit 0 only when all is up)
#   kubeconfig      print the admin kubeconfig's path (context trading-bot-local), nothing else
#   node up|down    start or stop the real node alone (node.sh), the rest of the cluster running
#
# State (certificates, etcd data, logs, pid files, kubeconfigs) lives in $LOCAL_STATE/cluster.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../../scripts/lib.sh"
. "$HERE/pki.sh"

CLUSTER_NAME=trading-bot-local
STATE="$LOCAL_STATE/cluster"
PKI="$STATE/pki"
RUN="$STATE/run"
LOGS="$STATE/logs"
ADMIN_KUBECONFIG="$STATE/admin.kubeconfig"

ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
API_PORT=26443
CONTROLLER_MANAGER_PORT=26457
SCHEDULER_PORT=26459
PROVISIONER_HEALTH_PORT=26461
# The StorageClass provisioner local-provisioner serves (addons/storage-classes.yaml).
PROVISIONER_NAME=trading-bot.local/hostpath
API_URL="https://127.0.0.1:$API_PORT"
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
POD_CIDR=10.244.0.0/16
# The address the API server publishes in the `kubernetes` Service's endpoints. It must not be
# loopback (endpoint validation rejects it), and nothing in this cluster dials it; fixing it keeps
# the API server from guessing one from the default route, which a sandbox may lack.
ADVERTISE_IP=10.240.0.10
NODE_LEASE_SECONDS=40

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler local-provisioner kwok)
KUBECTL="$TOOLCHAIN_BIN/kubectl"

kubectl() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
# The real node beside kwok's (containerd, kubelet, kube-proxy, CoreDNS): node_pki, node_up,
# node_down, node_status.
. "$HERE/node.sh"

# args_<component>: the component's command-line arguments, one per line.
args_etcd() {
  cat <<EOF
--name=$CLUSTER_NAME
--data-dir=$STATE/etcd
--listen-client-urls=http://127.0.0.1:$ETCD_CLIENT_PORT
--advertise-client-urls=http://127.0.0.1:$ETCD_CLIENT_PORT
--listen-peer-urls=http://127.0.0.1:$ETCD_PEER_PORT
--initial-advertise-peer-urls=http://127.0.0.1:$ETCD_PEER_PORT
--initial-cluster=$CLUSTER_NAME=http://127.0.0.1:$ETCD_PEER_PORT
--auto-compaction-retention=1
EOF
}

args_kube-apiserver() {
  cat <<EOF
--etcd-servers=http://127.0.0.1:$ETCD_CLIENT_PORT
--bind-address=127.0.0.1
--secure-port=$API_PORT
--advertise-address=$ADVERTISE_IP
--tls-cert-file=$PKI/apiserver.crt
--tls-private-key-file=$PKI/apiserver.key
--client-ca-file=$PKI/ca.crt
--authorization-mode=Node,RBAC
--enable-admission-plugins=NodeRestriction
--allow-privileged=true
--service-cluster-ip-range=$SERVICE_CIDR
--service-account-issuer=https://kubernetes.default.svc.cluster.local
--service-account-key-file=$PKI/sa.pub
--service-account-signing-key-file=$PKI/sa.key
--requestheader-client-ca-file=$PKI/front-proxy-ca.crt
--requestheader-allowed-names=front-proxy-client
--requestheader-username-headers=X-Remote-User
--requestheader-group-headers=X-Remote-Group
--requestheader-extra-headers-prefix=X-Remote-Extra-
--proxy-client-cert-file=$PKI/front-proxy-client.crt
--proxy-client-key-file=$PKI/front-proxy-client.key
--kubelet-client-certificate=$PKI/apiserver-kubelet-client.crt
--kubelet-client-key=$PKI/apiserver-kubelet-client.key
--kubelet-certificate-authority=$PKI/ca.crt
--kubelet-preferred-address-types=InternalIP,Hostname
EOF
}

args_kube-controller-manager() {
  cat <<EOF
--kubeconfig=$STATE/controller-manager.kubeconfig
--authentication-kubeconfig=$STATE/controller-manager.kubeconfig
--authorization-kubeconfig=$STATE/controller-manager.kubeconfig
--bind-address=127.0.0.1
--secure-port=$CONTROLLER_MANAGER_PORT
--cert-dir=$STATE/serving-certs
--cluster-name=$CLUSTER_NAME
--controllers=*
--use-service-account-credentials=true
--root-ca-file=$PKI/ca.crt
--service-account-private-key-file=$PKI/sa.key
--cluster-signing-cert-file=$PKI/ca.crt
--cluster-signing-key-file=$PKI/ca.key
--service-cluster-ip-range=$SERVICE_CIDR
--leader-elect=false
EOF
}

args_kube-scheduler() {
  cat <<EOF
--kubeconfig=$STATE/scheduler.kubeconfig
--authentication-kubeconfig=$STATE/scheduler.kubeconfig
--authorization-kubeconfig=$STATE/scheduler.kubeconfig
--bind-address=127.0.0.1
--secure-port=$SCHEDULER_PORT
--cert-dir=$STATE/serving-certs
--leader-elect=false
EOF
}

# The PV controller (in the controller manager) hands claims of our classes to it and binds the
# volumes it creates; it deletes the volumes the PV controller releases.
args_local-provisioner() {
  cat <<EOF
--kubeconfig=$STATE/local-provisioner.kubeconfig
--provisioner-name=$PROVISIONER_NAME
--volume-dir=$STATE/volumes
--health-address=127.0.0.1:$PROVISIONER_HEALTH_PORT
EOF
}

# kwok's built-in node stages are used (node-initialize, node heartbeat); its pod stages come from
# addons/kwok-stages.yaml: the built-in pod-ready, pod-complete and pod-delete, plus pod-never-ready
# (an image tagged `never-ready` runs but never passes its readiness probe, for rollout tests).
# --node-lease-duration-seconds matters: at 0 (the binary's default) kwok v0.7.0 keeps
# no node leases and heartbeats node status only every 10-20 minutes, so the node lifecycle
# controller would declare the nodes unreachable; with leases it renews them like a kubelet.
args_kwok() {
  cat <<EOF
--kubeconfig=$STATE/kwok.kubeconfig
--manage-all-nodes=false
--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
--node-lease-duration-seconds=$NODE_LEASE_SECONDS
--cidr=$POD_CIDR
--config=$HERE/addons/kwok-stages.yaml
EOF
}

ports_of() {
  case "$1" in
    etcd) echo "$ETCD_CLIENT_PORT $ETCD_PEER_PORT" ;;
    kube-apiserver) echo "$API_PORT" ;;
    kube-controller-manager) echo "$CONTROLLER_MANAGER_PORT" ;;
    kube-scheduler) echo "$SCHEDULER_PORT" ;;
    local-provisioner) echo "$PROVISIONER_HEALTH_PORT" ;;
    kwok) echo "" ;;
  esac
}

# probe_<component>: succeeds when the component serves.
probe_etcd() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
probe_kube-apiserver() {
  [[ "$(curl -sS --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$API_URL/readyz" 2>/dev/null)" == ok ]]
}
probe_kube-controller-manager() { [[ "$(curl -ksS --max-time 2 "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" 2>/dev/null)" == ok ]]; }
probe_kube-scheduler() { [[ "$(curl -ksS --max-time 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz" 2>/dev/null)" == ok ]]; }
# Ready once its caches of claims, volumes and classes are synced.
probe_local-provisioner() { [[ "$(curl -sS --max-time 2 "http://127.0.0.1:$PROVISIONER_HEALTH_PORT/healthz" 2>/dev/null)" == ok ]]; }
# kwok serves nothing; it is ready once it holds every fake node's lease and reports the node Ready.
probe_kwok() { [[ -n "$(fake_nodes 2>/dev/null)" && -z "$(unmanaged_nodes)" ]]; }

# fake_nodes [--ready]: the names of the nodes kwok manages (see addons/nodes.yaml); with --ready,
# each followed by its Ready condition's status.
fake_nodes() {
  kubectl get nodes -o jsonpath='{range .items[?(@.metadata.annotations.kwok\.x-k8s\.io/node=="fake")]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    if [[ "${1:-}" == --ready ]]; then cat; else cut -d' ' -f1; fi
}

# unmanaged_nodes: the fake nodes that are not Ready or whose lease kwok has not renewed lately.
unmanaged_nodes() {
  local now name ready renew
  now=$(date +%s)
  while read -r name ready; do
    renew=$(kubectl -n kube-node-lease get lease "$name" -o jsonpath='{.spec.renewTime}' 2>/dev/null || true)
    if [[ "$ready" != True || -z "$renew" ]] || (( now - $(date -d "$renew" +%s) > NODE_LEASE_SECONDS )); then
      echo "$name"
    fi
  done < <(fake_nodes --ready 2>/dev/null)
}

# desired_cmdline <component>: the NUL-separated command line the component should run with.
desired_cmdline() {
  local arg
  printf '%s\0' "$TOOLCHAIN_BIN/$1"
  while IFS= read -r arg; do printf '%s\0' "$arg"; done < <("args_$1")
}

# pid_of <component>: the pid of our running instance (from its pid file, checked against /proc so
# a recycled pid or a zombie does not count).
pid_of() {
  local pid
  [[ -f "$RUN/$1.pid" ]] || return 1
  pid=$(<"$RUN/$1.pid")
  [[ "$pid" =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  [[ "$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1)" == "$TOOLCHAIN_BIN/$1" ]] || return 1
  echo "$pid"
}

# current <component>: running with the wanted arguments and the binary now on disk.
current() {
  local pid
  pid=$(pid_of "$1") || return 1
  cmp -s "/proc/$pid/cmdline" <(desired_cmdline "$1") &&
    [[ "$(readlink "/proc/$pid/exe")" == "$TOOLCHAIN_BIN/$1" ]]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ports_free <component>...: before anything starts, the ports of the components to start are free.
ports_free() {
  local c port
  for c in "$@"; do
    for port in $(ports_of "$c"); do
      port_in_use "$port" || continue
      die "cannot start $c: 127.0.0.1:$port is already in use$(command -v ss >/dev/null && ss -Hltnp "sport = :$port" | sed -n 's/.*users:/ by /p' | head -n 1).
       Stop that process (if it is a leftover of this cluster, 'npm run cluster -- down' stops it)."
    done
  done
}

start() {
  local c="$1" args=() log="$LOGS/$1.log"
  mapfile -t args < <("args_$c")
  rm -f "$RUN/$c.pid"
  printf '\n=== %s: starting %s\n' "$(date -Is)" "$c" >>"$log"
  # setsid: its own session, so it outlives this script and the terminal; the pid is written from
  # inside, after which bash execs the component (same pid). KWOK_WORKDIR keeps kwok away from a
  # ~/.kwok/kwok.yaml of the user's own kwokctl clusters, which it would load otherwise.
  KWOK_WORKDIR="$STATE/kwok" setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$c.pid" \
    "$TOOLCHAIN_BIN/$c" "${args[@]}" >>"$log" 2>&1 </dev/null &
  local i
  for i in $(seq 50); do [[ -s "$RUN/$c.pid" ]] && break; sleep 0.1; done
  info "$c: started (pid $(<"$RUN/$c.pid"), log $log)"
}

# wait_ready <component> <timeout seconds>
wait_ready() {
  local c="$1" timeout="$2" start=$SECONDS
  until "probe_$c"; do
    if ! pid_of "$c" >/dev/null; then
      tail -n 25 "$LOGS/$c.log" >&2
      die "$c exited while starting; full log: $LOGS/$c.log"
    fi
    if (( SECONDS - start >= timeout )); then
      tail -n 25 "$LOGS/$c.log" >&2
      die "$c is not ready after $timeout s; full log: $LOGS/$c.log"
    fi
    sleep 1
  done
}

stop() {
  local c="$1" pid i
  pid=$(pid_of "$c") || { rm -f "$RUN/$c.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 150); do
    pid_of "$c" >/dev/null || break
    sleep 0.2
  done
  if pid_of "$c" >/dev/null; then
    info "$c: did not stop within 30 s of SIGTERM, killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$RUN/$c.pid"
  # Its listening sockets can outlive it by a moment; a restart must find its ports free.
  local port
  for port in $(ports_of "$c"); do
    for i in $(seq 50); do port_in_use "$port" || break; sleep 0.2; done
    ! port_in_use "$port" || info "$c: 127.0.0.1:$port is still in use 10 s after it stopped"
  done
  info "$c: stopped"
}

any_running() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null && return 0; done
  return 1
}

# stop_all: every component, in the reverse order of starting.
stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[i]}"; done
}

# leftovers: pids of this cluster's components that no pid file accounts for (lost pid files).
leftovers() {
  local names
  names=$(IFS='|'; echo "${COMPONENTS[*]}")
  pgrep -f "^$TOOLCHAIN_BIN/($names) .*$STATE/" || true
}

# replace_changed_storage_classes: a StorageClass's provisioner, parameters, reclaim policy and
# binding mode are immutable, so a class where one of them differs from the add-on's (e.g. the
# former kubernetes.io/host-path, or a class from before the parameters) is deleted for the apply to
# create it anew. Claims and volumes refer to a class by name, so existing ones are unaffected.
replace_changed_storage_classes() {
  local name want have fields='{.provisioner} {.parameters} {.reclaimPolicy} {.volumeBindingMode}'
  while read -r name want; do
    have=$(kubectl get storageclass "$name" --ignore-not-found -o jsonpath="$fields")
    [[ -n "$have" && "$have" != "$want" ]] || continue
    info "storage class $name: $have -> $want, replacing the class"
    kubectl delete storageclass "$name" >/dev/null
  done < <(kubectl create --dry-run=client -f "$HERE/addons/storage-classes.yaml" \
    -o jsonpath="{.metadata.name} $fields{\"\\n\"}")
}

apply_addons() {
  local sa=(apply --server-side --force-conflicts --field-manager=trading-bot-cluster) files=() f
  replace_changed_storage_classes
  # kwok-stages.yaml is kwok's own configuration (args_kwok), not an API object.
  for f in "$HERE"/addons/*.yaml; do [[ "$f" == */kwok-stages.yaml ]] || files+=(-f "$f"); done
  kubectl "${sa[@]}" "${files[@]}" >/dev/null ||
    die "applying the cluster add-ons (local/cluster/addons) failed"
  # A node's status is ignored on update, so it is applied through its own subresource.
  kubectl "${sa[@]}" --subresource=status -f "$HERE/addons/nodes.yaml" >/dev/null ||
    die "applying the fake nodes' status failed"
}

cmd_up() {
  bash "$PROJECT_ROOT/local/toolchain/build-cluster.sh"
  mkdir -p "$STATE" "$RUN" "$LOGS" "$STATE/kwok"
  pki_ensure
  node_pki
  local c
  if (( PKI_CHANGED )) && any_running; then
    info "certificates were issued anew: restarting the cluster"
    stop_all
  fi
  local stopped=() api_started=0
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || stopped+=("$c"); done
  ports_free "${stopped[@]}"
  for c in "${COMPONENTS[@]}"; do
    if pid_of "$c" >/dev/null; then
      if ! current "$c"; then
        info "$c: restarting (its binary or arguments changed)"
        stop "$c"
      elif (( api_started )); then
        # It kept running while the API server was gone: its watches (client-go reflectors) now
        # back off for up to a minute between attempts, leaving pods unscheduled or never Ready
        # (kwok) for that long. Started afresh, it lists and watches at once.
        info "$c: restarting (the API server it watches was restarted)"
        stop "$c"
      fi
    fi
    if ! pid_of "$c" >/dev/null; then
      [[ ! -f "$RUN/$c.pid" ]] || info "$c: stale pid file, starting it again"
      if [[ "$c" == kwok ]]; then
        # The stopped kwok's node leases would only expire after $NODE_LEASE_SECONDS s; their holder
        # is gone, so free them for the new one now.
        kubectl -n kube-node-lease delete lease --ignore-not-found $(fake_nodes) >/dev/null
      fi
      start "$c"
      [[ "$c" != kube-apiserver ]] || api_started=1
    fi
    case "$c" in
      etcd) wait_ready etcd 60 ;;
      kube-apiserver)
        wait_ready kube-apiserver 120
        apply_addons
        ;;
      kube-controller-manager) wait_ready kube-controller-manager 60 ;;
      kube-scheduler) wait_ready kube-scheduler 60 ;;
      local-provisioner) wait_ready local-provisioner 60 ;;
      kwok) wait_ready kwok 90 ;;
    esac
  done
  node_up
  step "cluster $CLUSTER_NAME is ready: $API_URL, kubeconfig $ADMIN_KUBECONFIG"
}

cmd_down() {
  local purge=0 pid i
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "unknown option '$1' for down (expected --purge)" ;;
  esac
  local pv_dirs=()
  if (( purge )) && pid_of kube-apiserver >/dev/null && probe_kube-apiserver; then
    # Volumes of the in-tree host-path provisioner that earlier versions of this cluster used live
    # outside the state directory (ours are in it).
    mapfile -t pv_dirs < <(kubectl get pv -o jsonpath='{range .items[*]}{.spec.hostPath.path}{"\n"}{end}' | grep '^/tmp/hostpath_pv/.' || true)
  fi
  node_down
  stop_all
  for pid in $(leftovers); do
    info "stopping leftover pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-120)"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for i in $(seq 50); do [[ -z "$(leftovers)" ]] && break; sleep 0.2; done
  for pid in $(leftovers); do kill -KILL "$pid" 2>/dev/null || true; done
  sleep 0.2
  [[ -z "$(leftovers)" ]] || die "processes of the cluster are still running: $(leftovers | tr '\n' ' ')"
  if (( purge )); then
    rm -rf "$STATE" "${pv_dirs[@]}"
    step "cluster $CLUSTER_NAME stopped and its data deleted"
  else
    step "cluster $CLUSTER_NAME stopped (data kept in $STATE; 'down --purge' deletes it)"
  fi
}

cmd_status() {
  local c pid ok=0
  for c in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then
      printf '%-24s running (pid %s)\n' "$c" "$pid"
    else
      printf '%-24s stopped\n' "$c"
      ok=1
    fi
  done
  node_status || ok=1
  if [[ -f "$PKI/admin.crt" ]] && probe_kube-apiserver; then
    printf '%-24s ready (%s)\n' "API" "$API_URL"
    echo
    kubectl get nodes -L topology.kubernetes.io/zone
    local unmanaged
    unmanaged=$(unmanaged_nodes)
    [[ -z "$unmanaged" ]] || { echo "not managed by kwok (not Ready or lease stale): $unmanaged"; ok=1; }
  else
    printf '%-24s not ready\n' "API"
    ok=1
  fi
  return "$ok"
}

cmd_kubeconfig() {
  [[ -s "$ADMIN_KUBECONFIG" ]] || die "no kubeconfig yet: run 'npm run cluster -- up' first"
  echo "$ADMIN_KUBECONFIG"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "${@:2}" ;;
  status) cmd_status ;;
  kubeconfig) cmd_kubeconfig ;;
  node) cmd_node "${@:2}" ;;
  *) die "usage: npm run cluster -- up | down [--purge] | status | kubeconfig | node up|down" ;;
esac
