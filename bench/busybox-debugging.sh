#!/usr/bin/env bash
# bench/busybox-debugging.sh SUBMISSION_DIR — labs/busybox-debugging graded by hand
# with kubectl, jq and docker against the running kind cluster: the thirteen
# scenarios of features/{busybox,debug-pod,init-demo,job}.feature, each the way
# kgrade does it (steps/*.steps.ts, src/kube/*.ts, src/check/*.ts), with the same
# assertions in bash. Each scenario prints ok, FAIL (the submission's: exit 1 of its
# subshell) or ERROR (the grader's: exit 3). The script exits 0 when every scenario
# passes, 1 when one fails, 3 when one ended in the grader's error or the cluster
# cannot be reached (cluster-lib.sh finish), 2 on a usage problem. A baseline for
# scripts/bench-cluster.sh.
#
# Every scenario has a fresh namespace as src/kube/namespace.ts makes it (see
# cluster-lib.sh); fixtures are created with the admin's rights and waited for
# (pods Ready, timeouts.wait 90 s); a submission file is created as the
# namespace's ServiceAccount. Pod waits are watches (`kubectl get -w` on the
# namespace's pods with a field selector, as waitForPod's watch), and end early
# as kgrade's do: on a pod Succeeded/Failed where the step says so, and on an
# image that does not exist (ImagePullBackOff with "not found"); a pull the
# registry did not answer is the grader's error.
#
#   busybox.feature (@course, no points): the grader's client pod "toolbox"
#     (busybox:1.36, or $KGRADE_DEBUG_IMAGE, as src/kube/client-pod.ts makes it;
#     Running within 90 s, else the grader's error), then
#     - `busybox --list` in it (sh -c, 30 s): exit 0, and its stdout has each of
#       the words ls cat echo grep wget ping telnet nslookup (whitespace-split);
#     - the script of src/check/same-program.ts in it: /bin/ls is a symlink
#       resolving to what /bin/busybox resolves to, or the same inode, or the
#       same bytes;
#     - the image size on the pod's node (src/kube/image-size.ts): `ctr -n k8s.io
#       images ls` (the row of the status' imageID or image), `ctr content get`
#       of its manifest (through the index for linux/<node arch>), config+layers
#       summed, and `ctr images usage --snapshotter overlayfs` summed; either
#       >= 5,000,000 bytes fails (no ctr: the node status' sizeBytes).
#   debug-pod.feature: busybox-debug.yaml applied, then "Ready and keeps
#     running within 60 s" (src/kube/steady-pod.ts: Ready with every container
#     running, then the same container IDs and restart counts still so 5 s after
#     the last container started; a pod Ready only for moments fails at 60 s), then
#     - every image of the pod (init and app containers) pinned: a digest, or a
#       tag that is not "latest" (no tag = latest);
#     - (fixture ping-target) the pod log, polled every 1 s for 90 s: a "---
#       HOST ping statistics ---" block naming ping-target (short name, .NS,
#       .NS.svc, .NS.svc.<domain>, or one of its addresses) with 3 transmitted and
#       3 received; a block for it with other counts, or a script gone past its
#       pings with other targets or "ping:" errors, fails at once;
#     - (fixture ping-target) the log, polled the same way, has lines containing
#       "Pinging", "ping statistics", "sleeping" in this order, case ignored;
#     - `ls /` in the pod: exit 0, stdout has the words bin etc proc;
#     - (fixture web, its cluster IP read first) `nslookup
#       web.NS.svc.cluster.local` in the pod: stdout+stderr has the cluster IP;
#     - (fixture web) `wget -q -O - http://web.NS.svc.cluster.local/`: exit 0
#       and stdout+stderr has kgrade-web-7c2e.
#   init-demo.feature, each scenario after the background (fixture
#     config-server, init-demo.yaml applied):
#     - a watch (90 s) until every init container has terminated with exit 0
#       (or none declared), or one's last run (state or lastState) ended with
#       another code: that one fails, with its log;
#     - Ready and keeps running (60 s), then the pod log, polled every 1 s for
#       90 s, contains app.marker=kgrade-config-3f9a;
#     - Ready and keeps running (60 s), then in every app container mounting an
#       emptyDir volume (-c that container): `find MOUNTS -name config.txt` and
#       `: >> FILE` on each, as the container's user; no such container, no such
#       file, or a file opened for writing fails.
#   job.feature: job.yaml applied, then a watch on the Job (60 s) until its
#     condition Complete; condition Failed fails at once; no Job at all fails.
#
# Known differences from kgrade: `kubectl exec` without -c for "pod runs" uses
# the pod's default container (kgrade: spec.containers[0]; the same unless a
# kubectl.kubernetes.io/default-container annotation says otherwise); ASCII-only
# case folding (jq ascii_downcase) where kgrade uses toLowerCase; the fixtures'
# pods are waited for one after another, each with the full 90 s, and a fixture
# file's objects are created in one `kubectl create`.
#
# The shared part (namespace, apply, fixtures, scenario/finish, env) is
# bench/cluster-lib.sh.
set -uo pipefail
LAB=busybox-debugging
T_COMMAND=30       # labs/busybox-debugging/lab.yaml timeouts.command
T_WAIT=90          # labs/busybox-debugging/lab.yaml timeouts.wait
T_STEADY=60        # "... 60초 안에 Ready가 되어 계속 실행된다"
T_JOB=60           # "잡 "busybox-job"이(가) 60초 안에 완료된다"
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

# --- helpers of this lab ---------------------------------------------------------

now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
secs_of() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # src/env/node.ts shellQuote

