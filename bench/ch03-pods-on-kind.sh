#!/usr/bin/env bash
# bench/ch03-pods-on-kind.sh SUBMISSION_DIR — labs/ch03-pods-on-kind graded by hand
# with kubectl, jq and `docker exec` on the kind node, against the running cluster:
# the 16 scenarios of features/*.feature in file order, each the way kgrade's steps
# do it (steps/*.steps.ts over src/kube/*.ts), with the same assertions, accepted
# forms, thresholds and deadlines. Exit 0 when every scenario passes, 1 when one
# fails, 2 on a usage problem, 3 when one could not be checked (the grader's error,
# as `kgrade check`) or the cluster cannot be reached.
#
# What each scenario does, as kgrade does it:
#   control-plane.feature (@course)
#   - kube-system runs ...: every 2 s for up to 60 s, one listing of kube-system's
#     pods, DaemonSets and Deployments: etcd, kube-apiserver, kube-scheduler,
#     kube-controller-manager (label component=X or name X-*) each with a Ready pod;
#     Deployment coredns (or one selecting k8s-app=kube-dns) with all spec.replicas
#     of its k8s-app=kube-dns pods Ready and not terminating; DaemonSet kube-proxy
#     and a CNI DaemonSet (one mounting hostPath /etc/cni or /opt/cni) with every
#     pod Ready. Then every node's Ready condition is True.
#   - the node has what a kubelet needs: on every node, one exec each: no line in
#     /proc/swaps, or failSwapOn: false and swapBehavior unset or NoSwap in
#     /var/lib/kubelet/config.yaml; `command -v` of iptables mount nsenter unshare
#     socat ps; `systemctl is-active kubelet` is active and the unit's MainPID's comm
#     is kubelet.
#   - etcd's log: for each running container of each component=etcd pod, the node
#     has a non-empty /var/log/containers/<pod>_kube-system_<container>-<id>.log.
#   greedy.feature
#   - Burstable: greedy-pod.yaml created as the namespace's ServiceAccount; the pod
#     Running with every container up within 60 s (a watch, see below); status.qosClass
#     is Burstable; a container's resources.requests.memory is exactly 100Mi in bytes
#     (Kubernetes quantities: 104857600, 102400Ki and 100Mi are all the same).
#   - cgroup: the same pod up; per running container, one exec on its node: the task's
#     PID from `ctr -n k8s.io task ls`, the memory hierarchy (v1 memory controller, else
#     v2) from /proc/self/mounts, the PID's memory cgroup from /proc/PID/cgroup (checked
#     to be the pod's and the container's, systemd or cgroupfs layout; looked up by
#     container id when that path is not there), and its memory.limit_in_bytes (v1) or
#     memory.max (v2): some container at exactly 209715200 bytes.
#   kube-proxy.feature
#   - spreads (@course): every 2 s for up to 60 s: the ready IPv4 endpoints of port
#     dns-tcp of kube-system/kube-dns from its EndpointSlices; on every node one exec
#     of iptables-nft-save and iptables-legacy-save -t nat; in the dump that holds the
#     port's chain (most KUBE- chains first) the KUBE-SVC chain is the target of the
#     KUBE-SERVICES rule commented "kube-system/kube-dns:dns-tcp cluster IP" (else the
#     one KUBE-SVC chain whose rules carry the port's comment), never a hashed name;
#     its KUBE-SEP jumps' DNAT --to-destination must be exactly the endpoints (as
#     ip:port, no duplicates) and the statistic probabilities must give each jump
#     1/n of the connections (within 1e-4).
#   - resolves: pod.yaml applied, core-k8s up; every 2 s for up to 30 s, `nslookup
#     kubernetes.default.svc.cluster.local` in the pod (30 s each): an Address after
#     the first Name: line is service default/kubernetes's cluster IP.
#   - follows CoreDNS (@course @serial): the "spreads" check; then deployment coredns
#     at full strength (up to 60 s: all spec.replicas pods Ready, none terminating,
#     status readyReplicas and updatedReplicas at spec.replicas), its first Ready pod
#     by name deleted (with its grace period); within 60 s the ready endpoints have
#     replicas entries without that pod and every node's rules match them as above (no
#     replacement in time is the grader's error); then full strength within 120 s.
#     Whatever failed, the function waits (120 s at most) until coredns is at full
#     strength again before the script goes on, as kgrade's After hook.
#   pod-on-node.feature (pod.yaml applied, core-k8s up within 60 s first, each)
#   - own IP: status.podIP and hostIP set; podIP is not hostIP, lies in the node's
#     spec.podCIDRs (or podCIDR), and hostIP is the node's InternalIP; then `ip a` in
#     the pod shows eth0 holding podIP as an inet address.
#   - process: before the apply, `ps -e -o pid=` on every node; after, on the pod's
#     node, one exec: `ps -e -o pid=` again and the containers' PIDs (ctr task ls):
#     each main PID must be among the new ones.
#   - resolv.conf: the pod's /proc/self/mountinfo has /etc/resolv.conf as a mount
#     point; its /etc/resolv.conf's first nameserver is kube-system/kube-dns's cluster
#     IP; on the node, `ctr containers info` of its first running container gives the
#     mount source of /etc/resolv.conf, which must be in the pod's sandbox folder and
#     under /var/lib/containerd/ (else the grader's error), and `stat -L -c '%d %i'` of
#     it on the node equals the same in the pod.
#   - veth: every Running pod of the namespace with an IP: on its node `ip route show`
#     and `ip -d -o link show`: the most specific route for the pod's IP has a dev that
#     is a veth; then /sys/class/net/eth0/iflink read in the pod.
#   pod.feature
#   - creates: pod.yaml applied, core-k8s up within 60 s.
#   - labels: pod.yaml applied; labels role=just-an-example, app=my-example-app,
#     organization=friends-of-manning and a creator label of any value (no wait).
#   - busybox: pod.yaml applied; an image whose repository (no registry, tag, digest)
#     is busybox; up within 60 s; per running container one exec on the node: its PID
#     (ctr task ls), the PID's descendants (ps -e -o pid=,ppid=) and their
#     /proc/PID/cmdline: one argv is exactly ["sleep","10000"], argv[0] by base name.
#   - port: pod.yaml applied; some container port 80, protocol TCP (the default),
#     named webapp-port (no wait).
#
# "Running with every container up within N s" (steps/pod-node.steps.ts): a watch
# (`kubectl get -w`) until phase Running with every container running; it stops at
# once when the pod can no longer get there (Succeeded, Failed, a container in
# CrashLoopBackOff, RunContainerError, Create*Error, StartError, or restarted) or
# its image does not exist (ErrImagePull/ImagePullBackOff saying not found, or
# InvalidImageName); a pull the registry did not answer is the grader's error.
# Then 3 s later the pod is read again: still up, no restart, the same container
# ids; a failure quotes the last lines the crashed container printed.
#
# Known differences from kgrade:
#   - kgrade runs the @serial scenario after all the others; here it keeps its
#     place in the file order (kube-proxy.feature, before pod-on-node.feature).
#   - kubectl exec runs in the pod's default container (its kubectl.kubernetes.io/
#     default-container annotation, else the first); kgrade always takes the first.
#   - Several node reads kgrade makes as separate execs are one `docker exec` here
#     (ctr + /proc + cgroup file; ctr containers info + stat; ps + ctr).
#   - A failure message quotes what was seen like kgrade's, but not word for word.
#
# The shared part (namespace, scenario/finish, env) is bench/cluster-lib.sh.
set -uo pipefail
LAB=ch03-pods-on-kind
T_COMMAND=30       # labs/ch03-pods-on-kind/lab.yaml timeouts.command
T_WAIT=60          # labs/ch03-pods-on-kind/lab.yaml timeouts.wait
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

# --- jq: the pod's state, as src/kube/pods.ts and steps/pod-node.steps.ts read it --

