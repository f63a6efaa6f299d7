#!/usr/bin/env bash
# bench/ch02-first-steps.sh SUBMISSION_DIR — labs/ch02-first-steps graded by hand
# with kubectl, jq and docker against the running kind cluster: the twelve
# scenarios of features/config-and-storage.feature, containers.feature and
# kubia.feature, in that order, each the way kgrade does it (steps/*.steps.ts,
# src/kube/*.ts), with the same assertions in bash. Exit 0 when every scenario
# passes, 1 when one fails, 2 on a usage problem, 3 on the grader's error (or
# when the cluster cannot be reached). A baseline for scripts/bench-cluster.sh.
#
# What each scenario does, as kgrade does it (T_WAIT 120 s and T_COMMAND 30 s are
# lab.yaml's timeouts.wait and timeouts.command; "the namespace" is a fresh one
# per scenario, made on first use as src/kube/namespace.ts makes it, see
# cluster-lib.sh; "applied" = created as its ServiceAccount):
#   config-and-storage.feature
#   - env-demo takes its values ...: the fixtures app-config and app-secret created
#     (admin); key profile / password given a fresh value "<key>-<10 hex>"
#     (patch); env-pod.yaml applied; the pod's spec read once and judged as
#     src/kube/pod-env.ts envVerdict (env[].valueFrom with the right object and
#     key, or envFrom of the object; a value written into the manifest is a
#     copy); a watch until a container has started (or the pod ended) within
#     120 s, a CreateContainerConfigError or an image that does not exist ending
#     it at once; then each variable polled (1 s, T_WAIT) in the logs of every
#     container, matched as logShows (NAME=value, NAME: value, quoted or not); a
#     pod that has ended without it fails at once.
#   - a file written to /data survives ...: pvc-pod.yaml applied; a watch until
#     writer is Running (120 s; Succeeded/Failed or a missing image end it);
#     its spec must mount PersistentVolumeClaim data at /data (claimMountProblem);
#     the claim must ask for a default StorageClass and be Bound within T_WAIT
#     (kubectl wait, a watch, where kgrade polls every 1 s); a marker written by
#     kubectl exec; the pod deleted (grace 1), gone within T_WAIT, Pod writer of
#     pvc-pod.yaml created again as the ServiceAccount; Running within 120 s;
#     `cat /data/kgrade-marker` must exit 0 and print exactly the marker.
#   containers.feature (@course)
#   - docker run --rm busybox ...: on the first node (one `docker exec`): ctr must
#     exist, `ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d
#     docker.io/library/busybox:latest` (T_COMMAND; a failure is the grader's),
#     `ctr run --rm --log-uri file://...` of `sh -c 'echo "Hello world"'`
#     (T_COMMAND), its log as the output, the task/container/log removed; exit 0
#     and output exactly "Hello world". kgrade makes 4 to 5 docker execs of it.
#   - a container's hostname ...: the grader's busybox pod hostname-probe (admin,
#     sleep 3600, Running within T_WAIT or the grader's error);
#     `hostname; readlink /proc/self/ns/uts` in it and, by docker exec, on its
#     node: different hostnames, different UTS namespaces, and the pod's
#     hostname its name.
#   - two images built on the same base ...: two images FROM busybox:1.36 built
#     (one COPY each) on the host's docker, saved, `docker cp`'d to the first node
#     and imported with ctr; their manifests and configs read with `ctr content
#     get` (an index resolved to its linux manifest) and judged as layerSharing:
#     each has the base's layers + 1, begins with the base's diff IDs, the two
#     share their base layer digests and differ in the last; everything removed
#     again on both sides. Two docker execs where kgrade makes about nine.
#   - kubectl cluster-info ...: GET /version, the nodes, kube-system's
#     cluster-service services; a vN.N version, at least one node, one Ready.
#   - a file written into a container's own filesystem ...: the grader's pod
#     scratch; a marker written into /kgrade-marker; the pod deleted (grace 1),
#     gone within T_WAIT, created again from its own spec (without node and
#     service-account token volume); Running within 120 s; `cat` of the marker
#     must fail promptly and not print it.
#   kubia.feature
#   - controller waits ("has N Ready pods", "all Ready"): polled every 1 s: the
#     ReplicationController kubia, else the Deployment (none: fails at once,
#     naming what the namespace holds); spec.replicas other than N fails at
#     once; the pods of its selector (not the grader's, not being deleted) must
#     be N, all Ready; an image that does not exist fails at once.
#   - hostnames: in each Ready pod `hostname 2>/dev/null || cat
#     /proc/sys/kernel/hostname` must print its name; then from the grader's pod
#     client one kubectl exec running kgrade's wget script (5 s per request,
#     answers base64-encoded) against every pod's IP:8080, polled every 2 s up
#     to T_WAIT: every answer must name its own pod (whole word); once all
#     answered, a wrong answer fails at once.
#   - the Service: kubia-http must exist, listen on 80 and have a cluster IP;
#     its EndpointSlices polled (1 s, T_WAIT) for 2 ready addresses, failing at
#     once when its selector picks fewer than 2 pods and the namespace has
#     settled (every controller at its replicas, every pod Ready); then 30
#     requests from client to the cluster IP, polled every 2 s up to T_WAIT,
#     must name at least 2 different pods; once all 30 answered, fewer fails.
#   - a deleted kubia pod: 3 Ready within 120 s; the first Ready pod by name
#     deleted with its own grace period; 3 Ready (the deleted one not counted)
#     within 30 s.
#   - scaled to 5: all Ready within 120 s; `kubectl scale` (the scale
#     subresource, as kgrade does); 5 Ready within 120 s.
# A scenario's namespace is deleted after it (pods first, without grace).
#
# Known differences from kgrade:
#   - Pod waits are `kubectl get --watch` streams read by jq, kgrade's are API
#     watches; kgrade reads the pod once before watching. Same conditions and
#     deadlines. The PVC's Bound and a deleted pod's being gone are `kubectl
#     wait` watches where kgrade polls (1 s / 0.5 s).
#   - The manifests are checked by kubectl, not by kgrade's parseManifest: a
#     kind a submission may not create is refused by the namespace's RBAC
#     instead, possibly after earlier objects of the file were created.
#   - Fixtures are created one after the other (kgrade: in parallel).
#   - A container's logs that cannot be read count as empty whatever the
#     reason; kgrade calls a 5xx the grader's error.
#   - Node-side steps make one or two docker execs each, not kgrade's several.
#   - When pods answer with several names, the order of "pods named in the
#     answers" in a failure message may differ; the verdict does not.
#   - kgrade runs an errored scenario once more; this script does not. A
#     grader's error (BROKEN) makes the exit status 3, as kgrade's incomplete
#     grade.
#
# The shared part (namespace, apply, waits, exec, scenario/finish, env) is
# bench/cluster-lib.sh.
set -uo pipefail
shopt -s extglob
LAB=ch02-first-steps
T_COMMAND=30       # labs/ch02-first-steps/lab.yaml timeouts.command
T_WAIT=120         # labs/ch02-first-steps/lab.yaml timeouts.wait
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

CLIENT_IMAGE=${KGRADE_DEBUG_IMAGE:-busybox:1.36}   # src/config.ts debugPodImage
FIXTURES=(fixtures/app-config.yaml fixtures/app-secret.yaml)

# --- small helpers -------------------------------------------------------------

