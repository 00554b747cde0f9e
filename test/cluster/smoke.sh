#!/usr/bin/env bash
# Smoke test of the local cluster (local/cluster/cluster.sh): brings it up, checks it behaves like a
# real cluster in the ways the Pulumi stacks rely on, and takes it down again.
#   - PodSecurity `restricted` is enforced on a labelled namespace;
#   - the cluster's provisioner (local-provisioner, trading-bot.local/hostpath) binds claims: one of
#     an Immediate class at once, those of the WaitForFirstConsumer classes only once a pod is
#     scheduled; a ReadWriteMany 20Gi fast-ssd claim shared by 2 replicas on different nodes, a
#     ReadWriteOnce 5Gi standard one, a ReadWriteOncePod one; each volume is a directory under
#     .local/cluster/volumes with the claim's size, access modes and class;
#   - the Deployment rolls out, its pods get IPs and the Service's EndpointSlice lists them ready;
#   - RBAC answers `kubectl auth can-i` for an impersonated service account;
#   - foreground deletes complete (garbage collector); with the namespace gone, the volumes and
#     their directories are gone too (reclaim policy Delete);
#   - a second `up` is a no-op, a dead component is restarted, `down` leaves no process behind.
# KEEP_CLUSTER=1 leaves the cluster running when a check fails, for a look around.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/scripts/lib.sh"

CLUSTER=(bash "$ROOT/local/cluster/cluster.sh")
NS=cluster-smoke
COMPONENT_PATTERN="^$TOOLCHAIN_BIN/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|local-provisioner|kwok) "
PROVISIONER=trading-bot.local/hostpath
VOLUMES="$LOCAL_STATE/cluster/volumes"
# A class of our own with Immediate binding (the project's classes wait for the first consumer).
IMMEDIATE_CLASS=cluster-smoke-immediate

