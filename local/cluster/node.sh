# The local cluster's real node, beside kwok's fake ones: a kubelet with containerd and runc, Debian's
# CNI plugins on a bridge of its own, kube-proxy (iptables) for ClusterIP Services, and CoreDNS for
# cluster DNS, all plain processes started and stopped by cluster.sh (sourced by it; uses its
# start/stop/pid_of helpers and its variables). Pods run on it only when they ask for it: the node
# is tainted $REAL_NODE_TAINT and labelled $REAL_NODE_LABEL, so the stacks kwok serves stay there.
# kwok leaves it alone: it manages only nodes annotated kwok.x-k8s.io/node=fake (args_kwok), and
# only their pods.
#
# Where it cannot run (no root, kernel features or Debian packages missing, TRADING_BOT_REAL_NODE=0),
# `up` says why and carries on with kwok only. The first line of $NODE_STATUS_FILE tells the tests:
# "ready", or "unavailable: <reason>".
#
# State lives in $NODE_DIR: containerd's root (images) and state, the kubelet's root dir and pod
# logs, the CNI configuration and IP allocations. Outside it, what the kernel keeps (the link
# holding $NODE_IP and $ADVERTISE_IP, the $NODE_BRIDGE bridge, iptables rules, kubepods cgroups) and
# the few paths containerd and the kubelet use whatever their configuration (/run/containerd for
# shim sockets and runc state, libcni's cache in /var/lib/cni, /var/lib/kubelet/device-plugins):
# `down` removes them all. `up` turns on net.ipv4.ip_forward and net.bridge.bridge-nf-call-iptables
# and leaves them on.

# The real node's identity; test/e2e/cluster.ts (REAL_NODE) repeats these strings for the tests
# and the dev stack's nodeSelector/tolerations: change them together.
REAL_NODE_NAME=real-node
REAL_NODE_LABEL=trading-bot.local/node=real
REAL_NODE_TAINT=trading-bot.local/real-node=true:NoSchedule

# The fake nodes' region and the first one's zone (addons/nodes.yaml): zonal volumes
# (local-provisioner's fast-ssd class) take the zone of the node that first mounts them.
NODE_TOPOLOGY_LABELS=topology.kubernetes.io/region=local,topology.kubernetes.io/zone=a

NODE_DIR="$STATE/node"
NODE_STATUS_FILE="$NODE_DIR/status"
# A private address on a link of its own: the kubelet's address must not be loopback (the API server
# dials it for logs, exec and port-forward), and it serves DNS to the pods.
NODE_LINK=tbnode0
NODE_IP=10.240.0.20
NODE_BRIDGE=tbcni0
# Inside the cluster's pod range, apart from the fake nodes' 10.244.{1,2,3}.0/24.
NODE_POD_CIDR=10.244.100.0/24
KUBELET_PORT=26250
KUBELET_HEALTHZ_PORT=26248
KUBE_PROXY_HEALTHZ_PORT=26256
KUBE_PROXY_METRICS_PORT=26249
COREDNS_HEALTH_PORT=26280
COREDNS_READY_PORT=26281
CLUSTER_DOMAIN=cluster.local
CONTAINERD_SOCK="$NODE_DIR/containerd.sock"
CNI_BIN_DIR=/usr/lib/cni
# Every docker-archive tar here (the stand-in bot, PostgreSQL, Redis, pause: local/toolchain/build-images.sh)
# and in build-node.sh's own folder is imported into containerd's k8s.io namespace.
IMAGE_DIRS=("$TRADING_BOT_CACHE/images" "$TRADING_BOT_CACHE/node-images")

# In the order of starting: kube-proxy needs the Node the kubelet registers.
NODE_COMPONENTS=(containerd coredns apiserver-proxy kubelet kube-proxy)

