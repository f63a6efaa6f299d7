#!/usr/bin/env bash
# bench/smoke-cluster.sh SUBMISSION_DIR — labs/smoke-cluster graded by hand with
# kubectl and docker against the running kind cluster: the five scenarios of
# features/smoke.feature, each the way kgrade does it (steps/*.steps.ts,
# src/kube/*.ts), with the same assertions in bash. Exit 0 when every scenario
# passes, 1 when one fails, 2 on a usage problem, 3 when the cluster cannot be
# reached. The baseline of scripts/bench-cluster.sh.
#
# What each scenario does, as kgrade does it:
#   - every kube-system pod is Running: one pod list; none, or any pod whose
#     phase is not Running, fails.
#   - the two node scenarios: the first node of the node list, one
#     `docker exec NODE timeout -k 3 30 bash -c CMD` with the feature's command
#     (kind nodes are containers named like the node), its stdout+stderr
#     searched for the texts; the endpoints come from kube-dns's EndpointSlices
#     (ready endpoints, "ip:port" of every port).
#   - the two pod scenarios: a fresh namespace each, as
#     src/kube/namespace.ts makes it (kgrade's labels incl. Pod Security
#     baseline, ResourceQuota, ServiceAccount "student" with a namespaced
#     Role and RoleBinding, a token for it); pod.yaml created *as that
#     ServiceAccount* with its metadata.namespace replaced; a watch until the
#     pod is Running (60 s); `nslookup kubernetes.default.svc.cluster.local` in
#     the pod (30 s), output compared to service default/kubernetes's cluster
#     IP; then the pods deleted with grace 0 and the namespace deleted (the
#     deletion accepted, as kgrade waits for it).
# One difference: kgrade also stops waiting early when the pod ends (Succeeded or
# Failed); `kubectl wait` here waits the full 60 s then. The smoke lab's wrong
# submissions never end, so it does not change a result here.
#
# Env: KUBECTL (default: the kubectl built into $KGRADE_CACHE for versions.env's
#      K8S_VERSION, else any ~/.cache/kgrade/k8s/*/bin/kubectl, else kubectl on
#      PATH), KGRADE_CLUSTER (kgrade), KGRADE_KUBECONFIG, BENCH_DOCKER (docker),
#      BENCH_RUN (label kgrade.bench=<value> on the namespaces, so
#      scripts/bench-cluster.sh can sweep them).
set -uo pipefail
LAB=smoke-cluster
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${BENCH_DOCKER:-docker}
BENCH_RUN=${BENCH_RUN:-$$}
CLUSTER=${KGRADE_CLUSTER:-kgrade}
KCFG=${KGRADE_KUBECONFIG:-$HOME/.kube/kgrade/kind-$CLUSTER.yaml}
CTX=kind-$CLUSTER
T_COMMAND=30       # labs/smoke-cluster/lab.yaml timeouts.command
T_POD=60           # "Then pod "smoke" is Running within 60 seconds"

SUBMISSION=${1:-}
if [[ -z $SUBMISSION || ! -d $SUBMISSION ]]; then
  echo "usage: ${0##*/} SUBMISSION_DIR   (e.g. labs/$LAB/reference)" >&2
  exit 2
fi
SUBMISSION=$(cd "$SUBMISSION" && pwd)

if [[ -z ${KUBECTL:-} ]]; then
  cache=${KGRADE_CACHE:-$HOME/.cache/kgrade}
  ver=$(sed -n 's/^K8S_VERSION=\${K8S_VERSION:-\([^}]*\)}.*/\1/p' "$ROOT/images/k8s/versions.env")
  for KUBECTL in "$cache/k8s/$ver/bin/kubectl" "$HOME"/.cache/kgrade/k8s/*/bin/kubectl "$(command -v kubectl || true)"; do
    [[ -x $KUBECTL ]] && break
  done
fi
[[ -x ${KUBECTL:-} ]] || { echo "${0##*/}: no kubectl (set KUBECTL)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-smoke.XXXXXX")
NAMESPACES=()     # made and not yet deleted (the parent's list; a scenario's subshell writes $WORK/ns)
SCENARIOS_RUN=0
SCENARIOS_FAILED=0
OUT='' ERR='' RC=''