pass() { printf '  ok  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }

on_exit() {
  local rc=$?
  (( rc == 0 )) && return
  if [[ -n "${KUBECONFIG:-}" ]]; then
    echo "--- diagnostics" >&2
    kubectl get nodes,pods,pvc,pv,endpointslices -A -o wide >&2 || true
    kubectl get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 >&2 || true
    echo "--- local-provisioner log" >&2
    tail -n 30 "$LOCAL_STATE/cluster/logs/local-provisioner.log" >&2 || true
  fi
  if [[ "${KEEP_CLUSTER:-}" != 1 ]]; then "${CLUSTER[@]}" down >&2 || true; fi
  echo "smoke test FAILED" >&2
}
trap on_exit EXIT

# retry <seconds> <description> <command...>: until the command succeeds.
retry() {
  local timeout="$1" what="$2" start=$SECONDS; shift 2
  until "$@"; do
    (( SECONDS - start < timeout )) || fail "$what (waited $timeout s)"
    sleep 1
  done
}

step "cluster up"
"${CLUSTER[@]}" up
KUBECONFIG="$(npm --prefix "$ROOT" run --silent cluster -- kubeconfig)"
[[ -f "$KUBECONFIG" && "$(wc -l <<<"$KUBECONFIG")" == 1 ]] || fail "'npm run --silent cluster -- kubeconfig' printed more than a path: $KUBECONFIG"
export KUBECONFIG
kubectl() { "$TOOLCHAIN_BIN/kubectl" "$@"; }
pass "kubeconfig $KUBECONFIG"
[[ "$(kubectl config current-context)" == trading-bot-local ]] || fail "context is not trading-bot-local"
pass "context trading-bot-local"
kubectl version
"${CLUSTER[@]}" status
kubectl get storageclass

step "idempotent up"
start=$SECONDS
out=$("${CLUSTER[@]}" up 2>&1)
printf '%s\n' "$out"
grep -q "is ready" <<<"$out" || fail "second up did not report ready"
! grep -q "started" <<<"$out" || fail "second up started a component anew"
(( SECONDS - start < 30 )) || fail "second up took $((SECONDS - start)) s"
pass "second up reported ready in $((SECONDS - start)) s"

step "a dead component is restarted"
# Our own test kills the scheduler it brought up, by the pid the cluster recorded.
pid=$(<"$LOCAL_STATE/cluster/run/kube-scheduler.pid")
kill "$pid"
exited() { ! grep -q kube-scheduler "/proc/$pid/cmdline" 2>/dev/null; }
retry 30 "scheduler pid $pid did not exit" exited
"${CLUSTER[@]}" up
[[ "$(<"$LOCAL_STATE/cluster/run/kube-scheduler.pid")" != "$pid" ]] || fail "scheduler was not restarted"
pass "stale pid file: scheduler restarted"

step "workload in a restricted namespace"
if kubectl get namespace "$NS" >/dev/null 2>&1; then
  kubectl delete namespace "$NS" --timeout=120s
fi
kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
EOF
if out=$(kubectl -n "$NS" run privileged --image=busybox --privileged --restart=Never 2>&1); then
  fail "a privileged pod was admitted into a restricted namespace"
fi
grep -q 'violates PodSecurity "restricted' <<<"$out" || fail "unexpected rejection: $out"
pass "PodSecurity restricted rejects a privileged pod"
has_defaults() { kubectl -n "$NS" get serviceaccount/default configmap/kube-root-ca.crt >/dev/null 2>&1; }
retry 30 "namespace $NS did not get its default ServiceAccount and kube-root-ca.crt" has_defaults
pass "controllers gave the namespace its default ServiceAccount and kube-root-ca.crt"

step "dynamic provisioning"
kubectl apply -f - <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $IMMEDIATE_CLASS
provisioner: $PROVISIONER
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
# Shared by the replicas of the Deployment below, as the staging and prod stacks share their data.
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: $NS
spec:
  storageClassName: fast-ssd
  accessModes: [ReadWriteMany]
  resources:
    requests:
      storage: 20Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: state
  namespace: $NS
spec:
  storageClassName: standard
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 5Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: scratch
  namespace: $NS
spec:
  storageClassName: $IMMEDIATE_CLASS
  accessModes: [ReadWriteOncePod]
  resources:
    requests:
      storage: 1Gi
EOF
claim_bound() { [[ "$(kubectl -n "$NS" get pvc "$1" -o jsonpath='{.status.phase}')" == Bound ]]; }
retry 60 "claim scratch (Immediate binding) did not bind without a consumer" claim_bound scratch
pass "claim scratch of an Immediate class bound before any pod uses it"
for claim in data state; do
  [[ "$(kubectl -n "$NS" get pvc "$claim" -o jsonpath='{.status.phase} {.spec.volumeName}')" == "Pending " ]] ||
    fail "claim $claim of a WaitForFirstConsumer class was bound before any pod used it"
done
pass "claims data and state (WaitForFirstConsumer) wait for a consumer"

# PVS: the volumes checked by check_volume, which must be gone with the namespace.
PVS=()
# check_volume <claim> <capacity> <class> <access modes>: the claim is Bound to a volume our
# provisioner made for it, backed by an existing directory named after the volume.
check_volume() {
  local claim="$1" want="$PROVISIONER $2 $3 $4 Delete $NS/$1" pv got
  retry 60 "claim $claim is not Bound" claim_bound "$claim"
  pv=$(kubectl -n "$NS" get pvc "$claim" -o jsonpath='{.spec.volumeName}')
  got=$(kubectl get pv "$pv" -o jsonpath='{.metadata.annotations.pv\.kubernetes\.io/provisioned-by} {.spec.capacity.storage} {.spec.storageClassName} {.spec.accessModes[*]} {.spec.persistentVolumeReclaimPolicy} {.spec.claimRef.namespace}/{.spec.claimRef.name}')
  [[ "$got" == "$want" ]] || fail "volume $pv of claim $claim: '$got', expected '$want'"
  [[ "$(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')" == "$VOLUMES/$pv" && -d "$VOLUMES/$pv" ]] ||
    fail "volume $pv is not backed by the directory $VOLUMES/$pv"
  PVS+=("$pv")
  pass "claim $claim Bound to $pv: $2 $3 $4, directory $VOLUMES/$pv"
}
check_volume scratch 1Gi "$IMMEDIATE_CLASS" ReadWriteOncePod

kubectl apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bot
  namespace: $NS
spec:
  replicas: 2
  selector:
    matchLabels: {app: bot}
  template:
    metadata:
      labels: {app: bot}
    spec:
      # One replica per node: the shared ReadWriteMany volume is used from two nodes.
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels: {app: bot}
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 1000
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: bot
          image: registry.example.com/trading-bot:smoke
          ports: [{containerPort: 8000, name: http}]
          resources:
            requests: {cpu: 500m, memory: 1Gi}
            limits: {cpu: "1", memory: 1Gi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts: [{name: data, mountPath: /data}]
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: data}
---
apiVersion: v1
kind: Service
metadata:
  name: bot
  namespace: $NS
spec:
  selector: {app: bot}
  ports: [{port: 80, targetPort: http, name: http}]
---
# The single user of the ReadWriteOnce claim.
apiVersion: v1
kind: Pod
metadata:
  name: single
  namespace: $NS
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: single
      image: registry.example.com/trading-bot:smoke
      resources:
        requests: {cpu: 100m, memory: 128Mi}
        limits: {cpu: 100m, memory: 128Mi}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
      volumeMounts: [{name: state, mountPath: /state}]
  volumes:
    - name: state
      persistentVolumeClaim: {claimName: state}
EOF
kubectl -n "$NS" rollout status deployment/bot --timeout=120s
pass "rollout complete"
kubectl -n "$NS" wait pod/single --for=condition=Ready --timeout=120s
kubectl -n "$NS" get pods -o wide
nodes=$(kubectl -n "$NS" get pods -l app=bot -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | grep -c .)
[[ "$nodes" == 2 ]] || fail "the 2 replicas sharing claim data run on $nodes node(s), not 2"
pass "the 2 replicas sharing claim data run on 2 nodes"
[[ -n "$(kubectl -n "$NS" get pvc data -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}')" ]] ||
  fail "claim data was provisioned without the scheduler selecting a node"
check_volume data 20Gi fast-ssd ReadWriteMany
check_volume state 5Gi standard ReadWriteOnce
kubectl get pv "${PVS[@]}"

ready_addresses() {
  kubectl -n "$NS" get endpointslices -l kubernetes.io/service-name=bot \
    -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}'
}
two_ready() { [[ "$(ready_addresses | grep -c .)" == 2 ]]; }
retry 60 "EndpointSlice of service bot does not list 2 ready addresses" two_ready
kubectl -n "$NS" get endpointslices -l kubernetes.io/service-name=bot
pass "EndpointSlice ready addresses: $(ready_addresses | tr '\n' ' ')"
# pulumi-kubernetes awaits a Service through its v1 Endpoints (deprecated, still maintained).
endpoints=$(kubectl -n "$NS" get endpoints bot -o jsonpath='{.subsets[*].addresses[*].ip}' 2>/dev/null)
[[ "$(wc -w <<<"$endpoints")" == 2 ]] || fail "Endpoints of service bot: '$endpoints'"
pass "v1 Endpoints addresses: $endpoints"