# jq definitions: pod readers of src/kube/pods.ts and src/kube/steady-pod.ts.
JQ_DEFS='
def strip: sub("\\A\\s+"; "") | sub("\\s+\\z"; "");
def ready: any(.status.conditions[]?; .type == "Ready" and .status == "True");
def all_running: (.status.containerStatuses // []) as $s | ($s | length) > 0 and ($s | all(.state.running != null));
def runs: [(.status.containerStatuses // [])[] | "\(.name)=\(.containerID // "")#\(.restartCount)"] | join(",");
def phase_ended: .status.phase == "Succeeded" or .status.phase == "Failed";
def pod_state:
  if . == null then "the pod does not exist" else
  ( ["phase \(.status.phase // "unknown")"]
    + [ first(.status.conditions[]? | select(.type == "PodScheduled" and .status != "True"))
        | "not scheduled: \(.reason // "") \(.message // "")" | strip ]
    + [ ((.status.initContainerStatuses // []) + (.status.containerStatuses // []))[]
        | if .state.waiting then "\(.name) waiting: \(.state.waiting.reason // "")\(if (.state.waiting.message // "") != "" then " (\(.state.waiting.message))" else "" end)"
          elif .state.terminated then "\(.name) terminated: \(.state.terminated.reason // "") exit \(.state.terminated.exitCode)"
          elif .state.running then "\(.name) running\(if .ready then ", ready" else "" end)"
          else empty end ]
  ) | join("; ") end;
# imagePullProblem, with the ErrImagePull messages seen before ($prev: container -> message)
def pull_problem($prev):
  reduce ((.status.initContainerStatuses // []) + (.status.containerStatuses // []))[] as $c
    ({prev: $prev, found: null};
     if .found != null then . else
       ($c.state.waiting // null) as $w
       | if $w == null or (($w.reason // "") | IN("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull") | not) then . else
           ($w.message // "") as $own
           | (if $w.reason == "ErrImagePull" and $own != "" then .prev[$c.name] = $own else . end)
           | (if $w.reason == "ErrImagePull" then $own else (.prev[$c.name] // $own) end) as $detail
           | {container: $c.name, image: $c.image, detail: ("\($w.reason): \($detail)" | strip)} as $base
           | if ($w.reason | IN("InvalidImageName", "ErrImageNeverPull")) then .found = $base + {blame: "submission"}
             elif ($detail | test("not found|NotFound|manifest unknown|name unknown|repository does not exist"; "i")) then .found = $base + {blame: "submission"}
             elif $detail != "" and ($detail | test("^Back-off pulling image") | not) then .found = $base + {blame: "grader"}
             else . end
         end
     end);
def ev_time: (.lastTimestamp // .eventTime // .firstTimestamp) as $t
  | if $t == null then 0 else ($t | sub("\\.[0-9]+"; "") | fromdateiso8601) + ((($t | capture("\\.(?<f>[0-9]+)")) | ("0." + .f | tonumber)) // 0) end;
def describe_events: sort_by(ev_time) | .[-5:] | map("\(.type // "") \(.reason // ""): \(.message // "")" | strip) | join(" | ");
def pull_still_running: sort_by(ev_time) as $ev
  | ([$ev[] | select(.reason == "Pulling")] | last) as $p
  | if $p == null then null
    elif any($ev[]; (.reason | IN("Pulled", "Failed", "BackOff")) and ev_time >= ($p | ev_time)) then null
    else (($p.message // "") | capture("image \"(?<i>[^\"]+)\"") | .i) // "its image" end;
'

# watch_objects RESOURCE NAME SECONDS JQ: a watch on the namespace's RESOURCE with
# the field selector metadata.name=NAME (a missing object is waited for, as kgrade's
# watches do), every event ({type, object}) read by the jq program JQ (-n, `inputs`),
# which prints one line per event: VERDICT<TAB>JSON. Stops at the first VERDICT
# other than "no": WATCH_VERDICT and WATCH (that JSON), status 0; status 1 when the
# deadline passed first (WATCH: the last event's JSON, or empty).
watch_objects() {
  local resource=$1 name=$2 t=$3 program=$4 fd wpid line rc=1 st
  WATCH='' WATCH_VERDICT=''
  exec {fd}< <(exec timeout "$t" "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" get "$resource" -n "$NS" \
      --field-selector "metadata.name=$name" -w --output-watch-events -o json 2>"$WORK/watch.err")
  wpid=$!
  while IFS= read -r line; do
    WATCH_VERDICT=${line%%$'\t'*} WATCH=${line#*$'\t'}
    [[ $WATCH_VERDICT == no ]] || { rc=0; break; }
  done < <(jq -n --unbuffered -r "$JQ_DEFS $program" <&"$fd" 2>"$WORK/jq.err")
  if [[ $rc == 0 ]]; then
    kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
  else
    wait "$wpid" 2>/dev/null; st=$?
    [[ -s $WORK/jq.err ]] && broken "reading the watch on $resource $name: $(<"$WORK/jq.err")"
    [[ $st == 124 ]] || broken "watching $resource $NS/$name: $(<"$WORK/watch.err")"
  fi
  exec {fd}<&-
  return $rc
}

# wait_pod NAME SECONDS WHAT UNTIL [HOPELESS]: src/kube/pods.ts waitForPod. UNTIL and
# HOPELESS are jq conditions on the pod; an image that does not exist is hopeless too.
# Status 0 with POD (the pod's JSON); else status 1 with WAIT_KIND (fail or broken)
# and WAIT_MSG, kgrade's message.
wait_pod() {
  local name=$1 t=$2 what=$3 until=$4 hopeless=${5:-false} last events verdict pulling pull pb pi pd
  POD='' WAIT_KIND='' WAIT_MSG=''
  if watch_objects pods "$name" "$t" "def until_: $until; def hopeless_: $hopeless;"'
      foreach inputs as $e ({prev: {}, pod: null};
        .pod = (if $e.type == "DELETED" then null else $e.object end)
        | if .pod == null then .pull = null else (.pod | pull_problem(.prev)) as $r | .prev = $r.prev | .pull = $r.found end;
        (if .pod != null and (.pod | until_) then "ok"
         elif .pod != null and ((.pod | hopeless_) or .pull.blame == "submission") then "hopeless"
         else "no" end) + "\t" + ({pod, pull} | tojson))'; then
    if [[ $WATCH_VERDICT == ok ]]; then POD=$(jq -c .pod <<<"$WATCH"); return 0; fi
    verdict='it can no longer get there'
  else
    verdict="not within $(printf '%.0f' "$t") s"
  fi
  [[ -n $WATCH ]] || WATCH='{"pod": null, "pull": null}'
  last=$(jq -c .pod <<<"$WATCH")
  events=$(k get events -n "$NS" --field-selector "involvedObject.name=$name" -o json 2>/dev/null || echo '{"items": []}')
  if [[ $verdict == not* && $(jq -r '.status.phase // ""' <<<"$last") == Pending ]]; then
    pulling=$(jqd -r '.items | pull_still_running // ""' <<<"$events")
    if [[ -n $pulling ]]; then
      WAIT_KIND=broken WAIT_MSG="pod $name: pulling $pulling had not finished after $(printf '%.0f' "$t") s: the image registry did not answer; this is the grading cluster's fault, not the submission's (events: $(jqd -r '.items | describe_events' <<<"$events"))"
      return 1
    fi
  fi
  pull=$(jq -r '.pull | if . == null then "" else [.blame, .image, .detail] | join("\u001f") end' <<<"$WATCH")
  if [[ -n $pull ]]; then
    IFS=$'\x1f' read -r pb pi pd <<<"$pull"
    if [[ $pb == grader ]]; then
      WAIT_KIND=broken WAIT_MSG="pod $name could not pull $pi: the image registry did not answer ($pd); this is the grading cluster's fault, not the submission's"
    else
      WAIT_KIND=fail WAIT_MSG="expected pod $name $what: its image $pi cannot be pulled, it does not exist ($pd); check the image's name and tag"
    fi
    return 1
  fi
  events=$(jqd -r '.items | describe_events' <<<"$events")
  WAIT_KIND=fail WAIT_MSG="expected pod $name $what: $verdict; last seen: $(jqd -r pod_state <<<"$last")${events:+; events: $events}"
  return 1
}
# jqd [OPTION...] PROGRAM: jq with the definitions above (the program last; input on stdin)
jqd() { jq "${@:1:$#-1}" "$JQ_DEFS ${!#}"; }

# pod_log NAME [CONTAINER]: src/kube/pods.ts podLogs (the log API, as kgrade reads it)
# into $WORK/log; a 4xx is the submission's failure, anything else the grader's error.
pod_log() {
  local path="/api/v1/namespaces/$NS/pods/$1/log${2:+?container=$2}"
  k get --raw "$path" >"$WORK/log" 2>"$WORK/err" && return 0
  if grep -qE '^Error from server \((BadRequest|Unauthorized|Forbidden|NotFound|MethodNotAllowed|NotAcceptable|AlreadyExists|Conflict|Gone|Invalid|RequestEntityTooLarge|UnsupportedMediaType|TooManyRequests)\)' "$WORK/err"; then
    fail "the log of pod $1${2:+ (container $2)} cannot be read: $(<"$WORK/err")"
  fi
  broken "reading the log of pod $NS/$1: $(<"$WORK/err")"
}
last_words() {   # steady-pod.ts lastWords
  local tail
  pod_log_quiet "$1" || return 0
  tail=$(jqd -Rrs 'strip | split("\n") | .[-3:] | join(" | ")' <"$WORK/log" 2>/dev/null)
  [[ -n $tail ]] && printf '; its log ends: %s' "$tail"
}
pod_log_quiet() { k get --raw "/api/v1/namespaces/$NS/pods/$1/log${2:+?container=$2}" >"$WORK/log" 2>/dev/null; }

# pod_read NAME: POD, the pod's JSON; no such pod is the submission's failure.
pod_read() {
  POD=$(k get pod "$1" -n "$NS" -o json 2>"$WORK/err") && return 0
  grep -q '(NotFound)' "$WORK/err" && fail "there is no pod $1 in the submission's namespace"
  broken "reading pod $1: $(<"$WORK/err")"
}

# Then pod NAME is Ready and keeps running within SECONDS (src/kube/steady-pod.ts).
steady_pod() {
  local name=$1 t=$2 deadline remaining seen again pause flapped='' state
  deadline=$(( $(now_us) + t * 1000000 ))
  while :; do
    remaining=$(( deadline - $(now_us) ))
    (( remaining > 0 )) || break
    if ! wait_pod "$name" "$(secs_of "$remaining")" 'to be Ready and keep running' 'ready and all_running' phase_ended; then
      [[ $WAIT_KIND == fail ]] || broken "$WAIT_MSG"
      fail "${flapped:+expected pod $name to be Ready and keep running within $t s: it was Ready only for moments; then }$WAIT_MSG$(last_words "$name")"
    fi
    seen=$POD
    # wait until 5 s after the last container started (at most 5 s)
    pause=$(jq -r '([(.status.containerStatuses // [])[] | (.state.running.startedAt // null) | if . then fromdateiso8601 * 1000 else now * 1000 end] | max // 0 | if . < 0 then 0 else . end) + 5000 - (now * 1000) | if . > 5000 then 5000 elif . < 0 then 0 else . end | . / 1000' <<<"$seen")
    [[ $pause == 0 ]] || sleep "$pause"
    again=$(k get pod "$name" -n "$NS" -o json 2>"$WORK/err") || broken "reading pod $name: $(<"$WORK/err")"
    if jqd --argjson seen "$seen" -e 'ready and all_running and runs == ($seen | runs)' <<<"$again" >/dev/null; then
      POD=$again; return 0
    fi
    flapped=$again
    sleep 1
  done
  state=$(jqd -r pod_state <<<"${flapped:-null}")
  fail "expected pod $name to be Ready and keep running: within $t s it was Ready only for moments; its containers keep ending; last seen: $state$(last_words "$name")"
}

# pod_exec POD CONTAINER SCRIPT: src/kube/pods.ts execInPod with sh -c SCRIPT
# (CONTAINER empty: kubectl's default container), timeouts.command: OUT ERR RC TIMED_OUT.
pod_exec() {
  OUT=$(timeout -k 3 "$T_COMMAND" "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" exec -n "$NS" "$1" ${2:+-c "$2"} -- sh -c "$3" 2>"$WORK/err")
  RC=$?
  ERR=$(<"$WORK/err")
  TIMED_OUT=0
  [[ $RC == 124 || $RC == 137 ]] && TIMED_OUT=1
  WHAT="$3 (in pod $1)"
  return 0
}
# src/env/node.ts describeExec: the status, then the last 12 lines of stdout and stderr.
describe_exec() {
  local s
  if [[ $TIMED_OUT == 1 ]]; then s='was stopped at its deadline'; else s="exited $RC"; fi
  [[ -n ${OUT//[[:space:]]/} ]] && s+=$'\n'"stdout:"$'\n'"$(tail -n 12 <<<"$OUT")"
  [[ -n ${ERR//[[:space:]]/} ]] && s+=$'\n'"stderr:"$'\n'"$(tail -n 12 <<<"$ERR")"
  printf '%s' "$s"
}
shown() { printf '"%s" %s' "$WHAT" "$(describe_exec)"; }
# "it succeeds", "its output has the words" (stdout only), "its output contains" (stdout+stderr)
check_succeeds() { [[ $TIMED_OUT == 0 && $RC == 0 ]] || fail "expected success; $(shown)"; }
check_words() {
  local -A seen=() ; local w missing=()
  while IFS= read -r w; do [[ -n $w ]] && seen[$w]=1; done < <(tr -s ' \t\n\r\f\v' '\n' <<<"$OUT")
  for w in $1; do [[ -n ${seen[$w]:-} ]] || missing+=("$w"); done
  [[ ${#missing[@]} == 0 ]] || fail "expected the output to list ${missing[*]}; $(shown)"
}
check_output_contains() { [[ "$OUT"$'\n'"$ERR" == *"$1"* ]] || fail "expected the output to contain \"$1\"; $(shown)"; }

# on_node NODE CMD: src/env/container-node.ts: one docker exec, timeouts.command: OUT ERR RC.
on_node() {
  OUT=$($DOCKER exec "$1" timeout -k 3 "$T_COMMAND" bash -c "$2" 2>"$WORK/err")
  RC=$?
  ERR=$(<"$WORK/err")
  if [[ $RC == 126 || $RC == 127 ]] && grep -qiE 'OCI runtime exec failed|executable file not found|No such container|is not running' <<<"$ERR"; then
    broken "cannot run bash on node $1: $ERR"
  fi
  [[ $RC == 1 && $ERR == "Error response from daemon"* ]] && broken "node $1 is gone: $ERR"
  return 0
}

# Given the grader's client pod NAME is running (src/kube/client-pod.ts): created with
# the admin's rights, Running within timeouts.wait; any trouble is the grader's.
client_pod_running() {
  local name=$1 image=${KGRADE_DEBUG_IMAGE:-busybox:1.36}
  [[ -n ${NS:-} ]] || ns_create
  k create -n "$NS" -f - >/dev/null 2>"$WORK/err" <<EOF || broken "creating the grader's pod $name: $(<"$WORK/err")"
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$name", "labels": {"app.kubernetes.io/managed-by": "kgrade"}},
 "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "client", "image": "$image", "command": ["sleep", "3600"],
   "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": false},
   "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}}]}}
EOF
  if ! wait_pod "$name" "$T_WAIT" Running '.status.phase == "Running"'; then
    [[ $WAIT_KIND == fail ]] && broken "the grader's pod $name did not start: $WAIT_MSG"
    broken "$WAIT_MSG"
  fi
}

# eventually WHAT PROBE: src/check/eventually.ts with timeouts.wait and 1 s between
# tries: PROBE sets PROBE_OK (1 when it holds) and PROBE_SEEN; it may fail at once.
eventually() {
  local what=$1 probe=$2 deadline tries=0
  deadline=$(( $(now_us) + T_WAIT * 1000000 ))
  while :; do
    tries=$((tries + 1)) PROBE_OK=0 PROBE_SEEN=''
    "$probe"
    [[ $PROBE_OK == 1 ]] && return 0
    (( $(now_us) + 1000000 > deadline )) && break
    sleep 1
  done
  fail "expected $what within $T_WAIT s ($tries tries); last seen: $PROBE_SEEN"
}

# the log of pod NAME eventually contains TEXT (steps/kube.steps.ts)
log_contains() {
  LOG_POD=$1 LOG_WANT=$2
  eventually "the log of pod $1 to contain \"$2\"" probe_log_contains
}
probe_log_contains() {
  pod_log "$LOG_POD"
  if grep -qF -- "$LOG_WANT" "$WORK/log"; then PROBE_OK=1; return; fi
  PROBE_SEEN=$(jqd -Rrs 'strip | if . == "" then "an empty log" else split("\n") | .[-5:] | join(" | ") end' <"$WORK/log")
}

# the log of pod NAME eventually has lines containing A | B | C in this order, ignoring
# case (steps/pod-log.steps.ts, src/check/lines.ts linesInOrder)
log_lines_in_order() {
  LOG_POD=$1 LOG_WANT=$2
  local wanted
  wanted=$(jq -Rrc 'split("|") | map(sub("\\A\\s+"; "") | sub("\\s+\\z"; "")) | map(select(. != ""))' <<<"$2")
  LOG_WANTED=$wanted
  eventually "the log of pod $1 to have lines with $(jq -r 'map("\"\(.)\"") | join(", ")' <<<"$wanted") in this order" probe_lines_in_order
}
probe_lines_in_order() {
  local r
  pod_log "$LOG_POD"
  r=$(jqd -Rrs --argjson wanted "$LOG_WANTED" '
    . as $log | split("\n") as $lines
    | (reduce $wanted[] as $w ({from: 0, matched: [], stop: false};
        if .stop then . else
          ($w | ascii_downcase) as $n
          | (first(range(.from; $lines | length) as $i | select($lines[$i] | ascii_downcase | contains($n)) | $i) // null) as $at
          | if $at == null then .stop = true else .matched += [$lines[$at] | strip] | .from = $at + 1 end
        end)) as $r
    | ($r.matched | length) as $found
    | if $found == ($wanted | length) then "ok"
      else ($log | strip | if . == "" then "an empty log" else split("\n") | .[-6:] | join(" | ") end) as $tail
        | "\(if $found > 0 then "found \($r.matched | map("\"\(.)\"") | join(", then ")), but " else "" end)no line with \"\($wanted[$found])\"\(if $found > 0 then " after it" else "" end); the log ends: \($tail)"
      end' <"$WORK/log")
  if [[ $r == ok ]]; then PROBE_OK=1; else PROBE_SEEN=$r; fi
}

# the log of pod NAME eventually shows SENT packets transmitted to TARGET and RECEIVED
# received (steps/pod-log.steps.ts, src/check/ping.ts)
log_pings() {
  PING_POD=$1 PING_SENT=$2 PING_TARGET=$3 PING_RECEIVED=$4
  local svc slices
  svc=$(k get service "$3" -n "$NS" -o json 2>"$WORK/err") || broken "reading the addresses of $NS/$3: $(<"$WORK/err")"
  slices=$(k get endpointslices -n "$NS" -l "kubernetes.io/service-name=$3" -o json 2>"$WORK/err") || broken "reading the addresses of $NS/$3: $(<"$WORK/err")"
  PING_ADDRESSES=$(jq -nc --argjson svc "$svc" --argjson sl "$slices" \
    '[($svc.spec.clusterIPs // [])[], ($sl.items[] | (.endpoints // [])[] | .addresses[])] | map(select(. != "" and . != "None")) | reduce .[] as $a ([]; if index([$a]) then . else . + [$a] end)')
  eventually "the log of pod $1 to show $2 packets transmitted to $3 and $4 received" probe_pings
}
probe_pings() {
  local r
  pod_log "$PING_POD"
  r=$(jqd -Rrs --arg service "$PING_TARGET" --arg ns "$NS" --argjson addresses "$PING_ADDRESSES" \
      --argjson sent "$PING_SENT" --argjson received "$PING_RECEIVED" '
    def ping_runs: (split("\n") | map(strip)) as $l
      | [ range(0; $l | length) as $i
          | $l[$i] | capture("^---\\s+(?<t>\\S+)\\s+ping statistics\\s+---$") | .t as $t
          | ([$l[$i + 1:][] | select(. != "")] | first) // ""
          | capture("^(?<tx>\\d+) packets transmitted, (?<rx>\\d+) (?:packets )?received")
          | {target: $t, transmitted: (.tx | tonumber), received: (.rx | tonumber)} ];
    def ping_errors: split("\n") | map(strip) | map(select(test("^ping: ")));
    def names_service: sub("\\.$"; "") | ascii_downcase | . as $t
      | ($addresses | index([$t]) != null) or $t == $service or $t == "\($service).\($ns)" or $t == "\($service).\($ns).svc"
        or startswith("\($service).\($ns).svc.");
    . as $log
    | ($log | strip | if . == "" then "an empty log" else split("\n") | .[-6:] | join(" | ") end) as $tail
    | ($log | ping_runs) as $runs
    | [$runs[] | select(.target | names_service)] as $mine
    | (first($mine[] | select(.transmitted == $sent and .received == $received)) // null) as $good
    | [$runs[] | select(.target | names_service | not)] as $others
    | ($log | ping_errors) as $errors
    | ([$mine[] | "to \(.target): \(.transmitted) transmitted, \(.received) received"]
       + [$others[] | "to \(.target) (not \($service)): \(.transmitted) transmitted, \(.received) received"]
       + $errors) as $seen
    | ($log | sub("\\s+\\z"; "") | split("\n") | last // "" | strip) as $last
    | ((($others | length) > 0 or ($errors | length) > 0) and $last != ""
       and ($last | test("^PING |bytes from|packets transmitted|round-trip|^ping:|bad address|^---") | not)) as $movedOn
    | if $good != null then "ok"
      else (if ($seen | length) > 0 then $seen | join("; ") else "no ping statistics; the log ends: \($tail)" end) as $s
        | if ($mine | length) > 0 or $movedOn then "settled\t\($s)" else "wait\t\($s)" end
      end' <"$WORK/log")
  case $r in
    ok) PROBE_OK=1 ;;
    settled$'\t'*) fail "expected pod $PING_POD to ping $PING_TARGET $PING_SENT times with $PING_RECEIVED answers; its log shows ${r#*$'\t'}" ;;
    *) PROBE_SEEN=${r#*$'\t'} ;;
  esac
}

# every image of pod NAME is pinned (steps/container-image.steps.ts, src/kube/image-ref.ts)
images_pinned() {
  local name=$1 c image named loose=()
  pod_read "$name"
  while IFS=$'\x1f' read -r c image; do
    named=${image%%@*}
    if [[ $image == *@* && -n ${image#*@} ]]; then continue; fi    # a digest: pinned
    # a colon after the last slash is a tag; one before it is a registry's port
    if [[ $named != *:* || ${named##*:} == */* ]]; then loose+=("container $c runs ${image:-(no image)}: it names no tag, which means latest")
    elif [[ ${named##*:} == latest ]]; then loose+=("container $c runs $image: its tag is latest, which moves with every release")
    fi
  done < <(jq -r '((.spec.initContainers // []) + (.spec.containers // []))[] | [.name, (.image // "")] | join("\u001f")' <<<"$POD")
  [[ ${#loose[@]} == 0 ]] || fail "pod $name: $(printf '%s; ' "${loose[@]}" | sed 's/; $//'); name a fixed version, e.g. busybox:1.36, or a digest"
}

# the init containers of pod NAME exit with code CODE (src/kube/init-containers.ts)
init_containers_exit() {
  local name=$1 code=$2 bad
  local defs="def init_statuses: .status.initContainerStatuses // [];
    def last_exit: .state.terminated // .lastState.terminated;
    def init_done: ((.spec.initContainers // []) | length) == 0 or ((init_statuses | length) > 0 and (init_statuses | all(.state.terminated.exitCode == $code)));
    def init_wrong: first(init_statuses[] | select(last_exit as \$t | \$t != null and \$t.exitCode != $code));"
  if ! wait_pod "$name" "$T_WAIT" "to have run its init containers to exit code $code" "$defs (init_done or ([init_wrong] | length > 0))" false; then
    "$WAIT_KIND" "$WAIT_MSG"
  fi
  jq -e '(.spec.initContainers // []) | length > 0' <<<"$POD" >/dev/null || fail "pod $name has no init containers (spec.initContainers is empty)"
  bad=$(jqd -r "$defs"' [init_wrong] | if length == 0 then "" else .[0] | (last_exit) as $t
      | [.name, "\($t.exitCode // "?")\(if ($t.reason // "") != "" then " (\($t.reason))" else "" end)", "\(if (.restartCount // 0) > 0 then ", restarted \(.restartCount) times" else "" end)"] | join("\u001f") end' <<<"$POD")
  if [[ -n $bad ]]; then
    local bname bcode brest log
    IFS=$'\x1f' read -r bname bcode brest <<<"$bad"
    log=''
    pod_log_quiet "$name" "$bname" && log=$(jqd -Rrs 'strip | split("\n") | .[-5:] | join(" | ")' <"$WORK/log")
    fail "init container $bname of pod $name exited with code $bcode, not $code$brest; its log: ${log:-(empty)}"
  fi
}

# pod NAME cannot write the file FILE in its emptyDir volumes (src/kube/volume-files.ts)
emptydir_file_not_writable() {
  local name=$1 file=$2 c mounts script m looked=() found=() writable=() root=0 uid kind path err
  pod_read "$name"
  local containers
  containers=$(jq -r '[(.spec.volumes // [])[] | select(.emptyDir != null) | .name] as $e
    | (.spec.containers // [])[] | [.name, ((.volumeMounts // []) | map(select(.name as $n | $e | index([$n]))) | map(.mountPath) | join("\u001f"))]
    | select(.[1] != "") | join("\u001e")' <<<"$POD")
  [[ -n $containers ]] || fail "no container of pod $name mounts an emptyDir volume"
  while IFS=$'\x1e' read -r c mounts; do
    local qm='' arr
    IFS=$'\x1f' read -ra arr <<<"$mounts"
    for m in "${arr[@]}"; do qm+="$(q "$m") "; done
    looked+=("$c: $(printf '%s, ' "${arr[@]}" | sed 's/, $//')")
    script='echo "uid	$(id -u)"'$'\n'"find ${qm% } -name $(q "$file") 2>/dev/null | while IFS= read -r f; do"$'\n''  if err=$( (: >> "$f") 2>&1 ); then printf "ok\t%s\n" "$f"; else printf "no\t%s\t%s\n" "$f" "$(echo "$err" | head -n 1)"; fi'$'\n''done'
    pod_exec "$name" "$c" "$script"
    [[ $TIMED_OUT == 0 ]] || broken "looking for $file in container $c of pod $name did not finish: $(describe_exec)"
    grep -q $'^uid\t' <<<"$OUT" || fail "cannot look into container $c of pod $name: $(describe_exec)"
    uid=$(awk -F'\t' '$1 == "uid" { print $2; exit }' <<<"$OUT"); uid=${uid:-?}
    while IFS=$'\t' read -r kind path err; do
      [[ ($kind == ok || $kind == no) && -n $path ]] || continue
      found+=("$path")
      if [[ $kind == ok ]]; then writable+=("$path in container $c (uid $uid)"); [[ $uid == 0 ]] && root=1; fi
    done <<<"$OUT"
  done <<<"$containers"
  if [[ ${#found[@]} == 0 ]]; then
    local l; l=$(printf '%s; ' "${looked[@]}")
    fail "no file $file in the emptyDir volumes of pod $name (looked in ${l%; })"
  fi
  if [[ ${#writable[@]} -gt 0 ]]; then
    local w; w=$(printf '%s, ' "${writable[@]}")
    fail "${w%, } can be opened for writing$([[ $root == 1 ]] && echo '; the container runs as root, and root writes a file whatever its mode: chmod alone does not stop it')"
  fi
}

# job NAME completes within SECONDS (src/kube/jobs.ts waitForJobComplete)
job_completes() {
  local name=$1 t=$2 last verdict counts uid pods parts failed_pod log
  if watch_objects jobs "$name" "$t" '
      def cond($t): any(.status.conditions[]?; .type == $t and .status == "True");
      foreach inputs as $e (null; $e.object;
        (if cond("Complete") then "ok" elif cond("Failed") then "failed" else "no" end) + "\t" + tojson)'; then
    [[ $WATCH_VERDICT == ok ]] && return 0
  fi
  last=$WATCH
  if [[ -z $last ]]; then
    k get job "$name" -n "$NS" -o name >/dev/null 2>"$WORK/err" \
      || { grep -q '(NotFound)' "$WORK/err" && fail "there is no Job $name in the submission's namespace"; broken "reading job $NS/$name: $(<"$WORK/err")"; }
    last=null
  fi
  verdict=$(jq -r --arg t "$t" 'first(.status.conditions[]? | select(.type == "Failed" and .status == "True")) as $f
    | if $f then "it failed (\($f.reason // ""): \($f.message // ""))" else "not within \($t) s" end' <<<"$last")
  [[ -n $verdict ]] || verdict="not within $t s"
  counts=$(jq -r 'if . == null then "no such Job" else .status | "\(.active // 0) active, \(.succeeded // 0) succeeded, \(.failed // 0) failed" end' <<<"$last")
  uid=$(jq -r '.metadata.uid // ""' <<<"$last")
  parts=''
  if [[ -n $uid ]]; then
    pods=$(k get pods -n "$NS" -l "batch.kubernetes.io/controller-uid=$uid" -o json 2>/dev/null) || pods='{"items": []}'
    parts=$(jqd -r 'if (.items | length) == 0 then "; no pods" else "; pods: " + ([.items[] | "\(.metadata.name // "?"): \(pod_state)"] | join("; ")) end' <<<"$pods")
    failed_pod=$(jq -r '[.items[] | select(.status.phase == "Failed")] | last | .metadata.name // ""' <<<"$pods")
    if [[ -n $failed_pod ]] && pod_log_quiet "$failed_pod"; then
      log=$(jqd -Rrs 'strip | split("\n") | .[-5:] | join(" | ")' <"$WORK/log")
      [[ -n $log ]] && parts+="; log of $failed_pod: $log"
    fi
  fi
  fail "expected Job $name to complete: $verdict; last seen: $counts$parts"
}

# --- the scenarios -----------------------------------------------------------------

# busybox.feature (@course)
busybox_list() {
  client_pod_running toolbox
  pod_exec toolbox '' 'busybox --list'
  check_succeeds
  check_words 'ls cat echo grep wget ping telnet nslookup'
}

ls_is_busybox() {
  local file=/bin/ls program=/bin/busybox f p link resolved target inodes bytes
  client_pod_running toolbox
  f=$(q "$file") p=$(q "$program")
  pod_exec toolbox '' "echo \"link=\$(readlink $f 2>/dev/null)\"
echo \"resolved=\$(readlink -f $f 2>/dev/null)\"
echo \"program=\$(readlink -f $p 2>/dev/null)\"
echo \"inodes=\$(stat -L -c '%d:%i' $f $p 2>/dev/null | tr '\\n' ' ')\"
if cmp -s $f $p; then echo bytes=same; else echo bytes=differ; fi"
  [[ $TIMED_OUT == 0 ]] || broken "comparing $file with $program in pod toolbox did not finish: $(describe_exec)"
  field() { local l; l=$(grep -m1 "^$1=" <<<"$OUT") || { echo; return; }; l=${l#*=}; l=${l#"${l%%[![:space:]]*}"}; echo "${l%"${l##*[![:space:]]}"}"; }
  link=$(field link) resolved=$(field resolved) target=$(field program) bytes=$(field bytes)
  read -ra inodes <<<"$(field inodes)"
  [[ -n $link && -n $resolved && $resolved == "$target" ]] && return 0
  [[ ${#inodes[@]} == 2 && ${inodes[0]} == "${inodes[1]}" ]] && return 0
  [[ $bytes == same ]] && return 0
  fail "in pod toolbox, $file is not $program: $([[ -n $link ]] && echo "$file links to $link (${resolved:-unresolved})" || echo "$file is not a symbolic link"); $([[ ${#inodes[@]} == 2 ]] && echo "inodes ${inodes[0]} and ${inodes[1]}" || echo "inodes not readable (${inodes[*]:-stat printed nothing})"); contents ${bytes:-not compared}"
}

image_under_5mb() {
  local limit=5 info image_id image node arch row ref digest shown manifest mine bytes unpacked='' over source
  client_pod_running toolbox
  pod_read toolbox
  mapfile -t info < <(jq -r '.status.containerStatuses[0].imageID // "", .status.containerStatuses[0].image // "", .spec.nodeName // ""' <<<"$POD")
  image_id=${info[0]} image=${info[1]} node=${info[2]}
  [[ -n $image_id && -n $node ]] || fail "pod toolbox has not started its container yet ($(jqd -r pod_state <<<"$POD"))"
  arch=$(k get node "$node" -o jsonpath='{.status.nodeInfo.architecture}' 2>"$WORK/err") || broken "reading node $node: $(<"$WORK/err")"
  arch=${arch:-amd64}
  on_node "$node" 'ctr -n k8s.io images ls'
  if [[ $RC == 127 ]]; then   # no ctr: the sizes the kubelet reports
    bytes=$(k get node "$node" -o json 2>/dev/null | jq -r --arg a "$image_id" --arg b "$image" \
      'first(.status.images[]? | select(.names // [] | index([$a]) or index([$b]))) | .sizeBytes // empty')
    [[ -n $bytes && $bytes != 0 ]] || broken "node $node has no ctr, and its status lists none of $image_id, $image with a size"
    source="the container runtime of node $node as the kubelet reports it (no ctr on the node)"
  else
    [[ $RC == 0 ]] || broken "ctr images ls on node $node: exited $RC: $ERR"
    row=$(awk -v a="$image_id" -v b="$image" '$1 == a && ra == "" { ra = $1 " " $3 } $1 == b && rb == "" { rb = $1 " " $3 } END { print (ra != "" ? ra : rb) }' <<<"$OUT")
    ref=${row%% *} digest=${row#* }
    [[ -n $ref && $digest == sha256:* ]] || broken "containerd on node $node holds none of $image_id, $image (ctr images ls)"
    content_json() {   # MANIFEST: the JSON of blob $1
      on_node "$node" "ctr -n k8s.io content get $(q "$1")"
      [[ $RC == 0 ]] || broken "ctr content get $1 on node $node: exited $RC: $ERR"
      MANIFEST=$(jq -ce . <<<"$OUT" 2>/dev/null) || broken "ctr content get $1 on node $node printed no JSON manifest: ${OUT:0:200}"
    }
    content_json "$digest"; manifest=$MANIFEST
    if [[ $ref == *"$digest" ]]; then shown=$ref; else shown="$ref (manifest $digest)"; fi
    if jq -e '.manifests' <<<"$manifest" >/dev/null; then
      mine=$(jq -r --arg a "$arch" '(first(.manifests[] | select(.platform.os == "linux" and .platform.architecture == $a)) // .manifests[0]) | .digest // ""' <<<"$manifest")
      [[ -n $mine ]] || broken "the image index $digest on node $node lists no manifest for linux/$arch"
      content_json "$mine"; manifest=$MANIFEST
      shown="$ref (linux/$arch manifest $mine)"
    fi
    bytes=$(jq -r 'if (.config.size // 0) == 0 or .layers == null then "" else reduce .layers[] as $l (.config.size; . + ($l.size // 0)) end' <<<"$manifest")
    [[ -n $bytes ]] || broken "the manifest of $ref on node $node has no config or layers"
    on_node "$node" "ctr -n k8s.io images usage --snapshotter overlayfs $(q "$ref")"
    if [[ $RC == 0 ]]; then
      unpacked=$(jq -Rrs '
        {"B": 1, "KiB": 1024, "MiB": 1048576, "GiB": 1073741824, "kB": 1000, "KB": 1000, "MB": 1000000, "GB": 1000000000} as $u
        | def size: capture("^(?<n>\\d+(?:\\.\\d+)?)\\s*(?<u>[A-Za-z]+)$") as $m | if $u[$m.u] then ($m.n | tonumber) * $u[$m.u] else null end;
        [split("\n")[1:][] | sub("\\A\\s+"; "") | sub("\\s+\\z"; "") | capture("^\\S+\\s+(?<s>\\d+(?:\\.\\d+)?\\s*[A-Za-z]+)\\s+\\d+\\s*$") | .s | ([size] | first // null)] as $s
        | if ($s | length) == 0 or any($s[]; . == null) then "" else ($s | add) end' <<<"$OUT")
    fi
    source="containerd on node $node: $shown"
    [[ -n $unpacked ]] || source+='; unpacked size not reported by ctr images usage'
  fi
  over=$(awk -v a="$bytes" -v b="$unpacked" -v l="$limit" 'BEGIN { m = -1; if (a >= l * 1e6) m = a; if (b != "" && b >= l * 1e6 && b > m) m = b; if (m >= 0) printf "%.2f MB (%s bytes)", m / 1e6, m }')
  [[ -z $over ]] || fail "the image of pod toolbox ($image) is $over, not under $limit MB; read from $source"
}

# debug-pod.feature
pod_pinned() {
  submission_applied busybox-debug.yaml
  steady_pod busybox-debug-pod "$T_STEADY"
  images_pinned busybox-debug-pod
}

pings_ping_target() {
  fixtures_running fixtures/ping-target.yaml
  submission_applied busybox-debug.yaml
  steady_pod busybox-debug-pod "$T_STEADY"
  log_pings busybox-debug-pod 3 ping-target 3
}

log_lines() {
  fixtures_running fixtures/ping-target.yaml
  submission_applied busybox-debug.yaml
  steady_pod busybox-debug-pod "$T_STEADY"
  log_lines_in_order busybox-debug-pod 'Pinging | ping statistics | sleeping'
}

exec_ls() {
  submission_applied busybox-debug.yaml
  steady_pod busybox-debug-pod "$T_STEADY"
  pod_exec busybox-debug-pod '' 'ls /'
  check_succeeds
  check_words 'bin etc proc'
}

nslookup_web() {
  local ip
  fixtures_running fixtures/web.yaml
  ip=$(k get service web -n "$NS" -o jsonpath='{.spec.clusterIP}' 2>"$WORK/err") || broken "reading service $NS/web: $(<"$WORK/err")"
  [[ -n $ip && $ip != None ]] || broken "service $NS/web has no cluster IP"
  submission_applied busybox-debug.yaml
  steady_pod busybox-debug-pod "$T_STEADY"
  pod_exec busybox-debug-pod '' "nslookup web.$NS.svc.cluster.local"
  check_output_contains "$ip"
}

wget_web() {
  fixtures_running fixtures/web.yaml
  submission_applied busybox-debug.yaml
  steady_pod busybox-debug-pod "$T_STEADY"
  pod_exec busybox-debug-pod '' "wget -q -O - http://web.$NS.svc.cluster.local/"
  check_succeeds
  check_output_contains kgrade-web-7c2e
}

# init-demo.feature (each after the background)
init_demo_background() {
  fixtures_running fixtures/config-server.yaml
  submission_applied init-demo.yaml
}

init_exit_0() {
  init_demo_background
  init_containers_exit init-demo 0
}

main_log_has_config() {
  init_demo_background
  steady_pod init-demo "$T_STEADY"
  log_contains init-demo app.marker=kgrade-config-3f9a
}

main_cannot_write_config() {
  init_demo_background
  steady_pod init-demo "$T_STEADY"
  emptydir_file_not_writable init-demo config.txt
}

# job.feature
job_succeeds() {
  submission_applied job.yaml
  job_completes busybox-job "$T_JOB"
}

scenario "busybox --list에 ls, cat, echo, grep, wget, ping, telnet, nslookup이 있다" busybox_list
scenario "이미지 안의 /bin/ls는 busybox 바로 그 실행 파일이다" ls_is_busybox
scenario "busybox 이미지는 5 MB보다 작다" image_under_5mb
scenario "busybox-debug-pod가 버전이 고정된 busybox 이미지로 실행된다" pod_pinned
scenario "ping-target에 ping을 3번 보내고 응답 3개를 받는다" pings_ping_target
scenario "로그에 머리말, ping 결과, 잠든다는 줄이 차례로 나온다" log_lines
scenario "kubectl exec로 busybox-debug-pod 안에서 ls /를 실행할 수 있다" exec_ls
scenario "busybox-debug-pod 안에서 nslookup으로 web 서비스를 찾는다" nslookup_web
scenario "busybox-debug-pod 안에서 wget으로 web 서비스의 페이지를 받는다" wget_web
scenario "init 컨테이너가 종료 코드 0으로 끝난다" init_exit_0
scenario "메인 컨테이너의 로그에 config.txt의 내용이 나온다" main_log_has_config
scenario "메인 컨테이너는 config.txt에 쓸 수 없다" main_cannot_write_config
scenario "busybox-job이 60초 안에 성공으로 끝난다" job_succeeds

finish
