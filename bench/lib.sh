# shellcheck shell=bash
# bench/lib.sh — what the hand-written lab checks (bench/<lab>.sh) share.
# Sourced, not run. It does by hand what kgrade's sandbox does for a scenario:
#
#   node_start   one fresh container per scenario, with kgrade's exact docker run
#                flags (src/env/sandbox/privileged.ts), kgrade's eth0/kgrade-lan setup, and a
#                docker cp of the submission into /submission
#   on_node      one `docker exec … timeout -k 3 30 bash -c CMD` (kgrade's per-command
#                deadline), its stdout in OUT, stderr in ERR, exit code in RC
#   script_runs  a submission script with standard input closed, run from /root
#   check_*      the assertions of kgrade's steps, in bash
#
# Rule the lab scripts follow: one docker exec per feature step that touches the
# node (a step's own waits and parsing happen inside that exec or in bash here).
#
# A scenario runs in a subshell: the first failed check prints FAIL and ends it
# (kgrade skips a scenario's remaining steps after a failure too); the container
# is removed in the parent either way. The lab script exits 1 when any scenario
# failed, 2 on a usage or setup problem.
#
# Env: BENCH_DOCKER (docker CLI to use; bench/docker-trace.sh counts calls),
#      BENCH_RUN (label value for the containers, so scripts/bench.sh can sweep
#      them), KGRADE_NODE_IMAGE (default kgrade/node:$(cat images/node/VERSION)).

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${BENCH_DOCKER:-docker}
IMAGE=${KGRADE_NODE_IMAGE:-kgrade/node:$(cat "$BENCH_ROOT/images/node/VERSION")}
BENCH_RUN=${BENCH_RUN:-$$}
LAB=${LAB:-lab}
SUBMISSION=
NODE=
OUT='' ERR='' RC=''
SCENARIOS_RUN=0
SCENARIOS_FAILED=0
. "$(dirname "${BASH_SOURCE[0]}")/tally.sh"
COUNTER=0
LIVE=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-sh.XXXXXX")

# Command deadlines, as the lab's lab.yaml gives them (timeouts.command / script / wait).
T_COMMAND=30
T_SCRIPT=60
T_WAIT=20

