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
# The shared part (namespace, apply, waits, exec, scenario/finish, env) is
# bench/cluster-lib.sh.
set -uo pipefail
LAB=smoke-cluster
T_COMMAND=30       # labs/smoke-cluster/lab.yaml timeouts.command
T_POD=60           # "Then pod "smoke" is Running within 60 seconds"
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

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

scenario "every kube-system pod is Running" every_kube_system_pod_running
scenario "kube-proxy programs the kube-dns service into the node's iptables" kube_proxy_programs_kube_dns
scenario "kube-proxy sends the kube-dns service to the CoreDNS pods' addresses" kube_proxy_sends_to_coredns
scenario "the busybox pod runs" busybox_pod_runs
scenario "the pod resolves kubernetes.default through CoreDNS" pod_resolves_kubernetes

finish