now_us() { NOW=${EPOCHREALTIME//[!0-9]/}; }
hex() { od -An -N"$1" -t x1 /dev/urandom | tr -d ' \n'; }
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; TRIM=${s%"${s##*[![:space:]]}"}; }

# jq functions shared by the checks below (each the TypeScript function it is named after).
JQ_DEFS='
def podstate: if . == null then "the pod does not exist" else
  (["phase \(.status.phase // "unknown")"]
  + ([(.status.conditions // [])[] | select(.type == "PodScheduled" and .status != "True")] | .[0]
     | if . then ["not scheduled: \(.reason // "") \(.message // "")" | sub("\\s+$"; "")] else [] end)
  + [((.status.initContainerStatuses // []) + (.status.containerStatuses // []))[]
     | if .state.waiting then "\(.name) waiting: \(.state.waiting.reason // "")\(if .state.waiting.message then " (\(.state.waiting.message))" else "" end)"
       elif .state.terminated then "\(.name) terminated: \(.state.terminated.reason // "") exit \(.state.terminated.exitCode)"
       elif .state.running then "\(.name) running\(if .ready then ", ready" else "" end)"
       else empty end])
  | join("; ") end;
def ready: any((.status.conditions // [])[]; .type == "Ready" and .status == "True");
def grader_pod: .metadata.labels["app.kubernetes.io/managed-by"] == "kgrade";
def labels_text: [(. // {}) | to_entries[] | "\(.key)=\(.value)"] | if length > 0 then join(",") else "no labels" end;
def hostname_of: (.spec.hostname // .metadata.name // "") | if length > 63 then .[0:63] | sub("[-.]+$"; "") else . end;
def pull_problem: [((.status.initContainerStatuses // []) + (.status.containerStatuses // []))[]
  | (.state.waiting // {}) as $w
  | select(($w.reason // "") | IN("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"))
  | {container: .name, image: .image, detail: ("\($w.reason): \($w.message // "")" | sub("\\s+$"; "")), msg: ($w.message // "")}
  | .blame = (if (.detail | test("^(InvalidImageName|ErrImageNeverPull):")) then "submission"
              elif (.msg | test("not found|NotFound|manifest unknown|name unknown|repository does not exist"; "i")) then "submission"
              elif .msg != "" and (.msg | test("^Back-off pulling image") | not) then "grader"
              else null end)
  | select(.blame != null)] | .[0];
def missing_image: (pull_problem // {}).blame == "submission";
'

# pod_wait POD SECONDS WHAT UNTIL [HOPELESS]: src/kube/pods.ts waitForPod — a watch of the
# pod until the jq condition UNTIL holds on it; HOPELESS, or an image that does not
# exist, ends it at once. Returns 1 with WAIT_MSG (kgrade's words) when it does not get
# there; an image pull that hangs or a registry that fails is the grader's error.
pod_wait() {
  local pod=$1 t=$2 what=$3 until=$4 hopeless=${5:-false} fifo=$WORK/watch.fifo kpid verdict t0=$SECONDS json events pulling pull
  rm -f "$fifo"; mkfifo "$fifo"
  timeout "$t" "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" get pods -n "$NS" --field-selector "metadata.name=$pod" \
    --watch --output-watch-events -o json >"$fifo" 2>"$WORK/watch.err" &
  kpid=$!
  verdict=$(jq -rn "$JQ_DEFS"'first(inputs | select(.type == "ADDED" or .type == "MODIFIED") | .object
    | if ('"$until"') then "ok" elif ('"$hopeless"') or missing_image then "hopeless" else empty end) // "timeout"' <"$fifo" 2>/dev/null)
  kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
  rm -f "$fifo"
  [[ $verdict == ok ]] && return 0
  if [[ $verdict != hopeless ]] && (( SECONDS - t0 < t - 1 )) && [[ -s $WORK/watch.err ]]; then
    broken "watching pod $NS/$pod: $(<"$WORK/watch.err")"
  fi
  json=$(k get pod "$pod" -n "$NS" -o json 2>/dev/null) || json=null
  events=$(k get events -n "$NS" --field-selector "involvedObject.name=$pod" -o json 2>/dev/null) || events='{"items":[]}'
  pulling=$(jq -r --argjson pod "$json" 'if ($pod.status.phase // "") != "Pending" then "" else
      (.items | map(. + {t: (.lastTimestamp // .eventTime // .firstTimestamp // "")}) | sort_by(.t)) as $e
      | ([$e[] | select(.reason == "Pulling")] | last) as $p
      | if $p == null or any($e[]; IN(.reason; "Pulled", "Failed", "BackOff") and .t >= $p.t) then ""
        else ($p.message // "" | capture("image \"(?<i>[^\"]+)\"").i // "its image") end end' <<<"$events")
  events=$(jq -r '.items | sort_by(.lastTimestamp // .eventTime // .firstTimestamp // "") | .[-5:]
      | map("\(.type // "") \(.reason // ""): \(.message // "")" | sub("^\\s+"; "") | sub("\\s+$"; "")) | join(" | ")' <<<"$events")
  if [[ $verdict == timeout && -n $pulling ]]; then
    broken "pod $pod: pulling $pulling had not finished after $t s: the image registry did not answer; this is the grading cluster's fault, not the submission's (events: $events)"
  fi
  pull=$(jq -r "$JQ_DEFS"'pull_problem // empty | "\(.blame)\t\(.image)\t\(.detail)"' <<<"$json")
  if [[ $pull == grader$'\t'* ]]; then
    IFS=$'\t' read -r _ img detail <<<"$pull"
    broken "pod $pod could not pull $img: the image registry did not answer ($detail); this is the grading cluster's fault, not the submission's"
  fi
  if [[ -n $pull ]]; then
    IFS=$'\t' read -r _ img detail <<<"$pull"
    WAIT_MSG="expected pod $pod $what: its image $img cannot be pulled, it does not exist ($detail); check the image's name and tag"
    return 1
  fi
  WAIT_MSG="expected pod $pod $what: $([[ $verdict == hopeless ]] && echo "it can no longer get there" || echo "not within $t s"); last seen: $(jq -r "$JQ_DEFS"'podstate' <<<"$json")${events:+; events: $events}"
  return 1
}
RUNNING='.status.phase == "Running"'
ENDED='.status.phase == "Succeeded" or .status.phase == "Failed"'

# expect_pod_from_manifests NAME: steps/kube.steps.ts expectPodFromManifests: when what the
# submission created can never make pod NAME, that fails at once instead of a wait.
expect_pod_from_manifests() {
  local f=$WORK/applied-${NS:-none}
  [[ -s $f ]] || return 0
  awk -v n="$1" '($1 == "Pod" && $2 == n) || $1 ~ /^(ReplicationController|Deployment|ReplicaSet|StatefulSet|DaemonSet|Job|CronJob)$/ { found = 1 } END { exit !found }' "$f" && return 0
  fail "no pod $1 can appear: the submission's manifests created $(paste -sd, "$f" | sed 's/,/, /g'), and none of them is Pod $1"
}

# pod_running_watch NAME SECONDS: "Then pod NAME is Running within N seconds".
pod_running_watch() {
  expect_pod_from_manifests "$1"
  pod_wait "$1" "$2" 'to be Running' "$RUNNING" "$ENDED" || fail "$WAIT_MSG"
}

# read_pod NAME: the pod's JSON in POD_JSON; none is the submission's failure.
read_pod() {
  POD_JSON=$(k get pod "$1" -n "$NS" -o json 2>"$WORK/err") && return 0
  grep -q NotFound "$WORK/err" && fail "there is no pod $1 in the submission's namespace"
  broken "reading pod $1: $(<"$WORK/err")"
}

# grader_pod_running NAME: src/kube/client-pod.ts startClientPod — the grader's busybox pod,
# created with the admin's rights, Running within T_WAIT, or the grader's error.
grader_pod_running() {
  [[ -n ${NS:-} ]] || ns_create
  k create -n "$NS" -f - >/dev/null 2>"$WORK/err" <<EOF || broken "creating the grader's pod $1: $(<"$WORK/err")"
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app.kubernetes.io/managed-by: kgrade}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - name: client
      image: $CLIENT_IMAGE
      command: [sleep, "3600"]
      securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: false}
      resources: {requests: {cpu: 10m, memory: 8Mi}, limits: {cpu: 200m, memory: 64Mi}}
EOF
  pod_wait "$1" "$T_WAIT" Running "$RUNNING" || broken "the grader's pod $1 did not start: $WAIT_MSG"
}

# write_marker POD FILE: "When pod POD writes a fresh marker into FILE" — MARKER.
write_marker() {
  MARKER=kgrade-marker-$(hex 6)
  pod_runs "$1" "echo $MARKER > '$2' && cat '$2'"
  trim "$OUT"
  [[ $RC == 0 && $TRIM == "$MARKER" ]] || { trim "${ERR:-$OUT}"; fail "writing $2 in pod $1 failed: ${TRIM:-exit $RC}"; }
}

# recreate_pod NAME BODY_FILE KCFG: src/kube/workload.ts recreatePod — deleted with grace 1
# (busybox's sleep ignores SIGTERM), gone within T_WAIT (else the grader's error), then
# BODY created with the rights of KCFG (the student's for a submission's pod).
recreate_pod() {
  k delete pod "$1" -n "$NS" --grace-period=1 --wait=false --ignore-not-found >/dev/null 2>"$WORK/err" || broken "deleting pod $NS/$1: $(<"$WORK/err")"
  k wait pod "$1" -n "$NS" --for=delete --timeout="${T_WAIT}s" >/dev/null 2>"$WORK/err" \
    || broken "expected pod $1 to be gone after its deletion within $T_WAIT s; last seen: $(k get pod "$1" -n "$NS" -o json 2>/dev/null | jq -r "$JQ_DEFS"'"still there: \(podstate)\(if .metadata.deletionTimestamp then ", terminating" else "" end)"')"
  "$KUBECTL" --kubeconfig "$3" ${4:+--context "$4"} create -n "$NS" -f "$2" >/dev/null 2>"$WORK/err" \
    || fail "creating pod $1 again: the API server refused it: $(grep -v '^Warning:' "$WORK/err")"
}

# first_node: steps/world.ts firstClusterNode — the first node of the node list.
first_node() {
  NODE=$(k get nodes -o jsonpath='{.items[0].metadata.name}' 2>"$WORK/err") || broken "listing nodes: $(<"$WORK/err")"
  [[ -n $NODE ]] || broken "the cluster has no nodes"
}

# full_image_name IMAGE: src/kube/runtime.ts fullImageName (busybox -> docker.io/library/busybox:latest).
full_image_name() {
  local ref=$1 first=''
  [[ $ref == */* ]] && first=${ref%%/*}
  if [[ $ref != */* ]]; then ref=docker.io/library/$ref
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then ref=docker.io/$ref; fi
  [[ ${ref##*/} == *:* || $ref == *@* ]] || ref+=:latest
  FULL=$ref
}

# eventually SECONDS INTERVAL WHAT PROBE...: src/check/eventually.ts — PROBE (run in this
# shell; it sets SEEN, and may fail at once) until it returns 0, or the deadline passes.
# A probe that saw the registry fail sets GRADER_TROUBLE: a missed deadline is then the
# grader's error (waitForReadyPods).
eventually() {
  local t=$1 iv=$2 what=$3 deadline tries=0; shift 3
  GRADER_TROUBLE='' SEEN=''
  now_us; deadline=$((NOW + t * 1000000))
  while :; do
    tries=$((tries + 1))
    "$@" && return 0
    now_us; (( NOW + iv * 1000000 > deadline )) && break
    sleep "$iv"
  done
  [[ -z $GRADER_TROUBLE ]] || broken "the image registry did not answer ($GRADER_TROUBLE); this is the grading cluster's fault: expected $what within $t s ($tries tries); last seen: $SEEN"
  fail "expected $what within $t s ($tries tries); last seen: $SEEN"
}

# join SEP ITEM...: the items joined by SEP, in JOINED.
join() { local sep=$1 x; JOINED=''; shift; for x; do JOINED+="${JOINED:+$sep}$x"; done; }

# --- controllers (src/kube/workload.ts) ----------------------------------------

# controller_of NAME: requireController — C_KIND, C_REPLICAS, C_SEL (selector text), or the
# student's failure naming what the namespace holds.
controller_of() {
  local json
  json=$(k get "replicationcontroller/$1" "deployment.apps/$1" -n "$NS" -o json --ignore-not-found 2>"$WORK/err") \
    || broken "reading controller $NS/$1: $(<"$WORK/err")"
  if [[ -n $json ]]; then
    IFS=$'\t' read -r C_KIND C_REPLICAS C_SEL < <(jq -r '
      def seltext: if . == null then "" elif (has("matchLabels") or has("matchExpressions")) then
          [(.matchLabels // {} | to_entries[] | "\(.key)=\(.value)"),
           ((.matchExpressions // [])[] | (.values // [] | join(",")) as $v
             | if .operator == "In" then "\(.key) in (\($v))" elif .operator == "NotIn" then "\(.key) notin (\($v))"
               elif .operator == "Exists" then .key elif .operator == "DoesNotExist" then "!\(.key)" else empty end)] | join(",")
        else [to_entries[] | "\(.key)=\(.value)"] | join(",") end;
      [if .kind == "List" then .items[] else . end] as $all
      | (($all | map(select(.kind == "ReplicationController")) | .[0]) // ($all | map(select(.kind == "Deployment")) | .[0])) as $c
      | if $c.kind == "ReplicationController" then "ReplicationController\t\($c.spec.replicas // 1)\t\(($c.spec.selector // $c.spec.template.metadata.labels) | seltext)"
        else "Deployment\t\($c.spec.replicas // 1)\t\($c.spec.selector | seltext)" end' <<<"$json")
    return 0
  fi
  json=$(k get replicationcontrollers,deployments.apps,replicasets.apps,pods -n "$NS" -o json 2>/dev/null) || json='{"items":[]}'
  fail "there is no ReplicationController or Deployment named $1 (the namespace holds: $(jq -r "$JQ_DEFS"'
    [.items[] | select((.kind == "ReplicationController") or (.kind == "Deployment")
       or (.kind == "ReplicaSet" and ((.metadata.ownerReferences // []) | length) == 0)
       or (.kind == "Pod" and (grader_pod | not) and ((.metadata.ownerReferences // []) | length) == 0))
     | "\(.kind) \(.metadata.name)"] | if length > 0 then join(", ") else "nothing" end' <<<"$json")); the lab asks for a controller that keeps the pods running, not pods on their own"
}

# controller_pods: controllerPods — the pods of C_SEL, not the grader's, not being deleted,
# sorted by name, as a JSON array in CPODS.
controller_pods() {
  if [[ -z $C_SEL ]]; then CPODS='[]'; return; fi
  CPODS=$(k get pods -n "$NS" -l "$C_SEL" -o json 2>"$WORK/err" | jq -c "$JQ_DEFS"'[.items[] | select((.metadata.deletionTimestamp | not) and (grader_pod | not))] | sort_by(.metadata.name)') \
    || broken "listing the pods of $C_KIND $C_NAME: $(<"$WORK/err")"
}

# ready_pods NAME COUNT|desired SECONDS: waitForReadyPods, polled every 1 s.
ready_pods() {
  C_NAME=$1 WANT_COUNT=$2
  eventually "$3" 1 "$1 to have $([[ $2 == desired ]] && echo 'all its' || echo "$2") pods Ready" ready_pods_probe
}
ready_pods_probe() {
  local want out status pull n img detail
  controller_of "$C_NAME"
  if [[ $WANT_COUNT == desired ]]; then
    want=$C_REPLICAS
    (( want >= 1 )) || fail "$C_KIND $C_NAME asks for $want replicas; it must run at least one pod"
  else want=$WANT_COUNT; fi
  (( C_REPLICAS == want )) || fail "$C_KIND $C_NAME asks for $C_REPLICAS replica$([[ $C_REPLICAS == 1 ]] || echo s) (spec.replicas); expected $want"
  controller_pods
  pull=$(jq -r "$JQ_DEFS"'[.[] | {n: .metadata.name, p: pull_problem} | select(.p)] | .[0] // empty | "\(.p.blame)\t\(.n)\t\(.p.image)\t\(.p.detail)"' <<<"$CPODS")
  if [[ -n $pull ]]; then
    IFS=$'\t' read -r _ n img detail <<<"$pull"
    [[ $pull == submission$'\t'* ]] && fail "pod $n of $C_KIND $C_NAME: its image $img cannot be pulled, it does not exist ($detail); check the image's name and tag"
    GRADER_TROUBLE="$img: $detail"
  fi
  out=$(jq -r --argjson want "$want" --arg sel "$C_SEL" --arg kind "$C_KIND" --arg name "$C_NAME" "$JQ_DEFS"'
    (map(select(ready))) as $r
    | "\(if ($r | length) == $want and length == $want then "ok" else "no" end)\t\(
      if length > 0 then "\($r | length) of \(length) pods Ready (selector \($sel)): \(map("\(.metadata.name) (\(podstate))") | join("; "))"
      else "no pod matches \($kind) \($name)'"'"'s selector \(if $sel == "" then "(none)" else $sel end)" end | gsub("[\t\n]"; " "))"' <<<"$CPODS")
  IFS=$'\t' read -r status SEEN <<<"$out"
  [[ $status == ok ]]
}

# ready_pods_of NAME: readyPodsOf — the controller's Ready pods as [{name, host, ip}] in
# RPODS; none is the student's failure.
ready_pods_of() {
  C_NAME=$1
  controller_of "$1"
  controller_pods
  RPODS=$(jq -c "$JQ_DEFS"'[.[] | select(ready) | {name: .metadata.name, host: hostname_of, ip: (.status.podIP // "")}]' <<<"$CPODS")
  [[ $RPODS != '[]' ]] || fail "$C_KIND $1 has no Ready pod (selector $C_SEL)"
}

# --- HTTP from the grader's pod (src/kube/http-answers.ts) -----------------------

# request_from_pod CLIENT URL...: requestFromPod — one kubectl exec of requestScript in the
# grader's pod, (n*6+15) s; ANS_CODE/ANS_BODY/ANS_ERR per URL. Trouble is the grader's.
request_from_pod() {
  local client=$1 n secs script u line i f s; shift
  n=$#; secs=$((n * 6 + 15))
  script='d=$(mktemp -d)'$'\n''i=0'$'\n''for u in'
  for u in "$@"; do script+=" '$u'"; done
  script+='; do'$'\n''  timeout 5 wget -qO "$d/body" "$u" 2>"$d/err"; rc=$?'$'\n'
  script+="  printf '@@kgrade %s %s %s %s\\n' \"\$i\" \"\$rc\" \"\$(head -c 4096 \"\$d/body\" 2>/dev/null | base64 -w0)\" \"\$(head -c 512 \"\$d/err\" | base64 -w0)\""$'\n'
  script+='  rm -f "$d/body" "$d/err"; i=$((i+1))'$'\n''done'$'\n''rm -rf "$d"'
  OUT=$(timeout -k 3 "$secs" "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" exec -n "$NS" "$client" -- sh -c "$script" 2>"$WORK/err")
  RC=$?
  [[ $RC == 124 || $RC == 137 ]] && broken "the grader's client pod $client did not finish $n requests within $secs s"
  [[ $RC == 0 ]] || broken "the grader's client pod $client could not make its requests (exit $RC): $(head -c 300 "$WORK/err")"
  ANS_CODE=() ANS_BODY=() ANS_ERR=()
  for ((i = 0; i < n; i++)); do ANS_CODE[i]=-1 ANS_BODY[i]='' ANS_ERR[i]='no result (the client stopped before this request)'; done
  while IFS= read -r line; do
    line=${line%$'\r'}
    f=() s=$line
    while [[ $s == *' '* ]]; do f+=("${s%% *}"); s=${s#* }; done
    f+=("$s")
    [[ ${f[0]} == @@kgrade && ${f[1]:-} =~ ^[0-9]+$ && ${f[2]:-} =~ ^[0-9]+$ ]] || continue
    i=$((10#${f[1]})); (( i < n )) || continue
    ANS_CODE[i]=${f[2]}
    ANS_BODY[i]=''; [[ -n ${f[3]:-} ]] && ANS_BODY[i]=$(base64 -d <<<"${f[3]}" 2>/dev/null)
    ANS_ERR[i]=''; [[ -n ${f[4]:-} ]] && { ANS_ERR[i]=$(base64 -d <<<"${f[4]}" 2>/dev/null); trim "${ANS_ERR[i]}"; ANS_ERR[i]=$TRIM; }
  done <<<"$OUT"
}
# answered I: a body arrived, even if the connection ended badly afterwards.
answered() { [[ ${ANS_CODE[$1]} == 0 ]] && return 0; trim "${ANS_BODY[$1]}"; [[ -n $TRIM ]]; }
# describe_answer I: describeAnswer, in DESC.
describe_answer() {
  local b
  if answered "$1"; then
    trim "${ANS_BODY[$1]}"; b=${TRIM//+([[:space:]])/ }
    (( ${#b} > 80 )) && b="${b:0:80}…"
    DESC="\"$b\"$([[ ${ANS_CODE[$1]} == 0 ]] || echo " (then: ${ANS_ERR[$1]:-wget exit ${ANS_CODE[$1]}})")"
  else
    DESC="no answer (${ANS_ERR[$1]:-wget exit ${ANS_CODE[$1]}})"
  fi
}
# names_in TEXT NAME: namesIn — NAME in TEXT as a whole word (no [A-Za-z0-9-] either side).
names_in() { local re="[^A-Za-z0-9-]${2//./\\.}[^A-Za-z0-9-]"; [[ " $1 " =~ $re ]]; }

# --- the scenarios: config-and-storage.feature -----------------------------------

# env_verdict ENV KIND SOURCE KEY: src/kube/pod-env.ts envVerdict on POD_JSON.
env_verdict() {
  local v
  v=$(jq -r --arg env "$1" --arg kind "$2" --arg src "$3" --arg key "$4" '
    def describeref: if .configMapKeyRef then "key \"\(.configMapKeyRef.key)\" of ConfigMap \(.configMapKeyRef.name)"
      elif .secretKeyRef then "key \"\(.secretKeyRef.key)\" of Secret \(.secretKeyRef.name)"
      elif .fieldRef then "field \(.fieldRef.fieldPath)" elif .resourceFieldRef then "resource \(.resourceFieldRef.resource)"
      else "an unknown source" end;
    ((.spec.initContainers // []) + (.spec.containers // [])) as $cs
    | (if $kind == "ConfigMap" then "configMapKeyRef" else "secretKeyRef" end) as $ref
    | (if $kind == "ConfigMap" then "configMapRef" else "secretRef" end) as $fromref
    | reduce $cs[] as $c ({done: null, wrong: []};
        if .done then . else
          ((($c.env // []) | map(select(.name == $env)) | .[0])) as $e
          | (($c.envFrom // []) | map(select(.[$fromref].name == $src))) as $from
          | "container \($c.name)" as $where
          | if $e.valueFrom then
              if $e.valueFrom[$ref].name == $src and $e.valueFrom[$ref].key == $key then .done = "ok\t\($where): env \($env) valueFrom \($ref) \($src)/\($key)"
              else .wrong += ["\($where) takes \($env) from \($e.valueFrom | describeref), not from key \"\($key)\" of \($kind) \($src)"] end
            elif $e != null and $e.value != null and ($e.value | test("\\$\\([A-Za-z_][A-Za-z0-9_]*\\)") | not) then
              .wrong += ["\($where) sets \($env) to a value written into the manifest (\"\($e.value)\"): a copy does not follow \($kind) \($src); use valueFrom.\($ref)"]
            elif ($from | length) > 0 then
              ($from[0].prefix // "") as $p
              | if $p + $key == $env then .done = "ok\t\($where): envFrom \($fromref) \($src)\(if $p != "" then " with prefix \($p)" else "" end)"
                else .done = "ok\t\($where): envFrom \($fromref) \($src) gives $\($p)\($key); \($env) is made from it by \(if $e.value != null then "env \($env)=\($e.value)" else "the container'"'"'s command" end)" end
            else . end
        end)
    | if .done then .done
      elif (.wrong | length) > 0 then "no\t" + (.wrong | join("; "))
      else "no\tno container takes \($env) from key \"\($key)\" of \($kind) \($src) (containers: \($cs | map(.name) | join(", ") | if . == "" then "none" else . end)); use env[].valueFrom.\($ref) or envFrom" end' <<<"$POD_JSON") \
    || broken "judging the environment of pod env-demo: jq failed"
  [[ $v == ok$'\t'* ]] || fail "pod env-demo: ${v#no$'\t'}"
}

# log_shows POD ENV VALUE: waitForLogToShow — every container's log polled (1 s, T_WAIT)
# for ENV set to VALUE (logShows); a pod that has ended without it fails at once.
log_shows() {
  LOG_POD=$1 LOG_ENV=$2 LOG_VALUE=$3
  eventually "$T_WAIT" 1 "the log of pod $1 to show $2=$3" log_shows_probe
}
log_shows_probe() {
  local pod text='' c log phase first=1 lines re
  pod=$(k get pod "$LOG_POD" -n "$NS" -o json 2>"$WORK/err") || broken "reading pod $LOG_POD: $(<"$WORK/err")"
  phase=$(jq -r '.status.phase // ""' <<<"$pod")
  for c in $(jq -r '.spec.containers[].name' <<<"$pod"); do
    log=$(k logs "$LOG_POD" -n "$NS" -c "$c" 2>"$WORK/err") || log=''
    if (( first )); then text=$log; first=0; else text+=$'\n'$log; fi
  done
  lines=$(grep -F -- "$LOG_ENV" <<<"$text" | head -n 3 | paste -sd'|' | sed 's/|/ | /g')
  trim "$text"
  if [[ -n $lines ]]; then SEEN="lines naming $LOG_ENV: $lines"
  elif [[ -n $TRIM ]]; then SEEN="no line names $LOG_ENV; the log ends: $(tail -n 3 <<<"$TRIM" | paste -sd'|' | sed 's/|/ | /g')"
  else SEEN='an empty log'; fi
  re="(^|[^A-Za-z0-9_])${LOG_ENV}[[:space:]]*[=:]?[[:space:]]*[\"']?${LOG_VALUE//./\\.}([\"']|[^A-Za-z0-9_-]|\$)"
  grep -qE -- "$re" <<<"$text" && return 0
  [[ $phase == Succeeded || $phase == Failed ]] && fail "pod $LOG_POD ended without printing $LOG_ENV=$LOG_VALUE; $SEEN"
  return 1
}

env_demo_from_configmap_and_secret() {
  local profile password
  fixtures_running "${FIXTURES[@]}"
  profile=profile-$(hex 5)
  k patch configmap app-config -n "$NS" --type merge -p "{\"data\":{\"profile\":\"$profile\"}}" >/dev/null 2>"$WORK/err" \
    || broken "setting key profile of ConfigMap $NS/app-config (a fixture of the lab): $(<"$WORK/err")"
  password=password-$(hex 5)
  k patch secret app-secret -n "$NS" --type merge -p "{\"data\":{\"password\":\"$(printf %s "$password" | base64 -w0)\"}}" >/dev/null 2>"$WORK/err" \
    || broken "setting key password of Secret $NS/app-secret (a fixture of the lab): $(<"$WORK/err")"
  submission_applied env-pod.yaml
  read_pod env-demo
  env_verdict SPRING_PROFILES_ACTIVE ConfigMap app-config profile
  read_pod env-demo
  env_verdict DB_PASSWORD Secret app-secret password
  pod_wait env-demo 120 'to start its container' \
    "($ENDED) or any((.status.containerStatuses // [])[]; .state.running or .state.terminated or .lastState.terminated)" \
    'any((.status.containerStatuses // [])[]; .state.waiting.reason == "CreateContainerConfigError")' || fail "$WAIT_MSG"
  log_shows env-demo SPRING_PROFILES_ACTIVE "$profile"
  log_shows env-demo DB_PASSWORD "$password"
}

data_survives_recreation() {
  local problem defaults cls phase
  submission_applied pvc-pod.yaml
  pod_running_watch writer 120
  # pod "writer" mounts PersistentVolumeClaim "data" at "/data" (claimMountProblem)
  read_pod writer
  problem=$(jq -r --arg claim data --arg path /data '
    def norm: sub("/+$"; "");
    def volkind: ([to_entries[] | select(.key != "name" and .value != null) | .key] | .[0]) // "unknown";
    (.metadata.name // "?") as $name
    | [(.spec.containers // [])[] | .name as $cn | (.volumeMounts // [])[] | {container: $cn, mount: .}] as $mounts
    | [$mounts[] | select((.mount.mountPath | norm) == ($path | norm))] as $at
    | (.spec.volumes // []) as $vols
    | if ($at | length) == 0 then
        ($mounts | map("\(.mount.name) at \(.mount.mountPath)") | join(", ")) as $seen
        | "no container of pod \($name) mounts anything at \($path)\(if $seen != "" then " (mounts: \($seen))" else "" end)"
      elif any($at[]; .mount.name as $m | ($vols | map(select(.name == $m)) | .[0].persistentVolumeClaim.claimName) == $claim) then ""
      else
        [$at[] | .container as $cn | .mount.name as $m | ($vols | map(select(.name == $m)) | .[0]) as $v
          | if $v == null then "volume \($m), which the pod does not declare"
            elif $v.persistentVolumeClaim then "PersistentVolumeClaim \($v.persistentVolumeClaim.claimName) (volume \($v.name), container \($cn))"
            else ($v | volkind) as $k | "\(if ($k | test("^[aeiou]"; "i")) then "an" else "a" end) \($k) volume (volume \($v.name), container \($cn))" end]
        | "pod \($name) mounts \(join(", ")) at \($path), not PersistentVolumeClaim \($claim)"
      end' <<<"$POD_JSON") || broken "judging the mounts of pod writer: jq failed"
  [[ -z $problem ]] || fail "$problem"
  # PersistentVolumeClaim "data" is Bound on the cluster's default StorageClass (claimOnDefaultClass)
  defaults=$(k get storageclasses -o json 2>"$WORK/err" | jq -r '[.items[] | select(.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true") | .metadata.name] | join(" ")') \
    || broken "listing StorageClasses: $(<"$WORK/err")"
  [[ -n $defaults ]] || broken "the cluster has no default StorageClass"
  cls=$(k get pvc data -n "$NS" -o jsonpath='{.spec.storageClassName}' 2>"$WORK/err") || {
    grep -q NotFound "$WORK/err" && fail "there is no PersistentVolumeClaim data"
    broken "reading PersistentVolumeClaim $NS/data: $(<"$WORK/err")"; }
  [[ -n $cls ]] || fail "PersistentVolumeClaim data asks for no StorageClass (storageClassName \"\"); leave storageClassName out to get the default, ${defaults// / or }"
  [[ " $defaults " == *" $cls "* ]] || fail "PersistentVolumeClaim data asks for StorageClass $cls; the lab asks for the cluster's default, ${defaults// / or }"
  if ! k wait pvc/data -n "$NS" --for=jsonpath='{.status.phase}'=Bound --timeout="${T_WAIT}s" >/dev/null 2>&1; then
    phase=$(k get pvc data -n "$NS" -o jsonpath='{.status.phase}' 2>/dev/null)
    fail "expected PersistentVolumeClaim data to be Bound within $T_WAIT s; last seen: phase ${phase:-unknown}"
  fi
  write_marker writer /data/kgrade-marker
  # pod "writer" is deleted and created again from the submission's "pvc-pod.yaml"
  k create --dry-run=client -o json -f "$SUBMISSION/pvc-pod.yaml" 2>"$WORK/err" \
    | jq 'if .kind == "List" then .items[] else . end | select(.kind == "Pod" and .metadata.name == "writer") | del(.metadata.namespace)' >"$WORK/writer.json" \
    || fail "pvc-pod.yaml: $(<"$WORK/err")"
  [[ -s $WORK/writer.json ]] || broken "pvc-pod.yaml has no Pod writer to create again (the scenario applied it before)"
  recreate_pod writer "$WORK/writer.json" "$STUDENT_KCFG"
  pod_running_watch writer 120
  pod_runs writer "cat /data/kgrade-marker"
  [[ $RC == 0 ]] || fail "expected success; \"cat /data/kgrade-marker (in pod writer)\" $([[ $RC == 124 ]] && echo 'was stopped at its deadline' || echo "exited $RC"): $OUT $ERR"
  trim "$OUT"
  [[ $TRIM == "$MARKER" ]] || fail "expected the output to be exactly \"$MARKER\"; exited $RC: $OUT $ERR"
}

# --- containers.feature ------------------------------------------------------------

# "the node's container runtime runs CMD in a new IMAGE container" (runOnNodeRuntime), in
# one docker exec: ctr pull from the registries of the CRI config, ctr run --rm with a log
# file (the output), the task, container and log removed.
runtime_runs() {
  local image=$1 cmd=$2 id script
  first_node
  full_image_name "$image"
  id=kgrade-run-$(hex 4)
  script=$(cat <<EOF
command -v ctr >/dev/null || { echo "@@grader node $NODE has no ctr: this check needs a containerd node" >&2; exit 3; }
hd=; [ -d /etc/containerd/certs.d ] && hd='--hosts-dir /etc/containerd/certs.d'
if ! timeout -k 3 $T_COMMAND ctr -n k8s.io images pull \$hd '$FULL' >/var/tmp/$id.pull 2>&1; then
  echo "@@grader pulling $FULL into node $NODE's containerd failed: \$(tail -n 3 /var/tmp/$id.pull | paste -sd'|' | sed 's/|/ | /g')" >&2; rm -f /var/tmp/$id.pull; exit 3
fi
rm -f /var/tmp/$id.pull
timeout -k 3 $T_COMMAND ctr -n k8s.io run --rm --log-uri file:///var/tmp/$id.log '$FULL' $id sh -c $(printf %q "$cmd") >/var/tmp/$id.out; rc=\$?
if [ -f /var/tmp/$id.log ]; then cat /var/tmp/$id.log; else cat /var/tmp/$id.out; fi
ctr -n k8s.io tasks kill -s SIGKILL $id 2>/dev/null; sleep 0.2; ctr -n k8s.io tasks rm -f $id 2>/dev/null; ctr -n k8s.io containers rm $id 2>/dev/null
rm -f /var/tmp/$id.log /var/tmp/$id.out
exit \$rc
EOF
)
  OUT=$($DOCKER exec "$NODE" bash -c "$script" 2>"$WORK/err"); RC=$?; ERR=$(<"$WORK/err")
  [[ $ERR == *@@grader* ]] && broken "$(sed -n 's/^.*@@grader //p' <<<"$ERR")"
  [[ $RC == 1 && $ERR == "Error response from daemon"* ]] && broken "node $NODE is gone: $ERR"
  return 0
}

docker_run_hello() {
  runtime_runs busybox 'echo "Hello world"'
  [[ $RC == 0 ]] || fail "expected success; \"ctr run --rm $FULL sh -c 'echo \"Hello world\"' (on node $NODE)\" $([[ $RC == 124 ]] && echo 'was stopped at its deadline' || echo "exited $RC"): $OUT $ERR"
  trim "$OUT"
  [[ $TRIM == 'Hello world' ]] || fail "expected the output to be exactly \"Hello world\"; exited $RC: $OUT $ERR"
}

hostname_not_the_hosts() {
  local node pod_host pod_uts node_host node_uts want
  grader_pod_running hostname-probe
  read_pod hostname-probe
  node=$(jq -r '.spec.nodeName // ""' <<<"$POD_JSON")
  [[ -n $node ]] || fail "pod hostname-probe is on no node ($(jq -r "$JQ_DEFS"'podstate' <<<"$POD_JSON"))"
  want=$(jq -r "$JQ_DEFS"'hostname_of' <<<"$POD_JSON")
  pod_runs hostname-probe 'hostname; readlink /proc/self/ns/uts'
  { read -r pod_host; read -r pod_uts; } <<<"$(trim "$OUT"; echo "$TRIM")"
  local pod_rc=$RC pod_err=$ERR
  OUT=$($DOCKER exec "$node" timeout -k 3 "$T_COMMAND" bash -c 'hostname; readlink /proc/self/ns/uts' 2>"$WORK/err"); RC=$?
  { read -r node_host; read -r node_uts; } <<<"$(trim "$OUT"; echo "$TRIM")"
  [[ $pod_rc == 0 && -n $pod_host && -n $pod_uts ]] || { trim "$pod_err"; fail "hostname in pod hostname-probe did not run: ${TRIM:-exit $pod_rc}"; }
  [[ $RC == 0 && -n $node_host && -n $node_uts ]] || broken "hostname on node $node did not run: $(<"$WORK/err")"
  [[ $pod_host != "$node_host" ]] || fail "the container's hostname is the node's ($node_host)"
  [[ $pod_uts != "$node_uts" ]] || fail "the container shares its node's UTS namespace ($node_uts)"
  [[ $pod_host == "$want" ]] || fail "the container's hostname is $pod_host, not its pod's name hostname-probe"
}

# node_blobs [CLEANUP]: `ctr content get` of each digest in BLOB_WANT, base64 in BLOBS[digest];
# CLEANUP (a script) runs on the node in the same exec.
node_blobs() {
  local script d line
  script='for d in '"${BLOB_WANT[*]}"'; do if b=$(ctr -n k8s.io content get "$d" 2>&1); then printf "@@blob %s %s\n" "$d" "$(printf %s "$b" | base64 -w0)"; else echo "@@err reading $d from containerd: $b"; fi; done'
  OUT=$($DOCKER exec "$NODE" timeout -k 3 60 bash -c "$script${1:+; $1}" 2>&1) || broken "reading blobs on node $NODE: $OUT"
  while IFS= read -r line; do
    case $line in
      '@@blob '*) d=${line#@@blob }; BLOBS[${d%% *}]=$(base64 -d <<<"${d#* }") ;;
      '@@err '*) broken "${line#@@err } (node $NODE)" ;;
    esac
  done <<<"$OUT"
}

two_images_share_layers() {
  local base=busybox:1.36 base_ids tag dir onnode i line ref target m d picked images='[]' problems
  local -A BLOBS=()
  first_node
  base_ids=$($DOCKER image inspect --format '{{json .RootFS.Layers}}' "$base" 2>"$WORK/err") \
    || broken "the grading host's Docker has no $base to build from: $(<"$WORK/err")"
  tag=$(hex 4)
  LAYER_REFS=("kgrade-layers-$tag/one:1" "kgrade-layers-$tag/two:1")
  dir=$WORK/layers-$tag onnode=/var/tmp/kgrade-layers-$tag.tar
  NODE_CLEANUP="rm -f '$onnode'; ctr -n k8s.io images rm docker.io/${LAYER_REFS[0]} docker.io/${LAYER_REFS[1]} >/dev/null 2>&1; true"
  LAYER_DIR=$dir NODE_CLEAN=0
  trap 'layers_cleanup' EXIT   # this scenario's subshell: whatever happens, both sides cleaned
  for i in 0 1; do
    mkdir -p "$dir/$i"
    printf 'FROM %s\nCOPY layer.txt /kgrade-layer.txt\n' "$base" >"$dir/$i/Dockerfile"
    printf 'image %d of %s\n' $((i + 1)) "$tag" >"$dir/$i/layer.txt"
    timeout -k 3 60 $DOCKER build --pull=false -q -t "${LAYER_REFS[i]}" "$dir/$i" >/dev/null 2>"$WORK/err" \
      || broken "building ${LAYER_REFS[i]} FROM $base: $(tail -n 3 "$WORK/err")"
  done
  timeout -k 3 60 $DOCKER save -o "$dir/images.tar" "${LAYER_REFS[@]}" 2>"$WORK/err" || broken "saving ${LAYER_REFS[*]}: $(<"$WORK/err")"
  $DOCKER cp "$dir/images.tar" "$NODE:$onnode" >/dev/null 2>"$WORK/err" || broken "copying the images onto node $NODE: $(<"$WORK/err")"
  # one exec: ctr there, the import, the image list, each image's target blob
  OUT=$($DOCKER exec "$NODE" bash -c "
    command -v ctr >/dev/null || { echo '@@err node $NODE has no ctr: this check needs a containerd node'; exit 0; }
    out=\$(timeout -k 3 60 ctr -n k8s.io images import '$onnode' 2>&1) || { echo \"@@err ctr images import on node $NODE: \$out\"; exit 0; }
    ctr -n k8s.io images ls >/var/tmp/kgrade-layers-$tag.ls || { echo '@@err ctr images ls on node $NODE failed'; exit 0; }
    for r in ${LAYER_REFS[*]}; do
      row=\$(awk -v r=\"\$r\" '\$1 == r || substr(\$1, length(\$1) - length(r)) == \"/\" r { print \$1, \$3; exit }' /var/tmp/kgrade-layers-$tag.ls)
      t=\${row#* }
      case \$t in sha256:*) ;; *) echo \"@@err \$r is not among node $NODE's images after the import\"; continue ;; esac
      printf '@@img %s %s %s\n' \"\$r\" \"\$row\" \"\$(ctr -n k8s.io content get \"\$t\" | base64 -w0)\"
    done
    rm -f /var/tmp/kgrade-layers-$tag.ls" 2>&1) || broken "on node $NODE: $OUT"
  declare -A NAME=() TARGET=() MANIFEST=()
  while IFS= read -r line; do
    case $line in
      '@@err '*) broken "${line#@@err }" ;;
      '@@img '*) read -r _ ref m target d <<<"$line"; NAME[$ref]=$m TARGET[$ref]=$target MANIFEST[$ref]=$(base64 -d <<<"$d") ;;
    esac
  done <<<"$OUT"
  # an index (newer Docker saves OCI layouts): the manifest for a linux platform
  BLOB_WANT=()
  for ref in "${LAYER_REFS[@]}"; do
    [[ -n ${MANIFEST[$ref]:-} ]] || broken "$ref is not among node $NODE's images after the import"
    picked=$(jq -r 'if .manifests then ((.manifests | map(select(.platform.os == "linux" and .platform.architecture != "unknown")) | .[0]) // .manifests[0] | .digest // "none") else "" end' <<<"${MANIFEST[$ref]}") \
      || broken "the manifest of $ref is not JSON"
    [[ $picked == none ]] && broken "the index of $ref lists no manifest"
    [[ -n $picked ]] && { TARGET[$ref]=$picked; BLOB_WANT+=("$picked"); }
  done
  if (( ${#BLOB_WANT[@]} )); then
    node_blobs
    for ref in "${LAYER_REFS[@]}"; do [[ -n ${BLOBS[${TARGET[$ref]}]:-} ]] && MANIFEST[$ref]=${BLOBS[${TARGET[$ref]}]}; done
  fi
  BLOB_WANT=()
  for ref in "${LAYER_REFS[@]}"; do
    d=$(jq -r '.config.digest // empty' <<<"${MANIFEST[$ref]}")
    [[ -n $d && $(jq -r '.layers | type' <<<"${MANIFEST[$ref]}") == array ]] || broken "the manifest of $ref has no config or layers"
    BLOB_WANT+=("$d")
  done
  node_blobs "$NODE_CLEANUP"; NODE_CLEAN=1
  for ref in "${LAYER_REFS[@]}"; do
    d=$(jq -r '.config.digest' <<<"${MANIFEST[$ref]}")
    images=$(jq -c --arg ref "${NAME[$ref]}" --arg digest "${TARGET[$ref]}" --argjson m "${MANIFEST[$ref]}" \
      '. as $cfg | $images + [{ref: $ref, manifest: $digest, layers: [$m.layers[].digest], diffIds: ($cfg.rootfs.diff_ids // [])}]' \
      --argjson images "$images" <<<"${BLOBS[$d]}") || broken "the config of $ref ($d) is not JSON"
  done
  # both images begin with the layers of busybox:1.36 ... (layerSharing)
  problems=$(jq -rn --argjson base "$base_ids" --argjson imgs "$images" --arg b "$base" '
    def short: (. // "none") | sub("^sha256:"; "") | .[0:12];
    ($base | length) as $n | $imgs[0] as $a | $imgs[1] as $bb
    | [ ($imgs[] | (if (.layers | length) != $n + 1 then "\(.ref) has \(.layers | length) layers; built FROM \($b) (\($n)) with one COPY it should have \($n + 1)" else empty end),
                   (. as $i | if ([range(0; $n) | $base[.] == $i.diffIds[.]] | all) then empty
                     else "\(.ref)'"'"'s first layers (\(.diffIds[0:$n] | map(short) | join(", "))) are not \($b)'"'"'s (\($base | map(short) | join(", ")))" end)),
        (if ([range(0; $n) | $a.layers[.] == $bb.layers[.]] | all) then empty
         else "the two images do not share their base layers: \($a.layers[0:$n] | map(short) | join(", ")) vs \($bb.layers[0:$n] | map(short) | join(", "))" end),
        (if $a.layers[-1] == $bb.layers[-1] then "the two images'"'"' last layers are the same (\($a.layers[-1] | short)), though each copied a different file" else empty end)
      ] | join("; ")') || broken "judging the layers: jq failed"
  [[ -z $problems ]] || fail "$problems"
}
layers_cleanup() {
  [[ $NODE_CLEAN == 1 ]] || $DOCKER exec "$NODE" timeout -k 3 30 bash -c "$NODE_CLEANUP" >/dev/null 2>&1
  timeout 60 $DOCKER rmi "${LAYER_REFS[@]}" >/dev/null 2>&1
  rm -rf "$LAYER_DIR"
}

cluster_info_and_nodes() {
  local version nodes
  version=$(k get --raw /version 2>"$WORK/err" | jq -r '.gitVersion // ""') || broken "reading the server version: $(<"$WORK/err")"
  nodes=$(k get nodes -o json 2>"$WORK/err") || broken "listing nodes: $(<"$WORK/err")"
  k get services -n kube-system -l kubernetes.io/cluster-service=true -o name >/dev/null 2>"$WORK/err" || broken "listing cluster services: $(<"$WORK/err")"
  [[ $version =~ ^v[0-9]+\.[0-9]+ ]] || fail "the API server's version is \"$version\""
  [[ $(jq '.items | length' <<<"$nodes") -gt 0 ]] || fail 'the API server lists no nodes'
  jq -e "$JQ_DEFS"'any(.items[]; ready)' <<<"$nodes" >/dev/null || fail "no node is Ready: $(jq -r '[.items[].metadata.name] | join(", ")' <<<"$nodes")"
}

scratch_file_gone() {
  grader_pod_running scratch
  write_marker scratch /kgrade-marker
  # the grader's pod "scratch" is deleted and created again (respawnBody)
  read_pod scratch
  jq -e "$JQ_DEFS"'grader_pod' <<<"$POD_JSON" >/dev/null || broken "pod scratch is not one the grader started; a submission's pod is created again from its manifest"
  jq '([(.spec.volumes // [])[] | select(.name | startswith("kube-api-access-")) | .name]) as $added
    | def keep: if . == null then null else map(select(.name as $n | $added | index([$n]) | not)) end;
    {apiVersion: "v1", kind: "Pod",
     metadata: {name: .metadata.name, labels: (.metadata.labels // {}), annotations: (.metadata.annotations // {})},
     spec: (.spec | del(.nodeName)
       | if .volumes then .volumes |= map(select(.name as $n | $added | index([$n]) | not)) else . end
       | .containers |= map(.volumeMounts |= keep | if .volumeMounts == null then del(.volumeMounts) else . end)
       | if .initContainers then .initContainers |= map(.volumeMounts |= keep | if .volumeMounts == null then del(.volumeMounts) else . end) else . end)}' \
    <<<"$POD_JSON" >"$WORK/scratch.json"
  recreate_pod scratch "$WORK/scratch.json" "$KCFG" "$CTX"
  pod_running_watch scratch 120
  pod_runs scratch 'cat /kgrade-marker'
  [[ $RC != 124 ]] || fail "expected it to fail promptly, but it hung; \"cat /kgrade-marker (in pod scratch)\" was stopped at its deadline"
  [[ $RC != 0 ]] || fail "expected a failure; \"cat /kgrade-marker (in pod scratch)\" exited 0: $OUT"
  [[ "$OUT"$'\n'"$ERR" != *"$MARKER"* ]] || fail "expected the output not to contain \"$MARKER\"; exited $RC: $OUT $ERR"
}

# --- kubia.feature -------------------------------------------------------------------

three_kubia_ready() {
  submission_applied kubia.yaml
  ready_pods kubia 3 120
}

kubia_hostnames_answer() {
  local n i pod host ip problems=() urls=() names=() hosts=()
  grader_pod_running client
  submission_applied kubia.yaml
  ready_pods kubia desired 120
  # each pod of controller "kubia" has its pod name as hostname
  ready_pods_of kubia
  while IFS=$'\t' read -r pod host ip; do
    pod_runs "$pod" 'hostname 2>/dev/null || cat /proc/sys/kernel/hostname'
    trim "$OUT"
    if [[ $RC != 0 ]]; then trim "${ERR:-$OUT}"; problems+=("hostname in pod $pod did not run: ${TRIM:-exit $RC}")
    elif [[ $TRIM != "$host" ]]; then problems+=("pod $pod's hostname is \"$TRIM\""); fi
  done < <(jq -r '.[] | "\(.name)\t\(.host)\t\(.ip)"' <<<"$RPODS")
  join '; ' "${problems[@]}"
  (( ${#problems[@]} == 0 )) || fail "$JOINED; each pod's hostname should be its own name (leave spec.hostname unset)"
  # from the grader's pod "client", each pod of controller "kubia" answers on port 8080 with its own name
  ready_pods_of kubia
  while IFS=$'\t' read -r pod host ip; do
    [[ -n $ip ]] || broken "Ready pods without an IP: $pod"
    names+=("$pod") hosts+=("$host") urls+=("http://$ip:8080/")
  done < <(jq -r '.[] | "\(.name)\t\(.host)\t\(.ip)"' <<<"$RPODS")
  ANSWER_NAMES=("${names[@]}") ANSWER_HOSTS=("${hosts[@]}") ANSWER_URLS=("${urls[@]}")
  eventually "$T_WAIT" 2 'every pod to answer on port 8080 with its own name' answers_probe
}
answers_probe() {
  local i good=0 all=1 seen=()
  request_from_pod client "${ANSWER_URLS[@]}"
  for i in "${!ANSWER_URLS[@]}"; do
    describe_answer "$i"
    seen+=("${ANSWER_NAMES[i]} (${ANSWER_URLS[i]}): $DESC")
    if answered "$i"; then names_in "${ANS_BODY[i]}" "${ANSWER_HOSTS[i]}" && good=$((good + 1)); else all=0; fi
  done
  join '; ' "${seen[@]}"; SEEN=$JOINED
  (( good < ${#ANSWER_URLS[@]} && all )) && fail "each pod must answer with its own name (its hostname); the answers were: $SEEN"
  (( good == ${#ANSWER_URLS[@]} ))
}

service_spreads() {
  local svc line
  grader_pod_running client
  submission_applied kubia.yaml
  # serviceFront
  svc=$(k get service kubia-http -n "$NS" -o json 2>"$WORK/err") || {
    grep -q NotFound "$WORK/err" && fail "there is no Service kubia-http"
    broken "reading service kubia-http: $(<"$WORK/err")"; }
  line=$(jq -r --argjson port 80 '(.spec.ports // []) as $ps | ($ps | map(select(.port == $port)) | .[0]) as $p
    | if $p == null then "noport\tService kubia-http has ports \($ps | map("\(.port)\(if .targetPort != null then "->\(.targetPort)" else "" end)") | join(", ") | if . == "" then "none" else . end); it must listen on port \($port)"
      elif ((.spec.clusterIP // "") == "" or .spec.clusterIP == "None") then "noip\tService kubia-http has no cluster IP (headless): it cannot spread requests itself"
      else "ok\t\(.spec.clusterIP)\t\($p.targetPort // $port)\t\(.spec.selector // {} | tojson)" end' <<<"$svc")
  [[ $line == ok$'\t'* ]] || fail "${line#*$'\t'}"
  IFS=$'\t' read -r _ SVC_IP _ SVC_SELECTOR <<<"$line"
  eventually "$T_WAIT" 1 'Service kubia-http to have 2 ready endpoints' endpoints_probe
  eventually "$T_WAIT" 2 '30 requests to kubia-http to reach 2 different pods' spread_probe
}
# waitForEndpoints: ready endpoints on 2 addresses; when the selector picks fewer than 2 pods
# and the namespace has settled (workloadsSettled), waiting will not help.
endpoints_probe() {
  local slices n pods chosen settled picks carry workloads
  slices=$(k get endpointslices -n "$NS" -l kubernetes.io/service-name=kubia-http -o json 2>"$WORK/err") \
    || broken "listing the endpoints of $NS/kubia-http: $(<"$WORK/err")"
  n=$(jq '[.items[] | (.ports // []) as $p | select(($p | length) > 0) | (.endpoints // [])[] | select(.conditions.ready == true) | .addresses[]] | unique | length' <<<"$slices")
  (( n >= 2 )) && return 0
  pods=$(k get pods -n "$NS" -o json 2>"$WORK/err") || broken "listing the pods in $NS: $(<"$WORK/err")"
  IFS=$'\t' read -r chosen settled picks carry < <(jq -r --argjson sel "$SVC_SELECTOR" "$JQ_DEFS"'
    def uniq_ordered: reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end);
    [.items[] | select(grader_pod | not)] as $mine
    | [$mine[] | select(.metadata.deletionTimestamp | not)] as $sub
    | [$sub[] | select(($sel | length) > 0 and ((.metadata.labels // {}) as $l | all($sel | to_entries[]; $l[.key] == .value)))] as $chosen
    | ([$sub[] | .metadata.labels | labels_text] | uniq_ordered | join("; ") | if . == "" then "no pods at all" else . end) as $carry
    | (if ($sel | length) > 0 then "selector \($sel | labels_text) matches \(if ($chosen | length) > 0 then ($chosen | map(.metadata.name) | join(", ")) else "no pod" end)" else "it has no selector" end) as $picks
    | "\($chosen | length)\t\(all($mine[]; ready and (.metadata.deletionTimestamp | not)))\t\($picks)\t\($carry)"' <<<"$pods")
  if (( chosen < 2 )) && [[ $settled == true ]]; then
    workloads=$(k get replicationcontrollers,deployments.apps,replicasets.apps,statefulsets.apps -n "$NS" -o json 2>"$WORK/err") \
      || broken "listing the workloads in $NS: $(<"$WORK/err")"
    if jq -e 'all(.items[]; (.status.readyReplicas // 0) == (.spec.replicas // 1) and (.status.replicas // 0) == (.spec.replicas // 1))' <<<"$workloads" >/dev/null; then
      fail "Service kubia-http must send requests to at least 2 pods, but its $picks (the pods carry: $carry)"
    fi
  fi
  SEEN="$(jq -r '[.items[] | (.ports // []) as $p | (.endpoints // [])[] | select(.conditions.ready == true) | (.targetRef.name // "") as $pod
    | .addresses[] as $a | $p[] | "\($a):\(.port) (\($pod))"] | if length > 0 then "ready endpoints " + join(", ") else "no ready endpoints" end' <<<"$slices"); $picks (the pods carry: $carry)"
  return 1
}
# spreadOverPods: 30 requests to the cluster IP, the pods told apart by the names in the answers.
spread_probe() {
  local pods i h pod ok=0 hits_order=() nameless=() failed=() seen_names
  local -A host_to_pod=() hits=() seen_nl=() seen_f=()
  pods=$(k get pods -n "$NS" -o json 2>"$WORK/err") || broken "listing the pods in $NS: $(<"$WORK/err")"
  while IFS=$'\t' read -r h pod; do [[ -n $h ]] && host_to_pod[$h]=$pod; done \
    < <(jq -r "$JQ_DEFS"'.items[] | select((grader_pod | not) and (.metadata.deletionTimestamp | not)) | "\(hostname_of)\t\(.metadata.name)"' <<<"$pods")
  local urls=()
  for ((i = 0; i < 30; i++)); do urls+=("http://$SVC_IP:80/"); done
  request_from_pod client "${urls[@]}"
  for ((i = 0; i < 30; i++)); do
    seen_names=0
    for h in "${!host_to_pod[@]}"; do
      if names_in "${ANS_BODY[i]}" "$h"; then
        seen_names=1; pod=${host_to_pod[$h]}
        [[ -n ${hits[$pod]:-} ]] || hits_order+=("$pod")
        hits[$pod]=$(( ${hits[$pod]:-0} + 1 ))
      fi
    done
    if answered "$i"; then
      ok=$((ok + 1))
      if (( ! seen_names )); then describe_answer "$i"; [[ -n ${seen_nl[$DESC]:-} ]] || { seen_nl[$DESC]=1; nameless+=("$DESC"); }; fi
    else
      describe_answer "$i"; [[ -n ${seen_f[$DESC]:-} ]] || { seen_f[$DESC]=1; failed+=("$DESC"); }
    fi
  done
  local hit_list='' p
  for p in "${hits_order[@]}"; do hit_list+="${hit_list:+, }$p ×${hits[$p]}"; done
  SEEN="$ok of 30 requests to http://$SVC_IP:80/ answered; pods named in the answers: ${hit_list:-none}"
  (( ${#nameless[@]} )) && { join ', ' "${nameless[@]:0:3}"; SEEN+="; answers naming no pod: $JOINED"; }
  (( ${#failed[@]} )) && { join ', ' "${failed[@]:0:3}"; SEEN+="; failures: $JOINED"; }
  if (( ${#hits_order[@]} < 2 && ok == 30 )); then
    fail "30 requests to kubia-http reached ${#hits_order[@]} pod$([[ ${#hits_order[@]} == 1 ]] || echo s) that could be told apart (each pod must answer with its own name); $SEEN"
  fi
  (( ${#hits_order[@]} >= 2 ))
}

deleted_pod_replaced() {
  local victim
  submission_applied kubia.yaml
  ready_pods kubia 3 120
  ready_pods_of kubia
  victim=$(jq -r '.[0].name' <<<"$RPODS")
  k delete pod "$victim" -n "$NS" --wait=false --ignore-not-found >/dev/null 2>"$WORK/err" || broken "deleting pod $NS/$victim: $(<"$WORK/err")"
  ready_pods kubia 3 30
}

scaled_to_five() {
  local kind
  submission_applied kubia.yaml
  ready_pods kubia desired 120
  controller_of kubia
  [[ $C_KIND == ReplicationController ]] && kind=replicationcontroller || kind=deployment.apps
  k scale "$kind/kubia" -n "$NS" --replicas=5 >/dev/null 2>"$WORK/err" || broken "scaling $C_KIND kubia to 5: $(<"$WORK/err")"
  ready_pods kubia 5 120
}

scenario "env-demo takes its values from the ConfigMap and the Secret" env_demo_from_configmap_and_secret
scenario "a file written to /data survives the pod's deletion and recreation" data_survives_recreation
scenario 'docker run --rm busybox echo "Hello world" prints Hello world' docker_run_hello
scenario "a container's hostname is not the host's" hostname_not_the_hosts
scenario "two images built on the same base share its layer digests" two_images_share_layers
scenario "kubectl cluster-info and kubectl get nodes work" cluster_info_and_nodes
scenario "a file written into a container's own filesystem is gone after the pod is recreated" scratch_file_gone
scenario "three kubia pods are Ready" three_kubia_ready
scenario "each kubia pod is named by its hostname and answers with it" kubia_hostnames_answer
scenario "the Service kubia-http spreads requests over the pods" service_spreads
scenario "a deleted kubia pod is replaced within 30 seconds" deleted_pod_replaced
scenario "scaled to 5, five kubia pods become Ready" scaled_to_five

finish