cleanup() {
  local c
  for c in "${LIVE[@]}"; do
    [[ -n $c ]] && $DOCKER rm -f -v "$c" >/dev/null 2>&1
  done
  LIVE=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usage_submission() {
  SUBMISSION=${1:-}
  if [[ -z $SUBMISSION || ! -d $SUBMISSION ]]; then
    echo "usage: ${0##*/} SUBMISSION_DIR   (e.g. labs/$LAB/reference)" >&2
    exit 2
  fi
  SUBMISSION=$(cd "$SUBMISSION" && pwd)
}

fail() {
  printf '    FAIL: %s\n' "$*"
  exit 1
}

# A problem of the harness (docker, the image), not of the submission.
broken() {
  printf '    BROKEN: %s\n' "$*"
  exit 3
}

# kgrade's NODE_NETWORK (src/env/sandbox/node-setup.ts): lo up, a bridge br0 in netns
# kgrade-lan, and the node's eth0 as a veth whose peer sits on it.
NODE_NETWORK='set -e
ip link set lo up
ip netns add kgrade-lan
ip -n kgrade-lan link set lo up
ip -n kgrade-lan link add br0 type bridge
ip -n kgrade-lan link set br0 up
ip link add eth0 type veth peer name node0 netns kgrade-lan
ip -n kgrade-lan link set node0 master br0 up
ip link set eth0 up'

node_start() {
  COUNTER=$((COUNTER + 1))
  NODE="kgrade-bench-$BENCH_RUN-$$-$COUNTER"
  LIVE+=("$NODE")
  $DOCKER run -d --name "$NODE" \
    --label kgrade.bench="$BENCH_RUN" --label kgrade.bench.lab="$LAB" \
    --privileged --cgroupns=private --network none --hostname node \
    --tmpfs /tmp:rw,exec,size=256m --tmpfs /run:rw,exec,size=64m \
    --memory 2g --memory-swap 2g --pids-limit 4096 --cpus 1.5 \
    "$IMAGE" /usr/bin/tini -s -- sleep infinity >/dev/null || return 1
  $DOCKER exec "$NODE" bash -c "$NODE_NETWORK" >/dev/null || return 1
  $DOCKER exec "$NODE" mkdir -p /submission || return 1
  $DOCKER cp "$SUBMISSION/." "$NODE:/submission" >/dev/null || return 1
}

node_rm() {
  $DOCKER rm -f -v "$NODE" >/dev/null 2>&1
  local keep=() c
  for c in "${LIVE[@]}"; do [[ $c == "$NODE" ]] || keep+=("$c"); done
  LIVE=("${keep[@]}")
  NODE=
}

# scenario "NAME" FUNCTION: a fresh node, the checks in a subshell, the node removed.
scenario() {
  local name=$1 fn=$2 t0=$EPOCHREALTIME rc
  SCENARIOS_RUN=$((SCENARIOS_RUN + 1))
  if ! node_start; then
    rc=3
    echo "    BROKEN: could not start a node from $IMAGE"
  else
    ( "$fn" ) && rc=0 || rc=$?
  fi
  node_rm
  tally "$name" "$t0" "$rc"
}

finish() {
  printf '%s: %d scenarios, %d passed, %d failed\n' "$LAB" "$SCENARIOS_RUN" $((SCENARIOS_RUN - SCENARIOS_FAILED)) "$SCENARIOS_FAILED"
  [[ $SCENARIOS_FAILED -eq 0 ]]
}

# on_node CMD [SECONDS]: one docker exec; OUT, ERR, RC. RC 124/137 = killed at the deadline.
on_node() {
  local t=${2:-$T_COMMAND}
  OUT=$($DOCKER exec "$NODE" timeout -k 3 "$t" bash -c "$1" 2>"$WORK/err")
  RC=$?
  ERR=$(<"$WORK/err")
  if [[ $RC == 1 && $ERR == "Error response from daemon"* ]]; then broken "node $NODE is gone: $ERR"; fi
  return 0
}

# node_ok CMD: a setup step of the harness; must succeed.
node_ok() {
  on_node "$1" "${2:-$T_COMMAND}"
  [[ $RC == 0 ]] || broken "setup command failed ($RC): $1: $ERR"
}

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# script_runs SCRIPT [ARGS...]: the submission's script to its end (timeouts.script),
# standard input closed, from /root, output kept on the node. Sets OUT/ERR/RC as a
# command would. A script killed at its deadline fails the scenario, as in kgrade.
script_runs() {
  local script=$1 args='' a
  shift
  for a in "$@"; do args+=" $(q "$a")"; done
  on_node "cd /root && timeout -k 5 $T_SCRIPT bash /submission/$script$args </dev/null" $((T_SCRIPT + 10))
  if [[ $RC == 124 || $RC == 137 ]]; then fail "$script did not finish within $T_SCRIPT s and was stopped"; fi
}

# script_started SCRIPT: the script may leave servers behind: it runs in its own
# session with its output in files; wait up to min(timeouts.script, 15) s for it to end.
script_started() {
  local script=$1 wait=$(( T_SCRIPT < 15 ? T_SCRIPT : 15 ))
  on_node "cd /root && mkdir -p /run/bench
setsid bash -c 'bash /submission/$script </dev/null >/run/bench/out 2>/run/bench/err; echo \$? >/run/bench/rc' </dev/null >/dev/null 2>&1 &
for i in \$(seq $((wait * 10))); do [ -e /run/bench/rc ] && break; sleep 0.1; done" $((wait + 15))
}

# --- assertions on the last command (kgrade steps/node.steps.ts) -------------

check_succeeds() { [[ $RC == 0 ]] || fail "expected success; exited $RC: $OUT $ERR"; }
check_fails() {
  [[ $RC != 124 && $RC != 137 ]] || fail "expected it to fail promptly, but it hung"
  [[ $RC != 0 ]] || fail "expected a failure; exited 0: $OUT"
}
check_contains() { [[ "$OUT"$'\n'"$ERR" == *"$1"* ]] || fail "expected the output to contain \"$1\"; got: $OUT $ERR"; }
check_not_contains() { [[ "$OUT"$'\n'"$ERR" != *"$1"* ]] || fail "expected the output not to contain \"$1\"; got: $OUT $ERR"; }
check_output_is() {
  local s=$OUT
  s="${s#"${s%%[![:space:]]*}"}"; s="${s%"${s##*[![:space:]]}"}"
  [[ $s == "$1" ]] || fail "expected the output to be exactly \"$1\"; got \"$s\""
}
check_has_words() {
  local w
  for w in $1; do
    grep -qxF -- "$w" < <(tr -s '[:space:]' '\n' <<<"$OUT") || fail "expected the output to list $w; got: $OUT"
  done
}

# --- steps ---------------------------------------------------------------------

empty_folder() { node_ok "rm -rf -- $(q "$1") && mkdir -p -- $(q "$1")"; }

# eventually_prints CMD TEXT: every 0.5 s until CMD's stdout holds TEXT, for timeouts.wait s.
# One exec: the loop runs on the node and hands back the last attempt's stdout/stderr.
eventually_prints() {
  local cmd=$1 want=$2
  on_node "end=\$((SECONDS + $T_WAIT))
while :; do
  out=\$(timeout -k 3 $T_COMMAND bash -c $(q "$cmd") 2>/run/ev.err); rc=\$?
  case \"\$out\" in *$(q "$want")*) break ;; esac
  [ \$SECONDS -lt \$end ] || break
  sleep 0.5
done
printf '%s' \"\$out\"; cat /run/ev.err >&2; exit \$rc" $((T_WAIT + T_COMMAND + 10))
  [[ $OUT == *"$want"* ]] || fail "expected \"$cmd\" to print \"$want\" within $T_WAIT s; last seen: exit $RC: $OUT $ERR"
}

# programs_in_root ROOT "PROG...": each program, as seen from inside ROOT, exists
# and is either static or has its loader and every library inside ROOT — what
# kgrade's src/check/node/programs.py finds, read with od instead of python.
programs_in_root() {
  local root=$1 progs=$2
  on_node "root=$(q "$root")
[ -d \"\$root\" ] || { echo \"problem: \$root does not exist on the node\"; exit 0; }
u() { od -An -t u\$1 -j \$2 -N \$1 \"\$3\" | tr -d ' '; }
for prog in $progs; do
  f=\$root\$prog
  if [ ! -e \"\$f\" ]; then echo \"problem: \$f does not exist\"; continue; fi
  magic=\$(head -c 4 \"\$f\" | od -An -t x1 | tr -d ' \\n')
  if [ \"\$magic\" != 7f454c46 ]; then
    [ \"\$(head -c 2 \"\$f\")\" = '#!' ] || echo \"problem: \$f is not a program (no ELF header)\"
    continue
  fi
  phoff=\$(u 8 32 \"\$f\"); phentsize=\$(u 2 54 \"\$f\"); phnum=\$(u 2 56 \"\$f\"); interp=
  for ((i = 0; i < phnum; i++)); do
    ph=\$((phoff + i * phentsize))
    if [ \"\$(u 4 \$ph \"\$f\")\" = 3 ]; then
      interp=\$(tail -c +\$(( \$(u 8 \$((ph + 8)) \"\$f\") + 1 )) \"\$f\" | head -c \$(u 8 \$((ph + 32)) \"\$f\") | tr -d '\\0')
    fi
  done
  if [ -z \"\$interp\" ]; then echo \"static: \$prog\"; continue; fi
  [ -e \"\$root\$interp\" ] || { echo \"problem: \$prog needs its loader \$interp, which is not inside \$root\"; continue; }
  list=\$(chroot \"\$root\" \"\$interp\" --list \"\$prog\" 2>&1) || { echo \"problem: \$prog: the loader inside \$root failed: \$list\"; continue; }
  missing=\$(printf '%s\\n' \"\$list\" | awk '/=> not found/ {printf \"%s \", \$1}')
  [ -z \"\$missing\" ] || echo \"problem: \$prog needs \$missing which the loader cannot find inside \$root\"
  echo \"ok: \$prog\"
done"
  [[ $RC == 0 ]] || broken "inspecting programs under $root failed: $ERR"
  if grep -q '^problem: ' <<<"$OUT"; then fail "$(grep '^problem: ' <<<"$OUT" | cut -c10- | paste -sd ';')"; fi
  local n
  n=$(grep -cE '^(ok|static): ' <<<"$OUT")
  [[ $n == $(wc -w <<<"$progs") ]] || fail "not every program of \"$progs\" was inspected: $OUT"
}

# ps_listing: the processes of a `ps -ax` listing in OUT, one "PID COMMAND" a line
# (kgrade src/check/listing.ts parsePsListing).
ps_listing() {
  awk 'BEGIN { h = 0 }
    { sub(/^[ \t]+/, ""); sub(/[ \t]+$/, "") }
    $0 == "" { next }
    !h { if ($1 == "PID") h = 1; next }
    $1 !~ /^[0-9]+$/ || NF < 2 { exit }
    { cmd = ""; for (i = 5; i <= NF; i++) cmd = cmd (cmd == "" ? "" : " ") $i
      if (cmd == "") for (i = 2; i <= NF; i++) cmd = cmd (cmd == "" ? "" : " ") $i
      print $1, cmd }' <<<"$OUT"
}

# The decoy: a sleep named NAME in its own session; sets DECOY_PID once ps shows it.
decoy() {
  node_ok "setsid bash -c 'exec -a $1 sleep 100000' </dev/null >/dev/null 2>&1 & pid=\$!
for i in \$(seq 20); do ps -o args= -p \$pid | grep -q '^$1' && { echo \$pid; exit 0; }; sleep 0.1; done; exit 1"
  DECOY_PID=$OUT
}

decoy_alive() {
  local keep_out=$OUT keep_err=$ERR keep_rc=$RC alive=no
  on_node "ps -o stat= -p $DECOY_PID"
  [[ $RC == 0 && ${OUT// /} != Z* ]] && alive=yes
  OUT=$keep_out ERR=$keep_err RC=$keep_rc
  [[ $alive == yes ]]
}