step "RBAC for a service account"
sa="system:serviceaccount:$NS:default"
[[ "$(kubectl auth can-i list pods -n "$NS" --as="$sa" || true)" == no ]] || fail "$sa may list pods before any grant"
kubectl -n "$NS" create role pod-reader --verb=get,list,watch --resource=pods
kubectl -n "$NS" create rolebinding default-pod-reader --role=pod-reader --serviceaccount="$NS:default"
[[ "$(kubectl auth can-i list pods -n "$NS" --as="$sa")" == yes ]] || fail "$sa may not list pods after the grant"
[[ "$(kubectl auth can-i delete pods -n "$NS" --as="$sa" || true)" == no ]] || fail "$sa may delete pods"
pass "can-i: list pods no -> yes after a RoleBinding; delete pods no"

step "foreground deletion"
pods=$(kubectl -n "$NS" get pods -l app=bot -o name | wc -l)
kubectl -n "$NS" delete deployment bot --cascade=foreground --timeout=120s
[[ -z "$(kubectl -n "$NS" get replicasets,pods -l app=bot -o name)" ]] || fail "the Deployment's ReplicaSet or pods outlived its foreground deletion"
pass "Deployment deleted in the foreground together with its ReplicaSet and $pods pods"
kubectl delete namespace "$NS" --cascade=foreground --timeout=180s
! kubectl get namespace "$NS" >/dev/null 2>&1 || fail "namespace $NS still exists"
pass "namespace deleted in the foreground"
pv_gone() { ! kubectl get pv "$1" >/dev/null 2>&1 && [[ ! -e "$VOLUMES/$1" ]]; }
for pv in "${PVS[@]}"; do
  retry 60 "volume $pv or its directory outlived its claim" pv_gone "$pv"
done
pass "volumes ${PVS[*]} and their directories deleted (policy Delete)"
kubectl delete storageclass "$IMMEDIATE_CLASS"

step "cluster down"
"${CLUSTER[@]}" down
if left=$(pgrep -af "$COMPONENT_PATTERN"); then
  fail "processes left behind: $left"
fi
pass "no cluster process left (pgrep -f '$COMPONENT_PATTERN' finds none)"
if "${CLUSTER[@]}" status >/dev/null 2>&1; then fail "status reports a running cluster after down"; fi
pass "status reports the cluster down"
step "smoke test passed"
