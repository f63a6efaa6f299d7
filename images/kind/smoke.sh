#!/usr/bin/env bash
# Smoke test of kgrade's node image: creates kind cluster $NAME (default
# kgrade-smoke) from kgrade/kind-node:<k8s>-<rev>, starts the local registry
# with busybox, and checks that every kube-system pod runs, that busybox pulls
# with imagePullPolicy Always, that a pod gets its own IP routed through a
# veth on the node, that CoreDNS resolves a service, and that a PVC binds on
# the default StorageClass. Deletes the cluster at the end (KEEP=1 keeps it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
NAME=${NAME:-kgrade-smoke}
IMAGE=kgrade/kind-node:$K8S_VERSION-$NODE_REV
export PATH=$KGRADE_CACHE/kind/$KIND_VERSION/bin:$KGRADE_CACHE/k8s/$K8S_VERSION/bin:$PATH
K="kubectl --context kind-$NAME"
NODE=$NAME-control-plane
[[ ${KEEP:-0} == 1 ]] || trap 'kind delete cluster --name "$NAME" >/dev/null 2>&1 || true' EXIT
fail() { log "FAIL: $*"; exit 1; }

timed "kind create cluster $NAME" kind create cluster --name "$NAME" --image "$IMAGE" --wait 180s
timed "local registry" "$HERE/../registry/run.sh" busybox:1.36 busybox:latest

check_system() {
  local want
  $K -n kube-system wait --for=condition=Ready pods --all --timeout=180s >/dev/null
  for want in coredns etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kindnet; do
    $K -n kube-system get pods --no-headers | awk -v w="$want" '$1 ~ "^"w && $3=="Running"' | grep -q . \
      || fail "no Running $want pod"
  done
  [[ $($K -n kube-system get pods -l k8s-app=kube-dns --no-headers | grep -c Running) == 2 ]] || fail "coredns replicas"
  $K get nodes --no-headers | grep -q ' Ready ' || fail "node not Ready"
}
check_pods() {
  $K apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: smoke}
spec:
  containers:
  - {name: c, image: "busybox:latest", imagePullPolicy: Always, command: [sleep, "3600"]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: smoke-data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: smoke-writer}
spec:
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "echo ok > /data/f; sleep 3600"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: smoke-data}}]
YAML
  $K wait --for=condition=Ready pod/smoke pod/smoke-writer --timeout=120s >/dev/null
  local ip; ip=$($K get pod smoke -o jsonpath='{.status.podIP}')
  docker exec "$NODE" ip route | grep -q "^$ip dev veth" || fail "no veth route for $ip"
  $K exec smoke -- nslookup kube-dns.kube-system.svc.cluster.local | grep -q 10.96.0.10 || fail "DNS"
  [[ $($K exec smoke-writer -- cat /data/f) == ok ]] || fail "PVC"
  [[ $($K get pvc smoke-data -o jsonpath='{.spec.storageClassName}') == standard ]] || fail "storage class"
}
timed "kube-system pods" check_system
timed "pods, DNS, PVC" check_pods
log "smoke test passed"