ctr() { "$TOOLCHAIN_BIN/ctr" --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# The node's certificates and kubeconfigs, made on every `up` (after pki_ensure) whether the node
# runs or not: the API server's kubelet client certificate is one of its arguments.
node_pki() {
  pki_issue ca kubelet "/O=system:nodes/CN=system:node:$REAL_NODE_NAME" clientAuth
  pki_issue ca kubelet-serving "/CN=$REAL_NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$REAL_NODE_NAME"
  # The API server's identity towards kubelets (addons/real-node-rbac.yaml grants it the kubelet API).
  pki_issue ca apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" clientAuth
  # Bound to system:node-proxier by the API server's bootstrap policy.
  pki_issue ca kube-proxy "/CN=system:kube-proxy" clientAuth
  pki_issue ca coredns "/CN=coredns" clientAuth
  pki_kubeconfig "$STATE/kubelet.kubeconfig" "system:node:$REAL_NODE_NAME" kubelet
  pki_kubeconfig "$STATE/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  pki_kubeconfig "$STATE/coredns.kubeconfig" coredns coredns
}

args_containerd() {
  cat <<EOF
--config=$NODE_DIR/containerd.toml
EOF
}

args_kubelet() {
  cat <<EOF
--config=$NODE_DIR/kubelet.yaml
--kubeconfig=$STATE/kubelet.kubeconfig
--root-dir=$NODE_DIR/kubelet
--cert-dir=$NODE_DIR/kubelet/pki
--hostname-override=$REAL_NODE_NAME
--node-ip=$NODE_IP
--node-labels=$REAL_NODE_LABEL,$NODE_TOPOLOGY_LABELS
EOF
}

# NodePorts only on the node's address, not on every address of the machine; the conntrack limits
# and timeouts left as the machine has them (0: do not set).
args_kube-proxy() {
  cat <<EOF
--kubeconfig=$STATE/kube-proxy.kubeconfig
--hostname-override=$REAL_NODE_NAME
--proxy-mode=iptables
--cluster-cidr=$NODE_POD_CIDR
--nodeport-addresses=$NODE_IP/32
--iptables-localhost-nodeports=false
--healthz-bind-address=127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
--metrics-bind-address=127.0.0.1:$KUBE_PROXY_METRICS_PORT
--conntrack-max-per-core=0
--conntrack-tcp-timeout-established=0
--conntrack-tcp-timeout-close-wait=0
EOF
}

# Pods reach the API server through the `kubernetes` Service, whose endpoint is $ADVERTISE_IP:$API_PORT
# (kube-proxy forwards there); the API server listens on loopback only, so this proxy listens there.
args_apiserver-proxy() {
  cat <<EOF
-listen=$ADVERTISE_IP:$API_PORT
-target=127.0.0.1:$API_PORT
EOF
}

args_coredns() {
  cat <<EOF
-conf=$NODE_DIR/Corefile
EOF
}

probe_containerd() { [[ -S "$CONTAINERD_SOCK" ]] && ctr version >/dev/null 2>&1; }
probe_kubelet() { [[ "$(curl -sS --max-time 2 "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" 2>/dev/null)" == ok ]]; }
probe_kube-proxy() { curl -fsS --max-time 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz" >/dev/null 2>&1; }
probe_apiserver-proxy() { (exec 3<>"/dev/tcp/$ADVERTISE_IP/$API_PORT") 2>/dev/null; }
probe_coredns() { [[ "$(curl -sS --max-time 2 "http://127.0.0.1:$COREDNS_READY_PORT/ready" 2>/dev/null)" == OK ]]; }

# node_write <file>: stdin into the file; succeeds when the content changed.
node_write() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv "$tmp" "$1"
}

# image_ref <tar>: the first reference a docker-archive tar names.
image_ref() { tar -xOf "$1" manifest.json 2>/dev/null | sed -n 's/.*"RepoTags":\["\([^"]*\)".*/\1/p'; }

node_config_containerd() {
  cat <<EOF
# Written by local/cluster/node.sh. Shim sockets go to /run/containerd/s whatever the state dir.
version = 4
imports = []
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = "$CONTAINERD_SOCK"
  [plugins.'io.containerd.server.v1.ttrpc']
    address = "$CONTAINERD_SOCK.ttrpc"
  # Nothing here uses NRI, /opt or image verifiers; their defaults would touch /var/run/nri and /opt.
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.internal.v1.opt']
    path = "$NODE_DIR/containerd/opt"
  [plugins.'io.containerd.image-verifier.v1.bindir']
    bin_dir = "$NODE_DIR/containerd/opt/image-verifier"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$PAUSE_IMAGE"
  [plugins.'io.containerd.cri.v1.runtime']
    # This machine lacks CAP_SYS_RESOURCE: no process may lower oom_score_adj, and the kubelet
    # asks for -998 for every sandbox. Restricted, containerd keeps its own value as the floor.
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$TOOLCHAIN_BIN/runc"
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$CNI_BIN_DIR"]
      conf_dir = "$NODE_DIR/cni/net.d"
      max_conf_num = 1
  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
}

node_config_cni() {
  cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "trading-bot-real-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$NODE_POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

node_config_kubelet() {
  local key value effect
  IFS='=:' read -r key value effect <<<"$REAL_NODE_TAINT"
  cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35 refuses cgroup v1 unless told otherwise; this machine has nothing else.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization:
  mode: Webhook
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$NODE_IP]
resolvConf: $NODE_DIR/resolv.conf
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/volume-plugins
registerWithTaints:
  - { key: $key, value: "$value", effect: $effect }
failSwapOn: false
# A shared machine's disk and memory are not this node's: do not evict for their pressure, and
# never garbage-collect images, which no registry could bring back.
evictionHard: { memory.available: "1%", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
}

node_config_coredns() {
  cat <<EOF
# Cluster DNS for the real node's pods (the kubelet's clusterDNS is $NODE_IP); other names go to
# the host's resolver.
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $STATE/coredns.kubeconfig $CLUSTER_NAME
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    forward . /etc/resolv.conf
    cache 5
    loadbalance
}
EOF
}

# node_unavailable <reason>: record and say why the node does not run; the cluster goes on without it.
node_unavailable() {
  mkdir -p "$NODE_DIR"
  printf 'unavailable: %s\n' "$1" >"$NODE_STATUS_FILE"
  # A Node left from an earlier run would stay NotReady (and tainted unreachable) for good: remove
  # it, as a cloud removes a deleted machine's node; its pods are deleted with it.
  kubectl delete node "$REAL_NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  printf '\033[1;33m==> real node %s unavailable: %s\033[0m\n    (the cluster runs with kwok nodes only; suites that need the real node are skipped)\n' \
    "$REAL_NODE_NAME" "$1" >&2
}

# node_preflight: prints why this machine cannot run the node, or nothing.
node_preflight() {
  local missing=() f
  [[ "${TRADING_BOT_REAL_NODE:-1}" != 0 ]] || { echo "turned off (TRADING_BOT_REAL_NODE=0)"; return; }
  [[ "$(id -u)" == 0 ]] || { echo "needs root (containers, network namespaces, iptables)"; return; }
  command -v ip >/dev/null || missing+=(iproute2)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  for f in bridge host-local loopback portmap; do
    [[ -x "$CNI_BIN_DIR/$f" ]] || { missing+=(containernetworking-plugins); break; }
  done
  [[ -f /usr/include/seccomp.h ]] || missing+=(libseccomp-dev)
  command -v gcc >/dev/null || missing+=(gcc)
  (( ${#missing[@]} == 0 )) || { echo "Debian packages missing: apt-get install ${missing[*]}"; return; }
  grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem"; return; }
  if ! grep -q ' - cgroup2 ' /proc/self/mountinfo; then
    for f in cpu memory pids devices freezer; do
      [[ -d /sys/fs/cgroup/$f ]] || { echo "cgroup v1 controller '$f' is not mounted at /sys/fs/cgroup/$f"; return; }
    done
  fi
  ip link add tbprobe0 type bridge 2>/dev/null && ip link del tbprobe0 ||
    { echo "cannot create a network bridge (ip link add type bridge)"; return; }
  iptables -t nat -S >/dev/null 2>&1 || { echo "iptables' nat table is not usable"; return; }
  [[ -w /proc/sys/net/ipv4/ip_forward ]] || { echo "cannot turn on IP forwarding (/proc/sys/net/ipv4/ip_forward is read-only)"; return; }
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] ||
    { echo "no bridge netfilter (br_netfilter): Services would not answer pods on the same bridge"; return; }
  unshare --net --mount --pid --fork true 2>/dev/null || { echo "cannot create namespaces (unshare --net --mount --pid)"; return; }
  return 0
}

# node_network: the link with the node's address, forwarding, and bridged traffic through
# iptables (kube-proxy's DNAT must see pod-to-Service packets that stay on the bridge).
node_network() {
  # A dummy link where the kernel has them; a bridge without ports serves as well.
  { ip link show "$NODE_LINK" >/dev/null 2>&1 || ip link add "$NODE_LINK" type dummy 2>/dev/null ||
    ip link add "$NODE_LINK" type bridge; } &&
    ip addr replace "$NODE_IP/32" dev "$NODE_LINK" &&
    ip addr replace "$ADVERTISE_IP/32" dev "$NODE_LINK" &&
    ip link set "$NODE_LINK" up &&
    echo 1 >/proc/sys/net/ipv4/ip_forward &&
    echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
}

# node_import_images: every docker-archive tar of IMAGE_DIRS not imported since it last changed.
node_import_images() {
  local dir tar stamp want
  mkdir -p "$NODE_DIR/imported"
  for dir in "${IMAGE_DIRS[@]}"; do
    for tar in "$dir"/*.tar; do
      [[ -f "$tar" ]] || continue
      stamp="$NODE_DIR/imported/$(basename "$dir")-$(basename "$tar").stamp"
      want="$(stat -c '%s %Y' "$tar") $(image_ref "$tar")"
      if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]] && ctr images ls -q 2>/dev/null | grep -qxF "$(image_ref "$tar")"; then
        continue
      fi
      ctr images import --no-unpack=false "$tar" >>"$LOGS/containerd-import.log" 2>&1 ||
        { tail -n 5 "$LOGS/containerd-import.log" >&2; return 1; }
      echo "$want" >"$stamp"
      info "image $(image_ref "$tar"): imported from $tar"
    done
  done
}

# started_at <pid>: when the process started (clock ticks since boot, /proc/<pid>/stat field 22).
started_at() {
  local stat
  stat=$(<"/proc/$1/stat")
  set -- ${stat##*) }
  echo "${20}"
}

# node_start <component> <ready timeout>: start it unless running as wanted (restarting it when
# its configuration file changed); fails when it does not come up.
node_start() {
  local c="$1" timeout="$2" changed="${3:-0}" t0=$SECONDS pid api
  if pid=$(pid_of "$c"); then
    if ! current "$c" || (( changed )); then
      info "$c: restarting (its binary, arguments or configuration changed)"
      stop "$c"
    elif [[ "$c" =~ ^(kubelet|kube-proxy|coredns)$ ]] && api=$(pid_of kube-apiserver) &&
      (( $(started_at "$pid") < $(started_at "$api") )); then
      # As cluster.sh does for the control plane: its watches back off for up to a minute after
      # the API server went away, so new Services or pods would wait that long.
      info "$c: restarting (the API server it watches was restarted)"
      stop "$c"
    fi
  fi
  pid_of "$c" >/dev/null || start "$c"
  until "probe_$c"; do
    if ! pid_of "$c" >/dev/null; then
      tail -n 15 "$LOGS/$c.log" >&2
      NODE_FAILURE="$c exited while starting (log: $LOGS/$c.log)"
      return 1
    fi
    if (( SECONDS - t0 >= timeout )); then
      tail -n 15 "$LOGS/$c.log" >&2
      NODE_FAILURE="$c is not ready after $timeout s (log: $LOGS/$c.log)"
      return 1
    fi
    sleep 1
  done
}

# node_ready: the kubelet has registered the node and reports it Ready.
node_ready() {
  [[ "$(kubectl get node "$REAL_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

# node_up: start the node, or say why it cannot run; never fails `up`.
node_up() {
  node_start_all || { node_down_quietly; node_unavailable "starting it failed unexpectedly (see the messages above)"; }
  return 0
}

node_start_all() {
  local reason t0=$SECONDS
  rm -f "$NODE_STATUS_FILE"
  # containerd finds its shim here, kube-proxy iptables and conntrack, the kubelet mount.
  PATH="$TOOLCHAIN_BIN:/usr/local/sbin:/usr/sbin:/sbin:$PATH"
  reason=$(node_preflight)
  if [[ -n "$reason" ]]; then
    node_down_quietly
    node_unavailable "$reason"
    return 0
  fi
  step "Starting the real node $REAL_NODE_NAME ($NODE_IP)"
  # The sandbox image is build-images.sh's pause (PAUSE_IMAGE): built here too, so that
  # `npm run cluster -- up` alone runs pods.
  if ! bash "$PROJECT_ROOT/local/toolchain/build-cluster.sh" kubelet || ! bash "$PROJECT_ROOT/local/toolchain/build-node.sh" ||
    ! bash "$PROJECT_ROOT/local/toolchain/build-images.sh" pause; then
    node_down_quietly
    node_unavailable "building its binaries failed (logs in $TOOLCHAIN_BUILD/logs)"
    return 0
  fi
  mkdir -p "$NODE_DIR/cni/net.d" "$NODE_DIR/cni/ipam" "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs" "$NODE_DIR/volume-plugins"
  node_network || { node_down_quietly; node_unavailable "setting up its network (link $NODE_LINK, forwarding, bridge netfilter) failed"; return 0; }
  # Pods resolve through CoreDNS; this file gives the kubelet no other nameserver or search path.
  node_write "$NODE_DIR/resolv.conf" <<<"nameserver $NODE_IP" || true
  node_write "$NODE_DIR/cni/net.d/10-trading-bot.conflist" < <(node_config_cni) || true
  local containerd_changed=0 kubelet_changed=0 coredns_changed=0
  node_write "$NODE_DIR/containerd.toml" < <(node_config_containerd) && containerd_changed=1
  node_write "$NODE_DIR/kubelet.yaml" < <(node_config_kubelet) && kubelet_changed=1
  node_write "$NODE_DIR/Corefile" < <(node_config_coredns) && coredns_changed=1
  NODE_FAILURE=""
  if node_start containerd 60 "$containerd_changed" &&
    { node_import_images || { NODE_FAILURE="importing the images into containerd failed (log: $LOGS/containerd-import.log)"; false; }; } &&
    node_start coredns 60 "$coredns_changed" &&
    node_start apiserver-proxy 30 &&
    node_start kubelet 90 "$kubelet_changed" &&
    node_start kube-proxy 60; then
    local i
    for i in $(seq 90); do node_ready && break; sleep 1; done
    if ! node_ready; then
      NODE_FAILURE="the kubelet runs but node $REAL_NODE_NAME is not Ready after 90 s (log: $LOGS/kubelet.log)"
    fi
  fi
  if [[ -n "$NODE_FAILURE" ]]; then
    node_down_quietly
    node_unavailable "$NODE_FAILURE"
    return 0
  fi
  # Informational (the CNI configuration holds the range); settable once, so only when unset.
  if [[ -z "$(kubectl get node "$REAL_NODE_NAME" -o jsonpath='{.spec.podCIDR}')" ]]; then
    kubectl patch node "$REAL_NODE_NAME" -p "{\"spec\":{\"podCIDR\":\"$NODE_POD_CIDR\",\"podCIDRs\":[\"$NODE_POD_CIDR\"]}}" >/dev/null || true
  fi
  echo ready >"$NODE_STATUS_FILE"
  info "real node $REAL_NODE_NAME: Ready in $((SECONDS - t0)) s (taint $REAL_NODE_TAINT, label $REAL_NODE_LABEL)"
}

node_down_quietly() { node_down >/dev/null 2>&1 || true; }

# node_down: stop the node's processes and every container, and remove what they left in the
# kernel (mounts, links, iptables rules, cgroups). The Node object and its pods stay, as after a
# reboot: the next `up` runs the pods again.
node_down() {
  local c i
  for c in kubelet apiserver-proxy kube-proxy coredns; do stop "$c"; done
  if pid_of containerd >/dev/null; then
    local ids=()
    mapfile -t ids < <(ctr tasks ls -q 2>/dev/null)
    if (( ${#ids[@]} )); then
      for c in "${ids[@]}"; do ctr tasks kill --signal SIGKILL "$c" >/dev/null 2>&1 || true; done
      for i in $(seq 50); do
        [[ -z "$(ctr tasks ls 2>/dev/null | awk 'NR > 1 && $3 != "STOPPED"')" ]] && break
        sleep 0.2
      done
      for c in "${ids[@]}"; do ctr tasks rm --force "$c" >/dev/null 2>&1 || true; done
    fi
    # Without their containers the CRI plugin forgets the pods; the kubelet makes them anew.
    mapfile -t ids < <(ctr containers ls -q 2>/dev/null)
    (( ${#ids[@]} == 0 )) || ctr containers rm "${ids[@]}" >/dev/null 2>&1 || true
    mapfile -t ids < <(ctr sandboxes ls -q 2>/dev/null)
    for c in "${ids[@]}"; do ctr sandboxes rm --force "$c" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  # Shims of containers that outlived containerd (a killed containerd leaves them running), and
  # processes whose pid file was lost.
  local pid
  for pid in $(node_leftovers); do kill -KILL "$pid" 2>/dev/null || true; done
  # Mounts under the node's directory, deepest first: the kubelet's own bind mount of its root
  # dir, volumes, network namespaces, container root filesystems.
  local mnt
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v p="$NODE_DIR/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  ip link del "$NODE_LINK" 2>/dev/null || true
  if [[ -x "$TOOLCHAIN_BIN/kube-proxy" ]] && iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
    PATH="/usr/sbin:/sbin:$PATH" "$TOOLCHAIN_BIN/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
  fi
  node_iptables_cleanup
  # The kubelet's QoS cgroups, now empty.
  find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
  # The pods' addresses and network namespaces went with them.
  rm -rf "$NODE_DIR/cni/ipam" "$NODE_DIR/containerd/state"
  # Paths containerd and the kubelet use whatever their configuration: the CNI results cache of our
  # network (and the loopback results of its pods), the device-plugin socket directory, and the
  # shims' and runc's runtime directories, empty by now.
  local f id
  for f in /var/lib/cni/results/trading-bot-real-node-*; do
    [[ -e "$f" ]] || continue
    id=${f#/var/lib/cni/results/trading-bot-real-node-}
    rm -f "$f" "/var/lib/cni/results/cni-loopback-${id%-eth0}-lo"
  done
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  rm -rf /var/lib/kubelet/device-plugins
  rmdir /var/lib/kubelet/pki /var/lib/kubelet 2>/dev/null || true
  find /run/containerd -depth -type d -empty -delete 2>/dev/null || true
  rm -f "$NODE_STATUS_FILE"
}

# node_iptables_cleanup: the chains the kubelet (KUBE-FIREWALL, canaries), kube-proxy and the
# CNI plugins (CNI-*) made, and the rules that jump to them; nothing else on the machine makes them.
node_iptables_cleanup() {
  local cmd table rule chain chains
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      chains=$("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ { print $2 }')
      [[ -n "$chains" ]] || continue
      # -S prints each rule as the arguments that made it (comments quoted): delete it the same way.
      while IFS= read -r rule; do
        eval "\"\$cmd\" -t \"\$table\" -D ${rule#-A }" 2>/dev/null || true
      done < <("$cmd" -t "$table" -S 2>/dev/null | grep -E -- '-j (KUBE|CNI)-' | grep -vE '^-A (KUBE|CNI)-')
      for chain in $chains; do "$cmd" -t "$table" -F "$chain" 2>/dev/null || true; done
      for chain in $chains; do "$cmd" -t "$table" -X "$chain" 2>/dev/null || true; done
    done
  done
}

# node_leftovers: pids of the node's processes that no pid file accounts for.
node_leftovers() {
  pgrep -f "^$TOOLCHAIN_BIN/(containerd|kubelet|kube-proxy|coredns) .*$STATE/" || true
  pgrep -f "^$TOOLCHAIN_BIN/apiserver-proxy -listen=$ADVERTISE_IP:" || true
  pgrep -f "^$TOOLCHAIN_BIN/containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true
}

# node_status: the node's processes and state; fails when it should run and a process does not.
node_status() {
  local c pid ok=0 state
  state=$(head -n 1 "$NODE_STATUS_FILE" 2>/dev/null || echo "not started ('npm run cluster -- up' starts it)")
  for c in "${NODE_COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then
      printf '%-24s running (pid %s)\n' "$c" "$pid"
    elif [[ "$state" == ready ]]; then
      printf '%-24s stopped\n' "$c"
      ok=1
    fi
  done
  printf '%-24s %s\n' "real node" "$state"
  return "$ok"
}

# cmd_node up|down: the real node alone, with the rest of the cluster running.
cmd_node() {
  case "${1:-}" in
    up)
      [[ -f "$PKI/admin.crt" ]] && probe_kube-apiserver || die "the cluster is not running: 'npm run cluster -- up' starts it with the node"
      node_up
      [[ "$(head -n 1 "$NODE_STATUS_FILE")" == ready ]]
      ;;
    down) node_down ;;
    *) die "usage: npm run cluster -- node up|down" ;;
  esac
}