JQ_DEFS='
def statuses: (.status.initContainerStatuses // []) + (.status.containerStatuses // []);
def trim: sub("^\\s+"; "") | sub("\\s+$"; "");
def podstate:
  if . == null then "the pod does not exist" else
  ( ["phase \(.status.phase // "unknown")"]
    + [ first(.status.conditions[]? | select(.type == "PodScheduled" and .status != "True"))
        | "not scheduled: \(.reason // "") \(.message // "")" | trim ]
    + [ statuses[]
        | if .state.waiting then "\(.name) waiting: \(.state.waiting.reason // "")\(if .state.waiting.message then " (\(.state.waiting.message))" else "" end)"
          elif .state.terminated then "\(.name) terminated: \(.state.terminated.reason // "") exit \(.state.terminated.exitCode)"
          elif .state.running then "\(.name) running\(if .ready then ", ready" else "" end)"
          else empty end ]
  ) | join("; ") end;
def up: .status.phase == "Running" and ((.status.containerStatuses // []) as $s | ($s | length) > 0 and ($s | all(.state.running != null)));
def crashing($r): ["CrashLoopBackOff", "RunContainerError", "CreateContainerError", "CreateContainerConfigError", "StartError"] | any(.[]; . == $r);
def hopeless: .status.phase == "Succeeded" or .status.phase == "Failed"
  or any((.status.containerStatuses // [])[]; crashing(.state.waiting.reason // "") or crashing(.state.terminated.reason // "") or ((.restartCount // 0) > 0));
def restarts: [(.status.containerStatuses // [])[] | "\(.name):\(.restartCount):\(.containerID // "")"] | join(",");
def pullmemory($prev): reduce (statuses[] | select(.state.waiting.reason == "ErrImagePull" and (.state.waiting.message // "") != "")) as $c ($prev; .[$c.name] = $c.state.waiting.message);
def pullproblem($prev):
  first( statuses[]
    | select(.state.waiting.reason as $r | ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"] | any(.[]; . == $r))
    | .state.waiting as $w | ($w.message // "") as $own
    | (if $w.reason == "ErrImagePull" then $own else ($prev[.name] // $own) end) as $detail
    | {container: .name, image: .image, detail: ("\($w.reason): \($detail)" | trim)}
      + (if $w.reason == "InvalidImageName" or $w.reason == "ErrImageNeverPull" then {blame: "submission"}
         elif ($detail | test("not found|NotFound|manifest unknown|name unknown|repository does not exist"; "i")) then {blame: "submission"}
         elif $detail != "" and ($detail | startswith("Back-off pulling image") | not) then {blame: "grader"}
         else empty end) ) // null;
def qbytes:
  ((trim | ltrimstr("+") | capture("^(?<n>-?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+))(?:(?<e>[eE][+-]?[0-9]+)|(?<s>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?)$"))? // null) as $m
  | if $m == null then null
    elif $m.e != null then ($m.n | tonumber) * pow(10; $m.e[1:] | tonumber)
    else ($m.n | tonumber) * ({"Ki": 1024, "Mi": 1048576, "Gi": 1073741824, "Ti": 1099511627776, "Pi": 1125899906842624, "Ei": 1152921504606846976,
                              "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "m": 1e-3}[$m.s // ""]) end;
def ready_pod: .status.phase == "Running" and any(.status.conditions[]?; .type == "Ready" and .status == "True");
'

# --- small helpers -----------------------------------------------------------------

now_us() { local t=$EPOCHREALTIME; echo $(( 10#${t/[.,]/} )); }
us_to_s() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
timed_out() { [[ $1 == 124 || $1 == 137 ]]; }

# on_node NODE SCRIPT: bash -c SCRIPT on a kind node (nodes are containers named like
# the node), `timeout -k 3 T_COMMAND` inside, as src/env/container-node.ts; OUT ERR RC.
on_node() {
  OUT=$($DOCKER exec "$1" timeout -k 3 "$T_COMMAND" bash -c "$2" 2>"$WORK/err")
  RC=$?
  ERR=$(<"$WORK/err")
  local gone='OCI runtime exec failed|executable file not found|No such container|is not running'
  if [[ ($RC == 1 && $ERR == "Error response from daemon"*) || (($RC == 126 || $RC == 127) && $ERR =~ $gone) ]]; then
    broken "node $1 cannot run commands: $ERR"
  fi
  return 0
}

# node_ok NODE SCRIPT DOING: on_node; a timeout or non-zero exit is the grader's error (src/kube/pod-node.ts nodeRun).
node_ok() {
  on_node "$1" "$2"
  if timed_out "$RC" || [[ $RC != 0 ]]; then
    local why=${ERR:-$OUT}
    broken "$3 on node $1 failed (exit $RC$(timed_out "$RC" && echo ', timed out')): $(trim400 "$why")"
  fi
}
trim400() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; s=${s%"${s##*[![:space:]]}"}; printf '%s' "${s:0:400}"; }

node_names() {
  NODES=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' 2>"$WORK/err") || broken "listing nodes: $(<"$WORK/err")"
  [[ -n $NODES ]] || broken "the cluster has no nodes"
}

# pod_read NAME: POD (its JSON) from the scenario's namespace; none is the submission's failure.
pod_read() {
  POD=$(k get pod "$1" -n "$NS" -o json 2>"$WORK/err") && return 0
  grep -q NotFound "$WORK/err" && fail "there is no pod $1 in the submission's namespace"
  broken "reading pod $NS/$1: $(<"$WORK/err")"
}
pod_state() { jq -r "$JQ_DEFS podstate" <<<"$POD"; }

# node_of_pod: NODE from POD's spec.nodeName.
node_of_pod() {
  NODE=$(jq -r '.spec.nodeName // ""' <<<"$POD")
  [[ -n $NODE ]] || fail "pod $(jq -r .metadata.name <<<"$POD") is not on any node yet ($(pod_state))"
}

# running_containers: CNAMES and CIDS of POD's running containers (src/kube/pod-node.ts runningContainers).
running_containers() {
  local name id
  CNAMES=() CIDS=()
  while IFS=$'\t' read -r name id; do
    [[ -n $name ]] || continue
    [[ $id == containerd://?* ]] || broken "container $name of pod $(jq -r .metadata.name <<<"$POD") runs on ${id%%://*}; these checks read containerd with ctr"
    CNAMES+=("$name") CIDS+=("${id#containerd://}")
  done < <(jq -r '.status.containerStatuses[]? | select(.state.running != null and (.containerID // "") != "") | "\(.name)\t\(.containerID)"' <<<"$POD")
  [[ ${#CIDS[@]} -gt 0 ]] || fail "pod $(jq -r .metadata.name <<<"$POD") has no running container ($(pod_state))"
}

# in_pod POD ARGV...: runs ARGV in the pod (src/kube/pods.ts execInPod, steps/pod-node.steps.ts
# inPod): OUT; a timeout is the grader's error, a non-zero exit the submission's failure.
pod_exec() {
  local pod=$1; shift
  OUT=$(timeout -k 3 "$T_COMMAND" "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" exec -n "$NS" "$pod" -- "$@" 2>"$WORK/err")
  RC=$?
  ERR=$(grep -v '^command terminated with exit code' "$WORK/err")
  if ! timed_out "$RC" && [[ $RC != 0 ]] && ! grep -q '^command terminated with exit code' "$WORK/err"; then
    # the exec itself failed: a 4xx is the submission's (no such pod or container), else the grader's
    if [[ $ERR =~ ^Error\ from\ server\ \((NotFound|BadRequest|Forbidden)\) ]]; then fail "cannot exec in pod $pod: $ERR"; fi
    broken "exec in pod $NS/$pod: $ERR"
  fi
}
in_pod() {
  local pod=$1; shift
  pod_exec "$pod" "$@"
  timed_out "$RC" && broken "$* in pod $pod did not finish within $T_COMMAND s"
  if [[ $RC != 0 ]]; then local why=${ERR:-$OUT}; why=$(trim400 "$why"); fail "$* in pod $pod exited $RC: ${why:0:300}"; fi
}

# Polls PROBE (a function setting PROBE_OK=1 and PROBE_SEEN) every INTERVAL s until it
# holds or TIMEOUT s passed (src/check/eventually.ts); then fails with what it saw
# (BLAME submission: fail, grader: broken, else a function given the message).
# A probe that fails stops at once.
eventually() {
  local what=$1 timeout_s=$2 interval=$3 probe=$4 blame=${5:-submission} deadline tries=0
  deadline=$(( $(now_us) + timeout_s * 1000000 ))
  while :; do
    tries=$((tries + 1))
    PROBE_OK=0 PROBE_SEEN=''
    "$probe"
    [[ $PROBE_OK == 1 ]] && return 0
    (( $(now_us) + interval * 1000000 > deadline )) && break
    sleep "$interval"
  done
  local msg="expected $what within $timeout_s s ($tries tries); last seen: $PROBE_SEEN"
  [[ $blame == grader ]] && broken "$msg"
  [[ $blame != submission ]] && "$blame" "$msg"
  fail "$msg"
}

# --- Then pod NAME is Running with every container up within N seconds -------------

# watch_pod NAME SECONDS: a watch on the pod until it is up, hopeless, or the deadline;
# W_OUTCOME ok|hopeless|timeout, W_LAST (the last verdict's JSON: state, phase, pull).
watch_pod() {
  local name=$1 deadline line fd kpid fifo=$WORK/watch
  deadline=$(( $(now_us) + $2 * 1000000 ))
  W_OUTCOME=timeout W_LAST=''
  while [[ $W_OUTCOME == timeout ]] && (( $(now_us) < deadline )); do
    rm -f "$fifo"; mkfifo "$fifo"
    "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" get pod "$name" -n "$NS" -w -o json >"$fifo" 2>"$WORK/watch.err" &
    kpid=$!
    exec {fd}< <(jq -rn --unbuffered "$JQ_DEFS"'
      foreach inputs as $p ({prev: {}}; .prev as $m | .prev = ($p | pullmemory($m)) | .p = $p;
        .prev as $m | (.p | pullproblem($m)) as $pull
        | "\(if (.p | up) then "ok" elif (.p | hopeless) or $pull.blame == "submission" then "hopeless" else "wait" end)\t\({state: (.p | podstate), phase: .p.status.phase, pull: $pull, sig: (.p | restarts)} | tojson)")' <"$fifo")
    while :; do
      local left=$(( deadline - $(now_us) ))
      (( left > 0 )) || break
      IFS= read -r -t "$(us_to_s "$left")" -u "$fd" line || break
      W_LAST=${line#*$'\t'}
      case ${line%%$'\t'*} in
        ok) W_OUTCOME=ok; break ;;
        hopeless) W_OUTCOME=hopeless; break ;;
      esac
    done
    kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
    exec {fd}<&-
    # the watch ended early (an API hiccup): start another until the deadline, as kgrade does
    [[ $W_OUTCOME == timeout ]] && (( $(now_us) < deadline )) && sleep 1
  done
  rm -f "$fifo"
}

# The events about NAME, oldest first (src/kube/pods.ts eventsOf/describeEvents): EVENTS_JSON, EVENTS.
pod_events() {
  EVENTS_JSON=$(k get events -n "$NS" --field-selector "involvedObject.name=$1" -o json 2>/dev/null \
    | jq -c 'def et: (.lastTimestamp // .eventTime // .firstTimestamp) as $t | if $t == null then 0 else ($t[0:19] + "Z" | fromdateiso8601) end;
             [.items[]? | . + {t: et}] | sort_by(.t)' 2>/dev/null)
  [[ -n $EVENTS_JSON ]] || EVENTS_JSON='[]'
  EVENTS=$(jq -r '.[-5:] | map("\(.type // "") \(.reason // ""): \(.message // "")" | sub("^\\s+"; "") | sub("\\s+$"; "")) | join(" | ")' <<<"$EVENTS_JSON")
}

# The last lines crashed containers printed (steps/pod-node.steps.ts crashLog), from POD.
crash_log() {
  local name c terminated log parts=''
  name=$(jq -r '.metadata.name // ""' <<<"$POD" 2>/dev/null) || return 0
  [[ -n $name ]] || return 0
  while IFS=$'\t' read -r c terminated; do
    [[ -n $c ]] || continue
    if [[ $terminated == true ]]; then
      log=$(k logs "$name" -n "$NS" -c "$c" --tail=4 2>/dev/null)
    else
      log=$(k logs "$name" -n "$NS" -c "$c" --previous --tail=4 2>/dev/null)
    fi
    log=$(sed -e '/^[[:space:]]*$/d' <<<"$log" | tail -n 4 | paste -sd '|' | sed 's/|/ | /g')
    [[ -n $log ]] && parts+="; container $c printed: ${log:0:300}"
  done < <(jq -r '.status.containerStatuses[]? | select((.restartCount // 0) > 0 or .state.terminated != null or .lastState.terminated != null) | "\(.name)\t\(.state.terminated != null)"' <<<"$POD")
  printf '%s' "$parts"
}

pod_up() {
  local name=$1 t=$2 state phase pull_blame pull_image pull_detail before
  watch_pod "$name" "$t"
  if [[ $W_OUTCOME != ok ]]; then
    pod_events "$name"
    phase=$(jq -r '.phase // ""' <<<"${W_LAST:-null}")
    state=$(jq -r '.state // "the pod does not exist"' <<<"${W_LAST:-null}")
    IFS=$'\t' read -r pull_blame pull_image pull_detail < <(jq -r '.pull // {} | "\(.blame // "")\t\(.image // "")\t\(.detail // "")"' <<<"${W_LAST:-null}")
    if [[ $W_OUTCOME == timeout && $phase == Pending ]]; then
      local pulling
      pulling=$(jq -r '(map(select(.reason == "Pulling")) | last) as $p | if $p == null then empty
                       elif any(.[]; (.reason == "Pulled" or .reason == "Failed" or .reason == "BackOff") and .t >= $p.t) then empty
                       else (($p.message // "") | capture("image \"(?<i>[^\"]+)\"").i // "its image") end' <<<"$EVENTS_JSON")
      [[ -n $pulling ]] && broken "pod $name: pulling $pulling had not finished after $t s: the image registry did not answer; this is the grading cluster's fault, not the submission's (events: $EVENTS)"
    fi
    [[ $pull_blame == grader ]] && broken "pod $name could not pull $pull_image: the image registry did not answer ($pull_detail); this is the grading cluster's fault, not the submission's"
    POD=$(k get pod "$name" -n "$NS" -o json 2>/dev/null) || POD=''
    if [[ $pull_blame == submission ]]; then
      fail "expected pod $name to be Running with every container up: its image $pull_image cannot be pulled, it does not exist ($pull_detail); check the image's name and tag$(crash_log)"
    fi
    local verdict="not within $t s"
    [[ $W_OUTCOME == hopeless ]] && verdict='it can no longer get there'
    fail "expected pod $name to be Running with every container up: $verdict; last seen: $state${EVENTS:+; events: $EVENTS}$(crash_log)"
  fi
  # A container that exits at once is "running" for an instant: look again a moment later.
  before=$(jq -r '.sig' <<<"$W_LAST")
  sleep 3
  pod_read "$name"
  if [[ $(jq -r "$JQ_DEFS up" <<<"$POD") != true || $(jq -r "$JQ_DEFS restarts" <<<"$POD") != "$before" ]]; then
    fail "pod $name started, but its container did not stay up: $(pod_state)$(crash_log); a container's command must keep running (sleep 10000), not exit"
  fi
}

# --- kube-proxy's rules, read from iptables-save by their comments -------------------

# How a nat dump (several iptables-save runs, each headed "### variant") sends SP to its
# KUBE-SEP chains (src/kube/kube-proxy.ts pickDump/serviceRouting/compareTargets/
# spreadProblems). EPS: the endpoints "ip:port ...". Prints "OK|BAD<TAB>line" or
# "NONE<TAB>what each variant holds".
IPTABLES_AWK='
function tokenize(line, v, c, r,   n, i, ch, tok, inq, started, L) {
  n = 0; tok = ""; inq = 0; started = 0; L = length(line)
  for (i = 1; i <= L; i++) {
    ch = substr(line, i, 1)
    if (inq) {
      if (ch == "\\" && i < L) { i++; tok = tok substr(line, i, 1); continue }
      if (ch == "\"") { inq = 0; continue }
      tok = tok ch
    } else if (ch == " " || ch == "\t") {
      if (started) { n++; W[n] = tok; tok = ""; started = 0 }
    } else if (ch == "\"" && !started) { inq = 1; started = 1 }
    else { tok = tok ch; started = 1 }
  }
  if (started) { n++; W[n] = tok }
  return n
}
function addchain(v, c) { if (!((v, c) in HAS)) { HAS[v, c] = 1; NCH[v]++; CH[v, NCH[v]] = c; NR_[v, c] = 0 } }
function opt(v, c, r, name,   j, n) { n = NT[v, c, r]; for (j = 1; j <= n; j++) if (TK[v, c, r, j] == name) return (j < n ? TK[v, c, r, j + 1] : U); return U }
function target(v, c, r,   t) { t = opt(v, c, r, "-j"); if (t == U) t = opt(v, c, r, "--jump"); if (t == U) t = opt(v, c, r, "-g"); if (t == U) t = opt(v, c, r, "--goto"); return t }
function kubechains(v,   k, n) { n = 0; for (k = 1; k <= NCH[v]; k++) if (CH[v, k] ~ /^KUBE-/) n++; return n }
function findchain(v,   r, t, cm, k, c, cand, nc, hit) {
  if (!NAT[v]) return 0
  for (r = 1; r <= NR_[v, "KUBE-SERVICES"]; r++) {
    t = target(v, "KUBE-SERVICES", r); cm = opt(v, "KUBE-SERVICES", r, "--comment")
    if (t ~ /^KUBE-SVC-/ && cm == SP " cluster IP") { FOUND = t; FOUNDBY = "the KUBE-SERVICES rule commented \"" cm "\" jumps to " t; return 1 }
  }
  nc = 0
  for (k = 1; k <= NCH[v]; k++) {
    c = CH[v, k]; if (c !~ /^KUBE-SVC-/) continue
    hit = 0
    for (r = 1; r <= NR_[v, c]; r++) { cm = opt(v, c, r, "--comment"); if (cm != U && (cm == SP || substr(cm, 1, length(SP) + 1) == SP " ")) hit = 1 }
    if (hit) { nc++; cand = c }
  }
  if (nc == 1) { FOUND = cand; FOUNDBY = cand " is the one KUBE-SVC chain whose rules are commented \"" SP "\""; return 1 }
  return 0
}
function sortlist(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
BEGIN { U = "\001"; nv = 0 }
/^### / { cur = $2; if (cur == "end") { cur = ""; next } nv++; V[nv] = cur; NAT[cur] = 0; NCH[cur] = 0; table = ""; next }
cur == "" { next }
/^\*/ { table = substr($0, 2); sub(/[ \t\r]+$/, "", table); if (table == "nat") NAT[cur] = 1; next }
table != "nat" { next }
/^:/ { c = substr($1, 2); addchain(cur, c); next }
/^-[AI] / {
  n = tokenize($0)
  c = W[2]; addchain(cur, c)
  r = ++NR_[cur, c]; NT[cur, c, r] = n - 2
  for (j = 3; j <= n; j++) TK[cur, c, r, j - 2] = W[j]
}
END {
  seen = ""; best = ""; bestk = -1
  for (i = 1; i <= nv; i++) {
    v = V[i]; kc = kubechains(v)
    seen = seen (seen == "" ? "" : "; ") v ": " kc " KUBE- chains in nat"
    if (findchain(v) && kc > bestk) { best = v; bestk = kc }
  }
  if (best == "") { print "NONE\t" seen; exit }
  findchain(best); svc = FOUND
  nj = 0
  for (r = 1; r <= NR_[best, svc]; r++) {
    t = target(best, svc, r); if (t !~ /^KUBE-SEP-/) continue
    nj++; J[nj] = t
    P[nj] = (opt(best, svc, r, "--mode") == "random" && opt(best, svc, r, "--probability") != U) ? opt(best, svc, r, "--probability") + 0 : "none"
  }
  nt = 0; tlist = ""
  for (k = 1; k <= nj; k++) for (r = 1; r <= NR_[best, J[k]]; r++) {
    if (target(best, J[k], r) != "DNAT") continue
    to = opt(best, J[k], r, "--to-destination")
    if (to ~ /^\[[^]]+\]:[0-9]+$/ || to ~ /^[^:]+:[0-9]+$/) {
      nt++; TG[nt] = to; TSET[to] = 1
      tlist = tlist (tlist == "" ? "" : ", ") J[k] " DNAT --to-destination " to
    }
  }
  if (tlist == "") tlist = "none"
  nuniq = 0; for (x in TSET) nuniq++
  ne = split(EPS, E, " "); for (k = 1; k <= ne; k++) ESET[E[k]] = 1
  nm = 0; for (x in ESET) if (!(x in TSET)) MI[++nm] = x
  nx = 0; for (x in TSET) if (!(x in ESET)) EX[++nx] = x
  sortlist(MI, nm); sortlist(EX, nx)
  diff = ""
  if (nm) { s = ""; for (k = 1; k <= nm; k++) s = s (k > 1 ? ", " : "") MI[k]; diff = "missing " s }
  if (nx) { s = ""; for (k = 1; k <= nx; k++) s = s (k > 1 ? ", " : "") EX[k]; diff = diff (diff == "" ? "" : "; ") "extra " s }
  same = (nm == 0 && nx == 0 && nt == nuniq)
  spread = ""
  if (nj == 0) spread = svc " jumps to no KUBE-SEP chain"
  left = 1
  for (k = 1; k <= nj; k++) {
    share = left * (P[k] == "none" ? 1 : P[k]); left -= share
    d = share - 1 / nj; if (d < 0) d = -d
    if (d > 1e-4) spread = spread (spread == "" ? "" : "; ") J[k] " gets " sprintf("%.4f", share) " of the connections (probability " (P[k] == "none" ? "none" : sprintf("%.12g", P[k])) "), not 1/" nj
  }
  if (nj == 1) desc = "one endpoint: " svc " jumps to " J[1] " with no statistic match"
  else {
    desc = nj " endpoints: " svc " jumps to "
    for (k = 1; k <= nj; k++) desc = desc (k > 1 ? ", then " : "") J[k] (P[k] == "none" ? " (the rest)" : " with statistic mode random probability " sprintf("%.12g", P[k]))
  }
  line = "(iptables-" best "): " FOUNDBY "; " desc "; " tlist (diff != "" ? "; against the endpoints: " diff : "") (spread != "" ? "; " spread : "")
  print ((same && spread == "") ? "OK" : "BAD") "\t" line
}'

SAVE_SCRIPT='for v in nft legacy; do
  if command -v iptables-$v-save >/dev/null 2>&1; then echo "### $v"; iptables-$v-save -t nat 2>/dev/null; fi
done
if ! command -v iptables-nft-save >/dev/null 2>&1 && ! command -v iptables-legacy-save >/dev/null 2>&1; then echo "### iptables"; iptables-save -t nat; fi
echo "### end"'

# ready_endpoints NS SVC PORTNAME: EPS_LINES "ip port pod" (ready, IPv4, one per ip:port, by ip).
ready_endpoints() {
  EPS_LINES=$(k get endpointslices -n "$1" -l "kubernetes.io/service-name=$2" -o json 2>"$WORK/err" \
    | jq -r --arg pn "$3" '[.items[] | (.ports // []) as $ports | (.endpoints // [])[] | (.conditions.ready // false) as $r | (.targetRef.name // "") as $pod
        | .addresses[] as $a | $ports[] | {ip: $a, port: (.port // 0), name: (.name // ""), ready: $r, pod: $pod}]
        | map(select(.ready and .name == $pn and (.ip | contains(":") | not))) | unique_by("\(.ip):\(.port)") | sort_by(.ip)
        | .[] | "\(.ip) \(.port) \(.pod)"') || broken "listing the endpoints of $1/$2: $(<"$WORK/err")"
}
describe_endpoints() {
  local ip port pod out=''
  while read -r ip port pod; do [[ -n $ip ]] && out+="${out:+, }$ip:$port${pod:+ ($pod)}"; done <<<"$EPS_LINES"
  printf '%s' "${out:-none}"
}

# routing_on_every_node SP: ROUTING_OK (1 when every node's rules match EPS_LINES) and ROUTING_SEEN.
routing_on_every_node() {
  local sp=$1 node verdict line eps mode
  eps=$(awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $1, $2}' <<<"$EPS_LINES")
  node_names
  ROUTING_OK=1 ROUTING_SEEN=''
  for node in $NODES; do
    on_node "$node" "$SAVE_SCRIPT"
    if timed_out "$RC" || [[ $RC != 0 ]]; then
      broken "reading the nat table on node $node failed (exit $RC$(timed_out "$RC" && echo ', timed out')): ${ERR:0:300}"
    fi
    IFS=$'\t' read -r verdict line < <(awk -v SP="$sp" -v EPS="$eps" "$IPTABLES_AWK" <<<"$OUT")
    if [[ $verdict == NONE ]]; then
      mode=$(k get configmap kube-proxy -n kube-system -o jsonpath='{.data.config\.conf}' 2>/dev/null | sed -nE 's/^mode:[[:space:]]*"?([A-Za-z0-9_-]*)"?[[:space:]]*$/\1/p' | head -n 1) || mode=''
      line="$node: no KUBE-SVC chain for $sp in iptables (${line:-no iptables-save on the node}); kube-proxy's configured mode: ${mode:-iptables (the default)}"
      ROUTING_OK=0
    else
      [[ $verdict == OK ]] || ROUTING_OK=0
      line="$node $line"
    fi
    ROUTING_SEEN+="${ROUTING_SEEN:+ | }$line"
  done
}

# Given kube-proxy on every node sends port "dns-tcp" of service "kube-dns" in namespace
# "kube-system" to its ready endpoints, spread evenly.
DNS_SP=kube-system/kube-dns:dns-tcp
probe_dns_spread() {
  ready_endpoints kube-system kube-dns dns-tcp
  if [[ -z $EPS_LINES ]]; then PROBE_SEEN="$DNS_SP has no ready endpoints"; return; fi
  routing_on_every_node "$DNS_SP"
  PROBE_OK=$ROUTING_OK
  PROBE_SEEN="endpoints $(describe_endpoints); $ROUTING_SEEN"
}
kube_proxy_spreads_dns() {
  eventually "kube-proxy's rules for $DNS_SP to DNAT to exactly its ready endpoints, each with an equal share" "$T_WAIT" 2 probe_dns_spread
}

# --- deployment coredns: full strength, one replica deleted (src/kube/replicas.ts) ---

# strength NS DEPLOYMENT: FULL (0/1), REPLICAS, READY_PODS (name ip, by name), STRENGTH_SEEN.
strength() {
  local j
  j=$(k get deployments,pods -n "$1" -o json 2>"$WORK/err") || broken "reading deployment $1/$2: $(<"$WORK/err")"
  j=$(jq -c --arg d "$2" "$JQ_DEFS"'
    (.items | map(select(.kind == "Deployment" and .metadata.name == $d)) | first) as $dep
    | if $dep == null then {error: "deployment not found"}
      elif ($dep.spec.selector.matchLabels // {} | length) == 0 then {error: "no selector"}
      else ($dep.spec.selector.matchLabels) as $sel | ($dep.spec.replicas // 1) as $n
      | [.items[] | select(.kind == "Pod") | . as $p | select($sel | to_entries | all(.value == $p.metadata.labels[.key]))] as $pods
      | ($pods | map(select(.metadata.deletionTimestamp == null and ready_pod))) as $ready
      | ($pods | map(select(.metadata.deletionTimestamp != null))) as $term
      | {replicas: $n,
         full: (($ready | length) == $n and ($term | length) == 0 and ($dep.status.readyReplicas // 0) == $n and ($dep.status.updatedReplicas // 0) == $n),
         ready: ($ready | sort_by(.metadata.name) | map("\(.metadata.name) \(.status.podIP // "")")),
         seen: "\($ready | length) of \($n) pods Ready\(if ($term | length) > 0 then ", \($term | length) terminating" else "" end): \($pods | map("\(.metadata.name) (\(if .metadata.deletionTimestamp then "terminating; " else "" end)\(podstate))") | join("; "))"}
      end' <<<"$j")
  case $(jq -r '.error // ""' <<<"$j") in
    '') ;;
    'no selector') broken "deployment $1/$2 has no matchLabels selector" ;;
    *) broken "reading deployment $1/$2: not found" ;;
  esac
  FULL=$(jq -r 'if .full then 1 else 0 end' <<<"$j")
  REPLICAS=$(jq -r .replicas <<<"$j")
  READY_PODS=$(jq -r '.ready[]' <<<"$j")
  STRENGTH_SEEN=$(jq -r .seen <<<"$j")
}

# wait_full_strength NS DEPLOYMENT SECONDS: every second; not in time is the cluster's fault.
wait_full_strength() {
  local deadline=$(( $(now_us) + $3 * 1000000 ))
  strength "$1" "$2"
  while [[ $FULL != 1 ]] && (( $(now_us) < deadline )); do
    sleep 1
    strength "$1" "$2"
  done
  [[ $FULL == 1 ]] || broken "deployment $1/$2 was not back to full strength $3 s later: $STRENGTH_SEEN; the cluster did not recover"
}

# --- the scenarios: control-plane.feature ------------------------------------------

probe_control_plane() {
  local j
  j=$(k get pods,daemonsets,deployments -n kube-system -o json 2>"$WORK/err") || broken "listing kube-system pods: $(<"$WORK/err")"
  PROBE_SEEN=$(jq -r "$JQ_DEFS"'
    def ready: ready_pod;
    (.items | map(select(.kind == "Pod"))) as $pods
    | (.items | map(select(.kind == "DaemonSet"))) as $ds
    | (.items | map(select(.kind == "Deployment"))) as $deps
    | def dsready: (.status.desiredNumberScheduled // 0) > 0 and .status.numberReady == .status.desiredNumberScheduled;
      def dsdesc: "\(.metadata.name) (\(.status.numberReady // 0)/\(.status.desiredNumberScheduled // 0) Ready)";
    [ ("etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager") as $c
      | [$pods[] | select(.metadata.labels.component == $c or (.metadata.name | startswith("\($c)-")))] as $mine
      | if ($mine | length) == 0 then "no \($c) pod in kube-system"
        elif ($mine | any(.[]; ready) | not) then "\($c) is not Ready: \($mine | map("\(.metadata.name) (\(podstate))") | join("; "))"
        else empty end ]
    + ( [$pods[] | select(.metadata.labels["k8s-app"] == "kube-dns")] as $dns
        | (($deps | map(select(.metadata.name == "coredns")) | first) // ($deps | map(select(.spec.selector.matchLabels["k8s-app"] == "kube-dns")) | first)) as $d
        | ($d.spec.replicas // 0) as $wanted
        | ($dns | map(select(ready and .metadata.deletionTimestamp == null)) | length) as $ready
        | if $d == null then ["no CoreDNS Deployment (coredns, or one selecting k8s-app=kube-dns) in kube-system"]
          elif $wanted < 1 then ["the CoreDNS Deployment \($d.metadata.name) wants \($wanted) replicas"]
          elif $ready < $wanted then ["CoreDNS has \($ready) of \($wanted) pods Ready: \($dns | map("\(.metadata.name) (\(podstate))") | join("; ") | if . == "" then "none" else . end)"]
          else [] end )
    + ( ($ds | map(select(.metadata.name == "kube-proxy")) | first) as $p
        | if $p == null then ["no kube-proxy DaemonSet in kube-system"]
          elif ($p | dsready | not) then ["kube-proxy is not Ready on every node: \($p | dsdesc)"]
          else [] end )
    + ( ($ds | map(select(.metadata.name != "kube-proxy" and any((.spec.template.spec.volumes // [])[]; (.hostPath.path // "") | test("^/(etc|opt)/cni(/|$)"))))) as $cni
        | if ($cni | length) == 0 then ["no CNI daemon: no kube-system DaemonSet mounts /etc/cni or /opt/cni from the node (DaemonSets: \($ds | map(.metadata.name) | join(", ") | if . == "" then "none" else . end))"]
          elif ($cni | any(.[]; dsready) | not) then ["the CNI daemon is not Ready on every node: \($cni | map(dsdesc) | join(", "))"]
          else [] end )
    | join("; ")' <<<"$j")
  [[ -z $PROBE_SEEN ]] && PROBE_OK=1
}
every_node_ready() {
  local j bad
  j=$(k get nodes -o json 2>"$WORK/err") || broken "listing nodes: $(<"$WORK/err")"
  [[ $(jq '.items | length' <<<"$j") != 0 ]] || fail "the cluster has no nodes"
  bad=$(jq -r '[.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True") | not)
      | "\(.metadata.name) (\([.status.conditions[]? | select(.status != "False" or .type == "Ready") | "\(.type)=\(.status)\(if .message then ": \(.message)" else "" end)"] | join(", ")))"] | join("; ")' <<<"$j")
  [[ -z $bad ]] || fail "not Ready: $bad"
}
kube_system_runs_the_control_plane() {
  eventually "every control-plane component, CoreDNS, kube-proxy and the CNI daemon Ready in kube-system" "$T_WAIT" 2 probe_control_plane
  every_node_ready
}

node_has_what_a_kubelet_needs() {
  local node swaps config programs missing state pid comm
  node_names
  # swap is off on every node, or the kubelet keeps pods from swapping
  for node in $NODES; do
    on_node "$node" "tail -n +2 /proc/swaps; echo ---; grep -E '^(failSwapOn|memorySwap|  swapBehavior)' /var/lib/kubelet/config.yaml 2>/dev/null"
    if timed_out "$RC" || [[ $RC != 0 ]]; then broken "reading /proc/swaps on node $node failed: $ERR"; fi
    swaps=${OUT%%---*}; config=${OUT#*---}
    swaps=$(grep -v '^[[:space:]]*$' <<<"$swaps")
    [[ -z $swaps ]] && continue
    if ! grep -qE '^failSwapOn:[[:space:]]*false' <<<"$config"; then
      fail "node $node has swap on ($(awk '{print $1}' <<<"$swaps" | paste -sd, | sed 's/,/, /g')) and its kubelet is not told to tolerate it"
    fi
    local behavior
    behavior=$(sed -nE 's/.*swapBehavior:[[:space:]]*([^[:space:]]+).*/\1/p' <<<"$config" | head -n 1)
    [[ -n $behavior && $behavior != NoSwap ]] && fail "node $node has swap on and its kubelet lets pods swap (memorySwap.swapBehavior $behavior): memory limits no longer mean what they say"
  done
  # every node has the programs "iptables mount nsenter unshare socat ps"
  programs="iptables mount nsenter unshare socat ps"
  for node in $NODES; do
    on_node "$node" "for p in $programs; do printf '%s ' \"\$p\"; command -v \"\$p\" || echo MISSING; done"
    if timed_out "$RC" || [[ $RC != 0 ]]; then broken "looking for programs on node $node failed: $ERR"; fi
    missing=$(awk '/ MISSING$/ {print $1}' <<<"$OUT" | paste -sd, | sed 's/,/, /g')
    [[ -z $missing ]] || fail "node $node lacks $missing"
  done
  # the kubelet is an active systemd service on every node
  for node in $NODES; do
    on_node "$node" 'systemctl is-active kubelet; pid=$(systemctl show -p MainPID --value kubelet); echo "$pid"; cat /proc/"$pid"/comm 2>/dev/null; cat /proc/1/comm'
    timed_out "$RC" && broken "systemctl on node $node timed out"
    { read -r state; read -r pid; read -r comm; } <<<"$OUT"
    [[ $state == active ]] || fail "on node $node, systemctl is-active kubelet says \"${state:-$ERR}\""
    [[ $comm == kubelet ]] || fail "on node $node, the kubelet unit's main process $pid is \"$comm\", not the kubelet"
  done
}

node_keeps_etcd_log() {
  local dir=/var/log/containers pods name node i file
  pods=$(k get pods -n kube-system -l component=etcd -o json 2>"$WORK/err") || broken "listing kube-system pods: $(<"$WORK/err")"
  pods=$(jq -c '.items[] | select((.spec.nodeName // "") != "")' <<<"$pods")
  [[ -n $pods ]] || fail 'kube-system has no etcd pod (label component=etcd)'
  while IFS= read -r POD; do
    name=$(jq -r .metadata.name <<<"$POD"); node=$(jq -r .spec.nodeName <<<"$POD")
    running_containers
    for i in "${!CIDS[@]}"; do
      file="$dir/${name}_kube-system_${CNAMES[i]}-${CIDS[i]}.log"
      on_node "$node" "test -s '$file' && readlink -f '$file' && tail -n 1 '$file' | cut -c1-120"
      timed_out "$RC" && broken "reading $file on node $node timed out"
      if [[ $RC != 0 ]]; then
        on_node "$node" "ls '$dir' 2>&1 | grep -i etcd | head -n 5"
        fail "node $node has no log at $file; $dir holds: ${OUT:-no etcd file}"
      fi
    done
  done <<<"$pods"
}

# --- greedy.feature -----------------------------------------------------------------

greedy_is_burstable() {
  local seen resources requests
  submission_applied greedy-pod.yaml
  pod_up core-k8s-greedy 60
  pod_read core-k8s-greedy
  seen=$(jq -r '.status.qosClass // "none"' <<<"$POD")
  if [[ $seen != Burstable ]]; then
    resources=$(jq -r '[.spec.containers[] | "\(.name): requests \(.resources.requests // {} | tojson), limits \(.resources.limits // {} | tojson)"] | join("; ")' <<<"$POD")
    fail "pod core-k8s-greedy has QoS class $seen, not Burstable ($resources)"
  fi
  pod_read core-k8s-greedy
  requests=$(jq -r --arg q 100Mi "$JQ_DEFS"'($q | qbytes) as $want
      | if any(.spec.containers[]; .resources.requests.memory != null and ((.resources.requests.memory | qbytes) == $want)) then ""
        else "no container of pod core-k8s-greedy requests \($q) (\($want) bytes) of memory: "
          + ([.spec.containers[] | .resources.requests.memory as $r | "\(.name) requests \($r // "nothing")\(if $r then " (\($r | qbytes) bytes)" else "" end)"] | join("; ")) end' <<<"$POD")
  [[ -z $requests ]] || fail "$requests"
}

# The start of the node scripts below: container CID's main PID from containerd's task
# list ($pid), or a CTRFAIL / NOTASK line and an end.
TASK_PID_SCRIPT=$(cat <<'EOF'
tasks=$(ctr -n k8s.io task ls 2>&1) || { s=$?; echo "CTRFAIL $s $tasks"; exit 0; }
pid=$(printf '%s\n' "$tasks" | awk -v id="$cid" '$1 == id && $2 ~ /^[0-9]+$/ {print $2}')
if [ -z "$pid" ] || [ "$pid" = 0 ]; then echo "NOTASK $(printf '%s\n' "$tasks" | grep -cE '^[0-9a-f]{12,}[[:space:]]+[0-9]+')"; exit 0; fi
EOF
)

# The memory cgroup of container CID of pod UID on NODE, in one exec (src/kube/pod-node.ts
# containerMemoryCgroup + src/check/cgroup.ts readMemoryCgroup): LIMIT ("" for no limit), LINE.
CGROUP_SCRIPT=$TASK_PID_SCRIPT$'\n'$(cat <<'EOF'
echo "PID $pid"
head=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print "1 " $2; exit} $3 == "cgroup2" {v2 = $2} END {if (v2 != "") print "2 " v2}' /proc/self/mounts | head -n 1)
echo "ROOT $head"
v=${head%% *}; root=${head#* }
if [ "$v" = 1 ]; then path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/$pid/cgroup); file=memory.limit_in_bytes
else path=$(awk -F: '$1 == "0" && $2 == "" {print $3; exit}' /proc/$pid/cgroup); file=memory.max; fi
echo "PATH $path"
if [ -n "$path" ] && [ "${path#/..}" = "$path" ] && [ -d "$root/${path#/}" ]; then echo "LIMIT $(cat "$root/${path#/}/$file")"; exit 0; fi
dir=$(find "$root" -maxdepth 8 -type d -name "*$cid*" 2>/dev/null | head -n 1)
echo "FOUND ${dir#$root}"
[ -n "$dir" ] && echo "LIMIT $(cat "$dir/$file")"
exit 0
EOF
)

# cgroup_layout PATH UID CID: systemd, cgroupfs or nothing (src/kube/pod-node.ts containerCgroupLayout).
cgroup_layout() {
  local last=${1##*/} rest=${1%/*} pod
  pod=${rest##*/}
  [[ $last == *"$3"* ]] || return 0
  if [[ $pod == *"pod${2//-/_}.slice" ]]; then echo systemd
  elif [[ $pod == "pod$2" ]]; then echo cgroupfs; fi
}

node_memory_cgroup_200Mi() {
  local uid i seen='' pid version path layout limit shown found file qos
  submission_applied greedy-pod.yaml
  pod_up core-k8s-greedy 60
  pod_read core-k8s-greedy
  node_of_pod
  uid=$(jq -r '.metadata.uid // ""' <<<"$POD")
  running_containers
  for i in "${!CIDS[@]}"; do
    on_node "$NODE" "cid='${CIDS[i]}'"$'\n'"$CGROUP_SCRIPT"
    if timed_out "$RC" || [[ $RC != 0 ]]; then broken "reading cgroups on node $NODE failed (exit $RC): $(trim400 "${ERR:-$OUT}")"; fi
    case $OUT in
      CTRFAIL*) broken "listing containerd tasks on node $NODE failed: $(trim400 "${OUT#CTRFAIL }")" ;;
      NOTASK*) broken "containerd on node $NODE has no running task for container ${CIDS[i]:0:13} (${OUT#NOTASK } tasks listed)" ;;
    esac
    pid=$(sed -n 's/^PID //p' <<<"$OUT")
    version=$(sed -n 's/^ROOT \([12]\) .*/\1/p' <<<"$OUT")
    [[ -n $version ]] || broken "node $NODE has no memory cgroup hierarchy mounted"
    path=$(sed -n 's/^PATH //p' <<<"$OUT")
    found=$(sed -n 's/^FOUND //p' <<<"$OUT")
    if [[ -n $path && $path != /..* ]]; then
      layout=$(cgroup_layout "$path" "$uid" "${CIDS[i]}")
      [[ -n $layout ]] || broken "process $pid of container ${CIDS[i]:0:13} is in memory cgroup $path, which is not the pod's (uid $uid)"
    fi
    if grep -q '^FOUND' <<<"$OUT"; then
      [[ -n $found ]] || broken "no memory cgroup of container ${CIDS[i]:0:13} on node $NODE (process $pid is in \"${path:-?}\")"
      [[ -n $(cgroup_layout "$found" "$uid" "${CIDS[i]}") ]] || broken "the cgroup $found named for container ${CIDS[i]:0:13} is not under pod $uid"
      path=$found layout='found by id'
    fi
    limit=$(sed -n 's/^LIMIT //p' <<<"$OUT")
    # v1 says "no limit" with a huge page-aligned number near 2^63; v2 with "max"
    if [[ $limit == max || ! $limit =~ ^[0-9]+$ ]] || (( ${#limit} > 19 )) || [[ ${#limit} == 19 && $limit > 4611686018427387903 ]]; then shown='no limit'; limit=''; else shown="$limit bytes"; fi
    [[ $limit == 209715200 ]] && return 0
    file=memory.max; [[ $version == 1 ]] && file=memory.limit_in_bytes
    qos=guaranteed; [[ ${path,,} =~ kubepods[^/]*[/-](burstable|besteffort)([^a-z0-9_]|$) ]] && qos=${BASH_REMATCH[1]}
    seen+="${seen:+; }container ${CNAMES[i]} (PID $pid): cgroup v$version $path/$file = $shown ($layout layout, under $qos)"
  done
  fail "no container of pod core-k8s-greedy is limited to 209715200 bytes on node $NODE: $seen"
}

# --- kube-proxy.feature --------------------------------------------------------------

pod_resolves_kubernetes() {
  local ip
  submission_applied pod.yaml
  pod_up core-k8s 60
  ip=$(k get service kubernetes -n default -o jsonpath='{.spec.clusterIP}' 2>"$WORK/err") || broken "reading service default/kubernetes: $(<"$WORK/err")"
  [[ -n $ip ]] || broken "service default/kubernetes has no cluster IP"
  KUBERNETES_IP=$ip
  local t=$(( T_WAIT < 30 ? T_WAIT : 30 ))
  eventually "nslookup kubernetes.default.svc.cluster.local in pod core-k8s to answer $ip" "$t" 2 probe_nslookup
}
probe_nslookup() {
  local answers text
  pod_exec core-k8s nslookup kubernetes.default.svc.cluster.local
  # the Address lines after the first Name: line (the server's own Address comes before it)
  answers=$(awk '{ sub(/^[ \t]+/, ""); sub(/[ \t]+$/, "") } !n && /^Name:/ { n = 1 }
      n && /^Address(es)?([ \t]+[0-9]+)?:/ { sub(/^Address(es)?([ \t]+[0-9]+)?:[ \t]*/, ""); split($0, a, /[ \t]/); if (a[1] != "") { sub(/#[0-9]+$/, "", a[1]); print a[1] } }' <<<"$OUT")
  grep -qxF "$KUBERNETES_IP" <<<"$answers" && { PROBE_OK=1; return; }
  text=$(tr -s '[:space:]' ' ' <<<"$OUT$ERR" | sed 's/^ //; s/ $//')
  PROBE_SEEN="nslookup kubernetes.default.svc.cluster.local $(timed_out "$RC" && echo 'timed out' || echo "exited $RC"); answers: $(paste -sd, <<<"$answers" | sed 's/,/, /g; s/^$/none/'); output: ${text:0:300}"
}

coredns_follows_steps() {
  local victim victim_ip
  kube_proxy_spreads_dns
  # When a pod of deployment "coredns" in namespace "kube-system" is deleted
  wait_full_strength kube-system coredns "$T_WAIT"
  strength kube-system coredns
  read -r victim victim_ip <<<"$(head -n 1 <<<"$READY_PODS")"
  [[ -n $victim ]] || broken "deployment kube-system/coredns has no Ready pod to delete"
  k delete pod "$victim" -n kube-system --wait=false >/dev/null 2>"$WORK/err" || broken "deleting pod kube-system/$victim: $(<"$WORK/err")"
  echo "$victim" >"$WORK/coredns-deleted"
  VICTIM=$victim WANTED=$REPLICAS ENDPOINTS_BACK=0
  # Then within 60 seconds kube-proxy on every node follows the new endpoints
  eventually "kube-proxy's DNAT targets for $DNS_SP to follow its endpoints after $victim was deleted" 60 2 probe_dns_follows follow_missed
  # And deployment "coredns" in namespace "kube-system" is back to all its replicas Ready within 120 seconds
  wait_full_strength kube-system coredns 120
  : >"$WORK/coredns-recovered"
}
# No replacement in time is the cluster's fault; rules that do not follow, the claim failing.
follow_missed() {
  [[ $ENDPOINTS_BACK == 1 ]] || broken "the deployment behind $DNS_SP did not replace $VICTIM within 60 s (endpoints: $(describe_endpoints)): the cluster did not recover, this is not the course's claim failing"
  fail "$1"
}
probe_dns_follows() {
  local n
  ready_endpoints kube-system kube-dns dns-tcp
  n=$(grep -c . <<<"$EPS_LINES")
  ENDPOINTS_BACK=0
  if (( n < WANTED )) || awk -v v="$VICTIM" '$3 == v {found = 1} END {exit !found}' <<<"$EPS_LINES"; then
    PROBE_SEEN="endpoints $(describe_endpoints) (waiting for a replacement of $VICTIM)"
    return
  fi
  ENDPOINTS_BACK=1
  routing_on_every_node "$DNS_SP"
  PROBE_OK=$ROUTING_OK
  PROBE_SEEN="endpoints $(describe_endpoints); $ROUTING_SEEN"
}
coredns_follows() {
  local rc
  rm -f "$WORK/coredns-deleted" "$WORK/coredns-recovered"
  ( coredns_follows_steps ) && rc=0 || rc=$?
  # A scenario that deleted a replica leaves the cluster as it found it, even when a step failed first.
  if [[ -f $WORK/coredns-deleted && ! -f $WORK/coredns-recovered ]]; then
    ( wait_full_strength kube-system coredns 120 ) || { [[ $rc == 0 ]] && rc=3; }
  fi
  exit "$rc"
}

# --- pod-on-node.feature -------------------------------------------------------------

ip_int() { local IFS=.; local -a o=($1); [[ ${#o[@]} == 4 ]] || return 1; echo $(( (o[0] << 24) + (o[1] << 16) + (o[2] << 8) + o[3] )); }
cidr_contains() {
  local base=${1%/*} len=32 a b
  [[ $1 == */* ]] && len=${1#*/}
  [[ $len =~ ^[0-9]+$ ]] && (( len <= 32 )) || return 1
  a=$(ip_int "$base") && b=$(ip_int "$2") || return 1
  (( len == 0 )) && return 0
  (( (a >> (32 - len)) == (b >> (32 - len)) ))
}

pod_own_ip() {
  local pod_ip host_ip node_json cidrs node_ip c inside=0 v4
  submission_applied pod.yaml
  pod_up core-k8s 60
  # pod "core-k8s" has its own IP in its node's pod CIDR, apart from the node's InternalIP
  pod_read core-k8s
  pod_ip=$(jq -r '.status.podIP // ""' <<<"$POD"); host_ip=$(jq -r '.status.hostIP // ""' <<<"$POD")
  [[ -n $pod_ip && -n $host_ip ]] || fail "pod core-k8s has no IP yet ($(pod_state))"
  node_json=$(k get nodes -o json 2>"$WORK/err" | jq -c --arg n "$(jq -r '.spec.nodeName // ""' <<<"$POD")" '.items[] | select(.metadata.name == $n)') \
    || broken "listing nodes: $(<"$WORK/err")"
  [[ -n $node_json ]] || broken "pod core-k8s's node $(jq -r '.spec.nodeName // "?"' <<<"$POD") is not in the node list"
  cidrs=$(jq -r 'if (.spec.podCIDRs // []) | length > 0 then .spec.podCIDRs[] else (.spec.podCIDR // empty) end' <<<"$node_json")
  node_ip=$(jq -r 'first(.status.addresses[]? | select(.type == "InternalIP") | .address) // ""' <<<"$node_json")
  [[ -n $cidrs ]] || broken "node $(jq -r .metadata.name <<<"$node_json") has no spec.podCIDR: the cluster does not hand pod ranges to nodes"
  [[ -n $node_ip ]] || broken "node $(jq -r .metadata.name <<<"$node_json") has no InternalIP"
  [[ $pod_ip != "$host_ip" ]] || fail "pod core-k8s shares its node's address $host_ip: it runs in the node's network namespace (hostNetwork), not in its own"
  for c in $cidrs; do cidr_contains "$c" "$pod_ip" && inside=1; done
  [[ $inside == 1 ]] || fail "pod core-k8s's IP $pod_ip is outside its node's pod CIDR $(paste -sd, <<<"$cidrs" | sed 's/,/, /g')"
  [[ $host_ip == "$node_ip" ]] || fail "pod core-k8s's hostIP $host_ip is not its node's InternalIP $node_ip"
  # the eth0 of pod "core-k8s" holds the pod's IP
  pod_read core-k8s
  pod_ip=$(jq -r '.status.podIP // ""' <<<"$POD")
  [[ -n $pod_ip ]] || fail "pod core-k8s has no IP yet ($(pod_state))"
  in_pod core-k8s ip a
  v4=$(awk 'match($0, /^[0-9]+:[ \t]+[^:@ \t]+/) { name = substr($0, RSTART, RLENGTH); sub(/^[0-9]+:[ \t]+/, "", name); cur = name; seen[cur] = 1 }
      cur == "eth0" { for (i = 1; i < NF; i++) if ($i == "inet" && $(i + 1) ~ /^[0-9a-fA-F.:]+\/[0-9]+$/) print $(i + 1) }
      END { if (!seen["eth0"]) print "NO-ETH0" }' <<<"$OUT")
  [[ $v4 != NO-ETH0 ]] || fail "ip a in pod core-k8s shows no eth0: $(trim400 "$OUT")"
  grep -q "^${pod_ip//./\\.}/" <<<"$v4" || fail "eth0 in pod core-k8s holds $(paste -sd, <<<"$v4" | sed 's/,/, /g; s/^$/no IPv4 address/'), not the pod's IP $pod_ip"
}

pod_process_appears() {
  local node mains='' new missing='' i pid
  # Given the processes on every node are counted
  node_names
  for node in $NODES; do
    node_ok "$node" 'ps -e -o pid=' 'listing processes'
    awk '$1 ~ /^[0-9]+$/ && $1 > 0 {print $1}' <<<"$OUT" | sort -u >"$WORK/pids-$node"
  done
  submission_applied pod.yaml
  pod_up core-k8s 60
  # Then the node of pod "core-k8s" has more processes than before, the pod's own among the new ones
  pod_read core-k8s
  node_of_pod
  [[ -f $WORK/pids-$NODE ]] || broken "node $NODE was not counted before"
  running_containers
  node_ok "$NODE" 'ps -e -o pid=; echo ---; ctr -n k8s.io task ls' 'listing processes and containerd tasks'
  awk '/^---$/ {exit} $1 ~ /^[0-9]+$/ && $1 > 0 {print $1}' <<<"$OUT" | sort -u >"$WORK/pids-now"
  new=$(comm -13 "$WORK/pids-$NODE" "$WORK/pids-now")
  for i in "${!CIDS[@]}"; do
    pid=$(awk -v id="${CIDS[i]}" 'f && $1 == id && $2 ~ /^[0-9]+$/ {print $2} /^---$/ {f = 1}' <<<"$OUT")
    [[ -n $pid && $pid != 0 ]] || broken "containerd on node $NODE has no running task for container ${CIDS[i]:0:13}"
    grep -qx "$pid" <<<"$new" || missing+="${missing:+, }$pid"
  done
  [[ -z $missing ]] || fail "the main process(es) $missing of pod core-k8s were already on node $NODE before the pod was created"
}

# ctr containers info CID, then "path<TAB>device inode" of every resolv.conf source it names.
INFO_SCRIPT=$(cat <<'EOF'
info=$(ctr -n k8s.io containers info "$cid") || exit $?
printf '%s\n### stat\n' "$info"
printf '%s\n' "$info" | grep -o '"source": "[^"]*"' | sed 's/^"source": "//; s/"$//' | sort -u \
  | while read -r f; do printf '%s\t' "$f"; stat -L -c '%d %i' -- "$f" 2>/dev/null || echo; done
EOF
)

pod_resolv_conf() {
  local dns_ip mount ns0 cid sandbox source stats onnode inside
  submission_applied pod.yaml
  pod_up core-k8s 60
  # the resolv.conf of pod "core-k8s" is a mount whose nameserver is the cluster IP of service "kube-dns" in namespace "kube-system"
  dns_ip=$(k get service kube-dns -n kube-system -o jsonpath='{.spec.clusterIP}' 2>"$WORK/err") || broken "reading service kube-system/kube-dns: $(<"$WORK/err")"
  [[ -n $dns_ip ]] || broken "service kube-system/kube-dns has no cluster IP"
  in_pod core-k8s cat /proc/self/mountinfo
  mount=$(awk '{ split($0, lr, " - "); n = split(lr[1], f, " "); if (n >= 5 && f[5] == "/etc/resolv.conf") m = $0 } END { print m }' <<<"$OUT")
  [[ -n $mount ]] || fail "in pod core-k8s, /etc/resolv.conf is not a mount point (/proc/self/mountinfo has no line for it)"
  in_pod core-k8s cat /etc/resolv.conf
  ns0=$(awk '$1 == "nameserver" {print $2}' <<<"$OUT")
  [[ $(head -n 1 <<<"$ns0") == "$dns_ip" ]] \
    || fail "pod core-k8s's /etc/resolv.conf names $(paste -sd, <<<"$ns0" | sed 's/,/, /g; s/^$/no nameserver/'), not kube-system/kube-dns's cluster IP $dns_ip: leave the pod's DNS settings (dnsPolicy) alone"
  # the node of pod "core-k8s" holds that resolv.conf under "/var/lib/containerd", in the pod's sandbox
  pod_read core-k8s
  node_of_pod
  running_containers
  cid=${CIDS[0]}
  # ctr containers info, and the device and inode of every resolv.conf it names, in one exec
  node_ok "$NODE" "cid='$cid'"$'\n'"$INFO_SCRIPT" "reading container ${cid:0:13} from containerd"
  local info=${OUT%%$'\n### stat'*} stats=${OUT#*$'\n### stat'}
  jq -e . >/dev/null 2>&1 <<<"$info" || broken "ctr containers info ${cid:0:13} on node $NODE printed no JSON: ${info:0:200}"
  sandbox=$(jq -r '.Spec.annotations["io.kubernetes.cri.sandbox-id"] // .Labels["io.kubernetes.cri.sandbox-id"] // ""' <<<"$info")
  source=$(jq -r '[.Spec.mounts[]? | select(.destination == "/etc/resolv.conf" and (.source // "") != "")] | last | .source // ""' <<<"$info")
  [[ -n $source ]] || broken "containerd's spec of container ${cid:0:13} mounts nothing at /etc/resolv.conf"
  [[ -n $sandbox && $source == *"/$sandbox/"* ]] || broken "containerd mounts $source at /etc/resolv.conf, which is not in the pod's sandbox ${sandbox:-(unknown)}"
  [[ $source == /var/lib/containerd/* ]] || broken "containerd keeps pod core-k8s's resolv.conf at $source, not under /var/lib/containerd/: this cluster's containerd has another root"
  onnode=$(awk -F'\t' -v f="$source" '$1 == f {print $2}' <<<"$stats")
  if ! grep -qF "$source"$'\t' <<<"$stats"; then   # a source the grep above did not catch: stat it alone
    on_node "$NODE" "stat -L -c '%d %i' -- '$source'"
    timed_out "$RC" && broken "stat $source on node $NODE timed out"
    [[ $RC == 0 ]] && onnode=$OUT
  fi
  [[ -n $onnode ]] || broken "$source is not on node $NODE"
  in_pod core-k8s stat -L -c '%d %i' /etc/resolv.conf
  inside=$(trim400 "$OUT")
  [[ $inside == "$onnode" ]] || fail "pod core-k8s's /etc/resolv.conf (device and inode $inside) is not the node's $source ($onnode)"
}

pod_routed_through_veth() {
  local pods name pod_ip node routes links route dev link index
  submission_applied pod.yaml
  pod_up core-k8s 60
  # the node routes the IP of every pod of the scenario through a veth device
  pods=$(k get pods -n "$NS" -o json 2>"$WORK/err") || broken "listing pods in $NS: $(<"$WORK/err")"
  pods=$(jq -r '.items[] | select((.status.podIP // "") != "" and (.spec.nodeName // "") != "" and .status.phase == "Running") | "\(.metadata.name) \(.status.podIP) \(.spec.nodeName)"' <<<"$pods")
  [[ -n $pods ]] || fail "no pod of the submission is Running with an IP in namespace $NS"
  while read -r name pod_ip node; do
    on_node "$node" 'ip route show; echo ---; ip -d -o link show'
    if timed_out "$RC" || [[ $RC != 0 ]]; then broken "ip route on node $node failed: $ERR"; fi
    routes=${OUT%%$'\n'---$'\n'*}; links=${OUT#*$'\n'---$'\n'}
    # the most specific route: a host route, else the longest prefix (default is /0); the first of equals
    route=$(while read -r dst rest; do
        [[ -n $dst ]] || continue
        if [[ $dst == default ]]; then echo "0 $dst $rest"
        elif cidr_contains "$dst" "$pod_ip"; then p=32; [[ $dst == */* ]] && p=${dst#*/}; echo "$p $dst $rest"; fi
      done <<<"$routes" | awk '$1 + 0 > best || !n { if (!n || $1 + 0 > best) { best = $1 + 0; line = $0 } n = 1 } END { print line }')
    dev=$(awk '{for (i = 3; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}' <<<"$route")
    [[ -n $route && -n $dev ]] || fail "node $node has no route for pod $name's IP $pod_ip:"$'\n'"$(trim400 "$routes")"
    link=$(awk -v d="$dev" '{ if (match($0, /^[0-9]+:[ \t]+/)) { rest = substr($0, RLENGTH + 1); if (substr(rest, 1, length(d)) == d && substr(rest, length(d) + 1, 1) ~ /[@:]/) { print; exit } } }' <<<"$links")
    [[ -n $link && $link =~ [[:space:]]veth[[:space:]] ]] || fail "node $node routes pod $name's IP $pod_ip through $dev, which is not a veth device (route: $(awk '{print $2}' <<<"$route") dev $dev)"
    in_pod "$name" cat /sys/class/net/eth0/iflink
  done <<<"$pods"
}

# --- pod.feature ----------------------------------------------------------------------

pod_stays_running() {
  submission_applied pod.yaml
  pod_up core-k8s 60
}

pod_has_labels() {
  local problems
  submission_applied pod.yaml
  pod_read core-k8s
  problems=$(jq -r --arg list "role=just-an-example app=my-example-app organization=friends-of-manning creator" '(.metadata.labels // {}) as $l
    | [$list | splits("\\s+") | select(. != "") | (split("=")) as $kv | $kv[0] as $k | $kv[1] as $v
       | if ($l | has($k) | not) then (if $v == null then "no label \($k) (any value will do)" else "no label \($k)=\($v)" end)
         elif $v != null and $l[$k] != $v then "label \($k) is \"\($l[$k])\", not \"\($v)\""
         else empty end] as $p
    | if ($p | length) == 0 then "" else "pod core-k8s: \($p | join("; ")) (its labels: \($l | to_entries | map("\(.key)=\(.value)") | join(", ") | if . == "" then "none" else . end))" end' <<<"$POD")
  [[ -z $problems ]] || fail "$problems"
}

# The processes of container CID on the node: its main process (ctr) and every
# descendant (ps), each "PID BASE64(cmdline)", in one exec.
PROCS_SCRIPT=$TASK_PID_SCRIPT$'\n'$(cat <<'EOF'
echo "MAIN $pid"
ps -e -o pid=,ppid= | awk -v root="$pid" '{ kids[$2] = kids[$2] " " $1 }
  END { q[1] = root; h = 1; t = 1; while (h <= t) { p = q[h++]; if (p in done) continue; done[p] = 1; print p; n = split(kids[p], k, " "); for (i = 1; i <= n; i++) q[++t] = k[i] } }' \
  | while read -r p; do printf '%s ' "$p"; base64 -w0 /proc/$p/cmdline 2>/dev/null; echo; done
EOF
)

pod_runs_busybox_sleep() {
  local images i main p b64 seen='' hit
  submission_applied pod.yaml
  # pod "core-k8s" runs a "busybox" image
  pod_read core-k8s
  images=$(jq -r '.spec.containers[].image // ""' <<<"$POD")
  hit=0
  while read -r i; do
    i=${i%%@*}; i=${i##*/}; i=${i%%:*}
    [[ $i == busybox ]] && hit=1
  done <<<"$images"
  [[ $hit == 1 ]] || fail "pod core-k8s runs $(paste -sd, <<<"$images" | sed 's/,/, /g; s/^$/no image/'), not a busybox image"
  pod_up core-k8s 60
  # the process "sleep 10000" runs in a container of pod "core-k8s"
  pod_read core-k8s
  node_of_pod
  running_containers
  for i in "${!CIDS[@]}"; do
    node_ok "$NODE" "cid='${CIDS[i]}'"$'\n'"$PROCS_SCRIPT" 'listing processes'
    case $OUT in
      CTRFAIL*) broken "listing containerd tasks on node $NODE failed: $(trim400 "${OUT#CTRFAIL }")" ;;
      NOTASK*) broken "containerd on node $NODE has no running task for container ${CIDS[i]:0:13} (${OUT#NOTASK } tasks listed)" ;;
    esac
    main=$(sed -n 's/^MAIN //p' <<<"$OUT")
    local procs=''
    while read -r p b64; do
      [[ $p =~ ^[0-9]+$ && -n $b64 ]] || continue
      # the first word compared by its base name, the rest exactly
      local -a argv=()
      mapfile -t argv < <(base64 -d <<<"$b64" 2>/dev/null | tr '\0' '\n')
      [[ ${#argv[@]} == 2 && ${argv[0]##*/} == sleep && ${argv[1]} == 10000 ]] && return 0
      procs+="${procs:+, }$p $(jq -nc '$ARGS.positional' --args "${argv[@]}")"
    done < <(grep -v '^MAIN ' <<<"$OUT")
    seen+="${seen:+; }${CNAMES[i]}: $procs"
  done
  fail "no container of pod core-k8s runs \"sleep 10000\"; its processes on node $NODE: $seen"
}

pod_declares_port() {
  local shown
  submission_applied pod.yaml
  pod_read core-k8s
  shown=$(jq -r '[.spec.containers[] | .name as $c | (.ports // [])[] | {container: $c} + .]
      | if any(.[]; .containerPort == 80 and (.protocol // "TCP") == "TCP" and .name == "webapp-port") then ""
        else map("\(.containerPort)/\(.protocol // "TCP")\(if .name then " named \(.name)" else " unnamed" end) (container \(.container))") | join("; ") | if . == "" then "no ports" else . end end' <<<"$POD")
  [[ -z $shown ]] || fail "pod core-k8s should declare container port 80/TCP named webapp-port; it declares $shown"
}

# --- the scenarios, in file order ------------------------------------------------------

# control-plane.feature
scenario "kube-system runs the control plane, CoreDNS, kube-proxy and the CNI daemon" kube_system_runs_the_control_plane
scenario "the node has what a kubelet needs: swap off, its tools, systemd" node_has_what_a_kubelet_needs
scenario "the node keeps the etcd container's log in /var/log/containers" node_keeps_etcd_log
# greedy.feature
scenario "core-k8s-greedy is a Burstable pod requesting 100Mi of memory" greedy_is_burstable
scenario "the node's memory cgroup holds core-k8s-greedy to 200Mi" node_memory_cgroup_200Mi
# kube-proxy.feature
scenario "kube-proxy spreads kube-dns's dns-tcp port over the CoreDNS pods" kube_proxy_spreads_dns
scenario "core-k8s resolves the kubernetes service through kube-dns" pod_resolves_kubernetes
scenario "kube-proxy follows CoreDNS when one of its pods is deleted" coredns_follows
# pod-on-node.feature
scenario "core-k8s has an IP of its own from the pod CIDR, on its eth0" pod_own_ip
scenario "the node sees core-k8s's process appear" pod_process_appears
scenario "core-k8s's /etc/resolv.conf is containerd's file, naming kube-dns" pod_resolv_conf
scenario "the node routes core-k8s's IP through a veth device" pod_routed_through_veth
# pod.feature
scenario "pod.yaml creates Pod core-k8s and it stays Running" pod_stays_running
scenario "core-k8s carries the course's labels" pod_has_labels
scenario "core-k8s runs busybox with sleep 10000" pod_runs_busybox_sleep
scenario "core-k8s declares container port 80/TCP named webapp-port" pod_declares_port

finish