k() { "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" "$@"; }

# ns_delete NAME: src/kube/namespace.ts deleteNamespaceLater: the pods first, without
# grace (busybox's sleep ignores SIGTERM), then the namespace; like kgrade, it waits
# until the deletion is accepted, not until the namespace controller is done.
ns_delete() {
  k delete pods --all -n "$1" --force --grace-period=0 --wait=false >/dev/null 2>&1
  k delete namespace "$1" --ignore-not-found --wait=false >/dev/null 2>"$WORK/del.err" && return 0
  echo "    BROKEN: namespace $1 could not be deleted: $(<"$WORK/del.err")"
  return 1
}

cleanup() {
  local ns
  trap - EXIT INT TERM
  [[ -s $WORK/ns ]] && NAMESPACES+=("$(<"$WORK/ns")")
  for ns in "${NAMESPACES[@]}"; do ns_delete "$ns" >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { printf '    FAIL: %s\n' "$*"; exit 1; }
broken() { printf '    BROKEN: %s\n' "$*"; exit 3; }

# The API server and what a student kubeconfig needs from the admin one.
SERVER=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null)
CA=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' 2>/dev/null)
[[ -n $SERVER && -n $CA ]] || { echo "${0##*/}: no cluster $CTX in $KCFG (kgrade cluster up)" >&2; exit 3; }

# --- the steps -----------------------------------------------------------------

