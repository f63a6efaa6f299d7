#!/usr/bin/env bash
# scripts/bench.sh — how long kgrade takes to grade each sandbox lab's reference
# submission, next to a plain bash script doing the same checks by hand
# (bench/<lab>.sh: one fresh node container per scenario, the features' commands,
# the same assertions). Prints figures; asserts nothing about speed. It exits
# non-zero only when a run did not grade the reference as fully correct (then its
# time means nothing) or the setup is missing.
#
#   scripts/bench.sh [--runs N] [--lab LAB]... [--no-compile] [--no-count]
#
#   --runs N      timed runs per lab and tool (default 3); kgrade and the shell
#                 baseline alternate which goes first
#   --lab LAB     only this lab (repeatable; default: every sandbox lab that has a
#                 bench/<lab>.sh)
#   --no-compile  use dist/ as it is (default: npx tsc -p tsconfig.json first)
#   --no-count    skip the untimed counting pass: one run of each with every docker
#                 CLI call recorded (bench/docker-trace.sh), which also warms the
#                 caches before the timed runs
#
# Context printed with the table: nproc, the load average before and after (the
# figures are wall clock: other work on the machine shows in them), one bare
# `docker run -d` + `docker rm -f`, and one `docker exec NODE true`.
# Every container it starts is removed, also on Ctrl-C. Default run: about 4 to
# 6 minutes on 2 idle cores.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=3
LABS=()
COMPILE=1
COUNT=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --lab) LABS+=("${2:?--lab needs a lab id}"); shift 2 ;;
    --lab=*) LABS+=("${1#*=}"); shift ;;
    --no-compile) COMPILE=0; shift ;;
    --no-count) COUNT=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs wants a positive number, not $RUNS" >&2; exit 2; }
