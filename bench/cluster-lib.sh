#!/usr/bin/env bash
# bench/cluster-lib.sh — the kubectl half of the cluster baseline (bench/smoke-cluster.sh;
# sourced, never run): finding kubectl, the scenario's namespace made as src/kube/namespace.ts
# makes it, the submission applied as its ServiceAccount, pod waits, `kubectl exec`
# into a pod, `docker exec` on a kind node, the text checks, and `scenario`/`finish`,
# which run one scenario in a subshell and print the tally.
#
# The sourcing script sets LAB, T_COMMAND (its lab.yaml timeouts.command) and
# SUBMISSION's usage, then defines one bash function per feature scenario and calls
#   scenario "NAME" FUNCTION ...
#   finish
# A FUNCTION ends at its first failure (`fail`: the student's; `broken`: the grader's),
# as kgrade skips a scenario's remaining steps; its namespace is deleted after it.
#
# Env: KUBECTL (default: the kubectl built into $KGRADE_CACHE for versions.env's
#      K8S_VERSION, else any ~/.cache/kgrade/k8s/*/bin/kubectl, else kubectl on
#      PATH), KGRADE_CLUSTER (kgrade), KGRADE_KUBECONFIG, BENCH_DOCKER (docker),
#      BENCH_RUN (label kgrade.bench=<value> on the namespaces, so
#      scripts/bench-cluster.sh can sweep them).
[[ -n ${LAB:-} && -n ${T_COMMAND:-} ]] || { echo "cluster-lib.sh: set LAB and T_COMMAND before sourcing it" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${BENCH_DOCKER:-docker}
BENCH_RUN=${BENCH_RUN:-$$}
CLUSTER=${KGRADE_CLUSTER:-kgrade}
KCFG=${KGRADE_KUBECONFIG:-$HOME/.kube/kgrade/kind-$CLUSTER.yaml}
CTX=kind-$CLUSTER

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

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-$LAB.XXXXXX")
NAMESPACES=()     # made and not yet deleted (the parent's list; a scenario's subshell writes $WORK/ns)
SCENARIOS_RUN=0
SCENARIOS_FAILED=0
SCENARIOS_BROKEN=0   # ended in the grader's error (exit 3): finish then exits 3, as kgrade's incomplete grade does
. "$(dirname "${BASH_SOURCE[0]}")/tally.sh"
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
  slug=$(basename "$SUBMISSION" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g' | cut -c1-24 | sed -E 's/-+$//')
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
spec:
  hard: {pods: "30", services: "10", configmaps: "30", secrets: "30", replicationcontrollers: "10", count/deployments.apps: "10",
    count/replicasets.apps: "20", count/jobs.batch: "10", persistentvolumeclaims: "5", requests.storage: 5Gi}
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
# in the namespace as its ServiceAccount; a metadata.namespace is replaced. Each
# object's "Kind name" is kept in $WORK/applied-$NS (kgrade's world.applied).
# --validate=warn: kgrade's client leaves fieldValidation unset, which the API
# server takes as Warn (an unknown field such as a pod-level spec.resources is
# dropped with a warning); kubectl's default, Strict, would refuse the object.
submission_applied() {
  local file=$1 f=$SUBMISSION/$1
  [[ -f $f ]] || fail "the submission has no $file; the lab asks for it"
  [[ -n ${NS:-} ]] || ns_create
  if grep -q '^[[:space:]]*namespace:' "$f"; then
    # kubectl refuses an object of another namespace; kgrade replaces it, so strip it here
    k create --dry-run=client --validate=false -o json -f "$f" 2>"$WORK/err" \
      | jq 'if .kind == "List" then .items[] else . end | del(.metadata.namespace)' > "$WORK/manifest.json" \
      || fail "$file: $(<"$WORK/err")"
    f=$WORK/manifest.json
  fi
  "$KUBECTL" --kubeconfig "$STUDENT_KCFG" create --validate=warn -n "$NS" -f "$f" -o jsonpath='{.kind} {.metadata.name}{"\n"}' >>"$WORK/applied-$NS" 2>"$WORK/err" \
    && return 0
  # refused by the API server: the submission's; an API server that does not answer: the grader's
  k get --raw /readyz >/dev/null 2>&1 || broken "creating the objects of $file: the API server does not answer: $(<"$WORK/err")"
  grep -qE '^Error from server \((InternalError|ServiceUnavailable|Timeout|TooManyRequests|Unauthorized)\)' "$WORK/err" \
    && broken "creating the objects of $file: $(<"$WORK/err")"
  fail "creating the objects of $file: $(grep -v '^Warning:' "$WORK/err")"
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
  [[ $rc == 0 || $rc == 1 ]] || SCENARIOS_BROKEN=$((SCENARIOS_BROKEN + 1))
  tally "$name" "$t0" "$rc"
}

k get --raw /readyz >/dev/null 2>"$WORK/err" || { echo "${0##*/}: the API server of $CTX does not answer: $(<"$WORK/err")" >&2; exit 3; }

# finish: the tally line; returns 0 when every scenario passed, 3 when one ended in the
# grader's error, else 1.
finish() {
  printf '%s: %d scenarios, %d passed, %d failed\n' "$LAB" "$SCENARIOS_RUN" $((SCENARIOS_RUN - SCENARIOS_FAILED)) "$SCENARIOS_FAILED"
  (( SCENARIOS_BROKEN == 0 )) || return 3
  [[ $SCENARIOS_FAILED -eq 0 ]]
}