# The scenario's namespace (src/kube/namespace.ts createSubmissionNamespace): NS and
# STUDENT_KCFG, a kubeconfig with the namespace ServiceAccount's token.
ns_create() {
  local slug hex
  slug=$(basename "$SUBMISSION" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g' | cut -c1-24 | sed -E 's/-+$//')
  hex=$(od -An -N2 -t x1 /dev/urandom | tr -d ' \n')
  NS=kg-$LAB-${slug:-x}-$hex
  echo "$NS" > "$WORK/ns"   # for the parent, which deletes it after the scenario
  k create -f - >/dev/null 2>"$WORK/err" <<EOF || broken "creating namespace $NS: $(<"$WORK/err")"
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    app.kubernetes.io/managed-by: kgrade
    kgrade/lab: $LAB
    kgrade.bench: "$BENCH_RUN"
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: kgrade, namespace: $NS}
spec: {hard: {pods: "30", services: "10", persistentvolumeclaims: "5", requests.storage: 5Gi}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: student, namespace: $NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: student, namespace: $NS}
rules:
  - apiGroups: [""]
    resources: [pods, services, configmaps, secrets, persistentvolumeclaims, replicationcontrollers, endpoints, events]
    verbs: [get, list, watch, create, update, patch, delete]
  - {apiGroups: [""], resources: [pods/log], verbs: [get]}
  - apiGroups: [apps]
    resources: [deployments, replicasets, statefulsets, daemonsets]
    verbs: [get, list, watch, create, update, patch, delete]
  - {apiGroups: [batch], resources: [jobs], verbs: [get, list, watch, create, update, patch, delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: student, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: student}
subjects: [{kind: ServiceAccount, name: student, namespace: $NS}]
EOF
  local token
  token=$(k create token student -n "$NS" --duration=3600s 2>"$WORK/err") || broken "a token for $NS/student: $(<"$WORK/err")"
  STUDENT_KCFG=$WORK/student-$NS.yaml
  (umask 077; cat > "$STUDENT_KCFG" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$SERVER", certificate-authority-data: "$CA"}}]
users: [{name: student, user: {token: "$token"}}]
contexts: [{name: student, context: {cluster: c, user: student, namespace: "$NS"}}]
current-context: student
EOF
  )
}

# When the submission's FILE is applied (src/kube/apply.ts): every object created
# in the namespace as its ServiceAccount; a metadata.namespace is replaced.
submission_applied() {
  local file=$1 f=$SUBMISSION/$1
  [[ -f $f ]] || fail "the submission has no $file; the lab asks for it"
  [[ -n ${NS:-} ]] || ns_create
  if grep -q '^[[:space:]]*namespace:' "$f"; then
    # kubectl refuses an object of another namespace; kgrade replaces it, so strip it here
    k create --dry-run=client -o json -f "$f" 2>"$WORK/err" \
      | jq 'if .kind == "List" then .items[] else . end | del(.metadata.namespace)' > "$WORK/manifest.json" \
      || fail "$file: $(<"$WORK/err")"
    f=$WORK/manifest.json
  fi
  "$KUBECTL" --kubeconfig "$STUDENT_KCFG" create -n "$NS" -f "$f" >/dev/null 2>"$WORK/err" \
    || fail "creating the objects of $file: $(grep -v '^Warning:' "$WORK/err")"
}

# Then pod NAME is Running within N seconds (a watch, as kgrade's waitForPod).
pod_running_within() {
  local pod=$1 t=$2 state
  k wait -n "$NS" "pod/$pod" --for=jsonpath='{.status.phase}'=Running --timeout="${t}s" >/dev/null 2>&1 && return 0
  state=$(k get pod "$pod" -n "$NS" -o jsonpath='phase {.status.phase}{range .status.containerStatuses[*]}; {.name} {.state.waiting.reason} {.state.waiting.message}{.state.terminated.reason}{end}' 2>&1)
  fail "expected pod $pod to be Running: not within $t s; last seen: $state; events: $(k get events -n "$NS" --field-selector "involvedObject.name=$pod" --sort-by=.lastTimestamp -o jsonpath='{range .items[*]}{.type} {.reason}: {.message}{"\n"}{end}' 2>/dev/null | tail -n 5 | paste -sd '|' | sed 's/|/ | /g')"
}

# When pod NAME runs CMD (sh -c in its first container, timeouts.command).
pod_runs() {
  OUT=$(timeout -k 3 "$T_COMMAND" "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" exec -n "$NS" "$1" -- sh -c "$2" 2>"$WORK/err")
  RC=$?
  ERR=$(<"$WORK/err")
}

# When the node runs CMD: the cluster's first node (steps/world.ts firstClusterNode), one docker exec.
node_runs() {
  local node
  node=$(k get nodes -o jsonpath='{.items[0].metadata.name}' 2>"$WORK/err") || broken "listing nodes: $(<"$WORK/err")"
  [[ -n $node ]] || broken "the cluster has no nodes"
  OUT=$($DOCKER exec "$node" timeout -k 3 "$T_COMMAND" bash -c "$1" 2>"$WORK/err")
  RC=$?
  ERR=$(<"$WORK/err")
  if [[ $RC == 1 && $ERR == "Error response from daemon"* ]]; then broken "node $node is gone: $ERR"; fi
  return 0
}

check_contains() { [[ "$OUT"$'\n'"$ERR" == *"$1"* ]] || fail "expected the output to contain \"$1\"; exited $RC: $(tail -c 600 <<<"$OUT $ERR")"; }
check_contains_each() {
  local w missing=()
  for w in $1; do [[ "$OUT"$'\n'"$ERR" == *"$w"* ]] || missing+=("$w"); done
  [[ ${#missing[@]} == 0 ]] || fail "expected the output to contain ${missing[*]}; exited $RC: $(tail -c 600 <<<"$OUT $ERR")"
}

# --- the scenarios (features/smoke.feature) ------------------------------------

IPTABLES_NAT='(iptables-nft-save -t nat; iptables-legacy-save -t nat) 2>/dev/null'

every_kube_system_pod_running() {
  local list bad
  list=$(k get pods -n kube-system -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' 2>"$WORK/err") \
    || broken "listing pods in kube-system: $(<"$WORK/err")"
  [[ -n $list ]] || fail "namespace kube-system has no pods"
  bad=$(awk '$2 != "Running" { printf "%s (phase %s); ", $1, $2 }' <<<"$list")
  [[ -z $bad ]] || fail "not Running: $bad"
}

kube_proxy_programs_kube_dns() {
  node_runs "$IPTABLES_NAT"
  check_contains "KUBE-SVC-"
  check_contains "kube-system/kube-dns:dns"
}

kube_proxy_sends_to_coredns() {
  local eps
  eps=$(k get endpointslices -n kube-system -l kubernetes.io/service-name=kube-dns -o json 2>"$WORK/err" \
    | jq -r '.items[] | (.ports // []) as $ports | .endpoints[] | select(.conditions.ready == true) | .addresses[] as $a | $ports[] | "\($a):\(.port)"' \
    | sort -u | xargs) || broken "listing the endpoints of kube-system/kube-dns: $(<"$WORK/err")"
  [[ -n $eps ]] || broken "service kube-system/kube-dns has no ready endpoints"
  node_runs "$IPTABLES_NAT | grep -- '--to-destination'"
  check_contains_each "$eps"
}

busybox_pod_runs() {
  submission_applied pod.yaml
  pod_running_within smoke "$T_POD"
}

pod_resolves_kubernetes() {
  local ip
  ip=$(k get service kubernetes -n default -o jsonpath='{.spec.clusterIP}' 2>"$WORK/err") || broken "reading service default/kubernetes: $(<"$WORK/err")"
  [[ -n $ip ]] || broken "service default/kubernetes has no cluster IP"
  submission_applied pod.yaml
  pod_running_within smoke "$T_POD"
  pod_runs smoke "nslookup kubernetes.default.svc.cluster.local"
  check_contains "$ip"
}

# scenario "NAME" FUNCTION: the checks in a subshell (the first failure ends it,
# as kgrade skips a scenario's remaining steps), then its namespace, if any, deleted.
scenario() {
  local name=$1 fn=$2 t0=$EPOCHREALTIME rc ns
  SCENARIOS_RUN=$((SCENARIOS_RUN + 1))
  rm -f "$WORK/ns"
  ( NS=; "$fn" ) && rc=0 || rc=$?
  if [[ -s $WORK/ns ]]; then
    ns=$(<"$WORK/ns"); rm -f "$WORK/ns" "$WORK/student-$ns.yaml"
    NAMESPACES+=("$ns")
    ns_delete "$ns" || { [[ $rc == 0 ]] && rc=3; }
    NAMESPACES=("${NAMESPACES[@]:0:${#NAMESPACES[@]}-1}")
  fi
  local took
  took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  case $rc in
    0) printf '  ok    %s %ss\n' "$name" "$took" ;;
    *) printf '  %-5s %s %ss\n' "$([[ $rc == 1 ]] && echo FAIL || echo ERROR)" "$name" "$took"
       SCENARIOS_FAILED=$((SCENARIOS_FAILED + 1)) ;;
  esac
}

k get --raw /readyz >/dev/null 2>"$WORK/err" || { echo "${0##*/}: the API server of $CTX does not answer: $(<"$WORK/err")" >&2; exit 3; }

scenario "every kube-system pod is Running" every_kube_system_pod_running
scenario "kube-proxy programs the kube-dns service into the node's iptables" kube_proxy_programs_kube_dns
scenario "kube-proxy sends the kube-dns service to the CoreDNS pods' addresses" kube_proxy_sends_to_coredns
scenario "the busybox pod runs" busybox_pod_runs
scenario "the pod resolves kubernetes.default through CoreDNS" pod_resolves_kubernetes

printf '%s: %d scenarios, %d passed, %d failed\n' "$LAB" "$SCENARIOS_RUN" $((SCENARIOS_RUN - SCENARIOS_FAILED)) "$SCENARIOS_FAILED"
[[ $SCENARIOS_FAILED -eq 0 ]]