if [[ ${#LABS[@]} -eq 0 ]]; then
  for f in labs/*/lab.yaml; do
    lab=$(basename "$(dirname "$f")")
    grep -q '^environment: *sandbox' "$f" && [[ -f bench/$lab.sh ]] && LABS+=("$lab")
  done
fi
for lab in "${LABS[@]}"; do
  [[ -f labs/$lab/lab.yaml && -f bench/$lab.sh ]] || { echo "bench: $lab needs labs/$lab/lab.yaml and bench/$lab.sh" >&2; exit 2; }
done

IMAGE=${KGRADE_NODE_IMAGE:-kgrade/node:$(cat images/node/VERSION)}
export BENCH_RUN="b$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench.XXXXXX")
CHILD=
KGRADE_PIDS=()

cleanup() {
  local rc=$? ids
  trap - EXIT INT TERM
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true   # kgrade and the lab scripts remove their own containers on TERM
    wait "$CHILD" 2>/dev/null || true
  fi
  ids=$(docker ps -aq --filter "label=kgrade.bench=$BENCH_RUN" 2>/dev/null || true)
  for pid in "${KGRADE_PIDS[@]}"; do
    ids+=" $(docker ps -aq --filter label=kgrade=sandbox --filter "label=kgrade.owner-pid=$pid" 2>/dev/null || true)"
  done
  ids=$(xargs <<<"$ids")
  if [[ -n $ids ]]; then
    echo "bench: removing containers left behind: $ids" >&2
    docker rm -f -v $ids >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s\n' "$*"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- preconditions -----------------------------------------------------------
docker info >/dev/null 2>&1 || { echo "bench: Docker does not answer (scripts/setup-docker.sh)" >&2; exit 2; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "bench: no image $IMAGE (scripts/ensure-images.sh)" >&2; exit 2; }
if [[ $COMPILE == 1 ]]; then
  npx tsc -p tsconfig.json || { echo "bench: the TypeScript build failed; fix it or pass --no-compile" >&2; exit 2; }
fi
[[ -f dist/src/cli/main.js ]] || { echo "bench: no dist/ (npx tsc -p tsconfig.json)" >&2; exit 2; }

LOAD_START=$(loadavg)
say "kgrade bench: ${LABS[*]}; $RUNS timed run(s) each"
say "machine: nproc $(nproc), load average $LOAD_START (1/5/15 min) at start; $(uname -r)"
say "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), default runtime $(docker info --format '{{.DefaultRuntime}}' 2>/dev/null), image $IMAGE"
say ""

# --- context: a bare container, a bare exec ------------------------------------
bare=()
for i in $(seq "$RUNS"); do
  t0=$EPOCHREALTIME
  c=$(docker run -d --name "kgrade-bench-$BENCH_RUN-bare-$i" --label "kgrade.bench=$BENCH_RUN" --network none "$IMAGE" /usr/bin/tini -s -- sleep infinity)
  docker rm -f "$c" >/dev/null
  bare+=("$(secs "$t0" "$EPOCHREALTIME")")
done
BARE=$(median <<<"${bare[*]}")
c=$(docker run -d --name "kgrade-bench-$BENCH_RUN-exec" --label "kgrade.bench=$BENCH_RUN" --network none "$IMAGE" /usr/bin/tini -s -- sleep infinity)
execs=()
for i in $(seq 10); do
  t0=$EPOCHREALTIME
  docker exec "$c" true
  execs+=("$(secs "$t0" "$EPOCHREALTIME")")
done
docker rm -f "$c" >/dev/null
EXEC=$(median <<<"${execs[*]}")
say "context: bare docker run -d + docker rm -f: ${bare[*]} s, median $BARE s"
say "context: docker exec NODE true: median $EXEC s of 10"
say ""

# --- one grade of each kind ----------------------------------------------------
# run_kgrade LAB OUTDIR [env...]: sets TOOK, OK (1 when the reference got full
# marks, completely) and CORE (seconds inside gradeSubmission, from results.json).
run_kgrade() {
  local lab=$1 out=$2 t0 rc=0
  shift 2
  t0=$EPOCHREALTIME
  env "$@" node bin/kgrade.js grade "labs/$lab" --submission "labs/$lab/reference" --no-build --out "$out" >"$out.log" 2>&1 &
  CHILD=$!
  KGRADE_PIDS+=("$CHILD")
  wait "$CHILD" || rc=$?
  CHILD=
  TOOK=$(secs "$t0" "$EPOCHREALTIME")
  OK=0 CORE=-
  if [[ $rc == 0 && -f $out/results.json ]]; then
    read -r OK CORE < <(node -e '
      const r = require(process.argv[1]);
      console.log(r.complete && r.score === r.maxScore ? 1 : 0, (r.durationMs / 1000).toFixed(2));
    ' "$out/results.json")
  fi
  if [[ $OK != 1 ]]; then
    say "  !! kgrade did not grade labs/$lab/reference as fully correct (exit $rc):"
    sed 's/^/     /' "$out.log" | tail -n 25
  fi
}

# run_shell LAB LOG [env...]: sets TOOK and OK (1 when every scenario passed).
run_shell() {
  local lab=$1 log=$2 t0 rc=0
  shift 2
  t0=$EPOCHREALTIME
  env "$@" bash "bench/$lab.sh" "labs/$lab/reference" >"$log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  TOOK=$(secs "$t0" "$EPOCHREALTIME")
  OK=0
  [[ $rc == 0 ]] && OK=1
  if [[ $OK != 1 ]]; then
    say "  !! bench/$lab.sh failed on labs/$lab/reference (exit $rc):"
    sed 's/^/     /' "$log" | tail -n 25
  fi
}

# count_calls TRACEFILE: "containers execs other total seconds-in-docker"
count_calls() {
  awk '{ n++; t += $2; if ($1 == "run") r++; else if ($1 == "exec") e++; else o++ }
       END { printf "%d %d %d %d %.1f\n", r, e, o, n, t / 1000 }' "$1"
}

INVALID=0
declare -A SCEN KMED SMED KFIXED COUNTS LOADS
for lab in "${LABS[@]}"; do
  SCEN[$lab]=$(cat labs/"$lab"/features/*.feature | grep -cE '^[[:space:]]*Scenario( Outline)?:' || true)
  LOADS[$lab]=$(loadavg)
  say "$lab: ${SCEN[$lab]} scenarios (load average ${LOADS[$lab]})"

  if [[ $COUNT == 1 ]]; then
    : >"$WORK/$lab.ktrace"; : >"$WORK/$lab.strace"
    run_kgrade "$lab" "$WORK/$lab-count-kgrade" KGRADE_DOCKER="$ROOT/bench/docker-trace.sh" BENCH_TRACE="$WORK/$lab.ktrace"
    kok=$OK ktook=$TOOK
    run_shell "$lab" "$WORK/$lab-count-shell.log" BENCH_DOCKER="$ROOT/bench/docker-trace.sh" BENCH_TRACE="$WORK/$lab.strace"
    sok=$OK stook=$TOOK
    [[ $kok == 1 && $sok == 1 ]] || INVALID=1
    read -r kr ke ko kn kt < <(count_calls "$WORK/$lab.ktrace")
    read -r sr se so sn st < <(count_calls "$WORK/$lab.strace")
    COUNTS[$lab]="$kr $ke $ko $kn $kt $sr $se $so $sn $st"
    say "  counting pass (untimed, traced): kgrade ${ktook} s: $kr containers, $kn docker calls ($ke exec); shell ${stook} s: $sr containers, $sn docker calls ($se exec)"
  fi

  ks=() ss=() kc=()
  for i in $(seq "$RUNS"); do
    order=(kgrade shell)
    (( i % 2 == 0 )) && order=(shell kgrade)
    for tool in "${order[@]}"; do
      if [[ $tool == kgrade ]]; then
        run_kgrade "$lab" "$WORK/$lab-kgrade-$i"
        [[ $OK == 1 ]] || INVALID=1
        ks+=("$TOOK"); kt=$TOOK kcore=$CORE
        [[ $CORE == - ]] || kc+=("$(awk -v a="$TOOK" -v b="$CORE" 'BEGIN { printf "%.2f", a - b }')")
      else
        run_shell "$lab" "$WORK/$lab-shell-$i.log"
        [[ $OK == 1 ]] || INVALID=1
        ss+=("$TOOK"); st=$TOOK
      fi
    done
    say "  run $i/$RUNS: kgrade $kt s (grading $kcore s), shell $st s  [load ${LOADS[$lab]%% *} -> $(loadavg | cut -d' ' -f1)]"
  done
  KMED[$lab]=$(median <<<"${ks[*]}")
  SMED[$lab]=$(median <<<"${ss[*]}")
  KFIXED[$lab]=$(median <<<"${kc[*]}")
  say "  median: kgrade ${KMED[$lab]} s, shell ${SMED[$lab]} s"
  say ""
done

# --- the table -------------------------------------------------------------------
LOAD_END=$(loadavg)
say "Summary ($RUNS run(s) each, wall clock, median)"
printf '%-24s %9s %16s %15s %6s %14s %13s\n' lab scenarios "kgrade median s" "shell median s" ratio "kgrade fixed s" "load at start"
for lab in "${LABS[@]}"; do
  ratio=$(awk -v k="${KMED[$lab]}" -v s="${SMED[$lab]}" 'BEGIN { if (s > 0) printf "%.2f", k / s; else print "-" }')
  printf '%-24s %9s %16s %15s %6s %14s %13s\n' "$lab" "${SCEN[$lab]}" "${KMED[$lab]}" "${SMED[$lab]}" "$ratio" "${KFIXED[$lab]}" "${LOADS[$lab]%% *}"
done
say ""
say "ratio = kgrade / shell; kgrade fixed s = median over the runs of wall clock minus the time inside"
say "gradeSubmission (results.json durationMs): node start and imports, lab loading, image check, reports."
say "machine: nproc $(nproc); load average (1/5/15 min) $LOAD_START at start, $LOAD_END at end"
say "context: bare docker run -d + docker rm -f median $BARE s; docker exec NODE true median $EXEC s"
if [[ $COUNT == 1 ]]; then
  say ""
  say "docker CLI calls per grade (counting pass; seconds = sum of the calls' own durations)"
  printf '%-24s %-7s %10s %6s %6s %6s %10s\n' lab tool containers exec other total "docker s"
  for lab in "${LABS[@]}"; do
    read -r kr ke ko kn kt sr se so sn st <<<"${COUNTS[$lab]}"
    printf '%-24s %-7s %10s %6s %6s %6s %10s\n' "$lab" kgrade "$kr" "$ke" "$ko" "$kn" "$kt" "" shell "$sr" "$se" "$so" "$sn" "$st"
  done
fi
if [[ $INVALID == 1 ]]; then
  say ""
  say "bench: at least one run did not grade the reference as fully correct: the figures above are not comparable"
  exit 1
fi
