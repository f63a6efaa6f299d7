#!/usr/bin/env bash
# scripts/bench.sh — how long kgrade takes to grade each sandbox lab's reference
# submission, in three configurations, next to a plain bash script doing the same
# checks by hand (bench/<lab>.sh: one fresh privileged node container per scenario,
# the features' commands, the same assertions). The kgrade configurations:
#   userns           --isolation userns --jobs 1       (the default runtime, one at a time)
#   userns parallel  --isolation userns --jobs $(nproc) (the default runtime and --jobs)
#   privileged       --isolation privileged --jobs 1   (how kgrade graded before userns)
#   vm               --isolation vm --jobs 1           (a VM per scenario: KVM where it boots,
#                                                       else TCG; skipped when images/vm/build.sh
#                                                       has not been run)
# Prints the medians, their ratios to the shell baseline and to privileged; asserts
# nothing about speed. It exits non-zero only when a run did not grade the reference
# as fully correct (then its time means nothing) or the setup is missing.
#
#   scripts/bench.sh [--runs N] [--lab LAB]... [--no-compile] [--no-count]
#
#   --runs N      timed runs per lab and tool (default 3); each run grades with all
#                 (shell, userns, userns parallel, privileged, vm), in that order on
#                 odd runs and the reverse on even ones
#   --lab LAB     only this lab (repeatable; default: every sandbox lab that has a
#                 bench/<lab>.sh)
#   --no-compile  use dist/ as it is (default: npm run build first)
#   --no-count    skip the untimed counting pass: one run of kgrade (with
#                 --isolation privileged --jobs 1, so that its docker calls compare
#                 with the shell baseline's: under userns kgrade makes few) and one of
#                 the shell baseline with every docker CLI call recorded
#                 (bench/docker-trace.sh), which also warms the caches before the
#                 timed runs
#
# Context printed with the tables: nproc, the load average before and after (the
# figures are wall clock: other work on the machine shows in them), one bare
# `docker run -d` + `docker rm -f` (median of N), one `docker exec NODE true`
# (median of 10), and the start + destroy of one kgrade sandbox of each runtime
# through kgrade's own startSandbox (dist/src/env/sandbox/index.js; median of N,
# after a first, uncounted start that may build the userns root file-system cache).
# Every container and sandbox it starts is removed, also on Ctrl-C: its own
# containers by label, and whatever a killed kgrade left by `kgrade clean`.
# Default run: about 6 to 10 minutes on 2 idle cores (estimated).
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
PAR=$(nproc)
CHILD=
KGRADE_PIDS=()   # kgrade processes started here (grades, the sandbox-start timer)

cleanup() {
  local rc=$? ids='' id pid p cleaned
  trap - EXIT INT TERM
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true   # kgrade and the lab scripts remove their own containers and sandboxes on TERM
    wait "$CHILD" 2>/dev/null || true
  fi
  ids=$(docker ps -aq --filter "label=kgrade.bench=$BENCH_RUN" 2>/dev/null || true)
  if [[ ${#KGRADE_PIDS[@]} -gt 0 ]]; then
    # privileged sandboxes of kgrade runs started here
    while read -r id pid; do
      for p in "${KGRADE_PIDS[@]}"; do [[ $pid == "$p" ]] && ids+=" $id"; done
    done < <(docker ps -a --filter label=kgrade=sandbox --format '{{.ID}} {{.Label "kgrade.owner-pid"}}' 2>/dev/null || true)
  fi
  ids=$(xargs <<<"$ids")
  if [[ -n $ids ]]; then
    echo "bench: removing containers left behind: $ids" >&2
    # shellcheck disable=SC2086  # word splitting wanted: one argument per id
    docker rm -f -v $ids >/dev/null 2>&1 || true
  fi
  if [[ ${#KGRADE_PIDS[@]} -gt 0 ]]; then
    # userns sandboxes are runc containers, not docker ones: those of a kgrade run that was
    # killed before it could remove them are orphans now, which `kgrade clean` removes
    # (of every kgrade process that is gone, this script's or not).
    cleaned=$(node bin/kgrade.js clean 2>&1) || true
    [[ $cleaned == removed* ]] && echo "bench: kgrade clean: $cleaned" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s\n' "$*"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratio A B: A / B to two places, "-" when either is missing
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- preconditions -----------------------------------------------------------
docker info >/dev/null 2>&1 || { echo "bench: Docker does not answer (scripts/setup-docker.sh)" >&2; exit 2; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "bench: no image $IMAGE (scripts/ensure-images.sh)" >&2; exit 2; }
if [[ $COMPILE == 1 ]]; then
  npm run --silent build || { echo "bench: the TypeScript build failed; fix it or pass --no-compile" >&2; exit 2; }
fi
[[ -f dist/src/cli/main.js && -f dist/src/env/sandbox/index.js ]] || { echo "bench: no dist/ (npm run build)" >&2; exit 2; }

LOAD_START=$(loadavg)
say "kgrade bench: ${LABS[*]}; $RUNS timed run(s) each"
say "machine: nproc $PAR, load average $LOAD_START (1/5/15 min) at start; $(uname -r)"
say "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), default runtime $(docker info --format '{{.DefaultRuntime}}' 2>/dev/null), image $IMAGE"
say ""

# --- context: a bare container, a bare exec, a kgrade sandbox ---------------------
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

# Starts and destroys one sandbox 1 + N times through kgrade's own API, in one node process;
# prints the seconds of each, the first (warm-up: module loading, and for userns perhaps the
# root file-system cache) first. A signal removes what it holds (installSignalCleanup).
# shellcheck disable=SC2016  # JavaScript, not shell
STARTS_JS='
import { startSandbox } from "./dist/src/env/sandbox/index.js";
import { nodeImageRef } from "./dist/src/env/images.js";
import { installSignalCleanup } from "./dist/src/env/cleanup.js";
installSignalCleanup((line) => process.stderr.write(`${line}\n`));
const [isolation, n] = process.argv.slice(1);
const image = nodeImageRef();
const took = [];
for (let i = 0; i <= Number(n); i++) {
  const t0 = performance.now();
  const box = await startSandbox(isolation, { image, runId: `bench-${process.env.BENCH_RUN}`, purpose: `scripts/bench.sh sandbox start ${i}` });
  await box.destroy();
  took.push(((performance.now() - t0) / 1000).toFixed(2));
}
console.log(took.join(" "));
'
# sandbox_starts ISOLATION: sets WARM (the warm-up start, not counted), STARTS (the N counted)
# and START (their median), "-" when a start failed.
sandbox_starts() {
  local iso=$1 rc=0
  node --input-type=module -e "$STARTS_JS" "$iso" "$RUNS" >"$WORK/starts-$iso.out" 2>"$WORK/starts-$iso.log" &
  CHILD=$!
  KGRADE_PIDS+=("$CHILD")
  wait "$CHILD" || rc=$?
  CHILD=
  WARM=- STARTS=- START=-
  if [[ $rc == 0 ]]; then
    read -r WARM STARTS <"$WORK/starts-$iso.out"
    START=$(median <<<"$STARTS")
  else
    say "  !! could not start and destroy a $iso sandbox through startSandbox (exit $rc):"
    sed 's/^/     /' "$WORK/starts-$iso.log" | tail -n 25
  fi
}
declare -A SB_MED SB_WARM
for iso in userns privileged; do
  sandbox_starts "$iso"
  SB_MED[$iso]=$START SB_WARM[$iso]=$WARM
  say "context: $iso startSandbox + destroy: $STARTS s, median $START s (warm-up $WARM s not counted)"
done

# One VM sandbox: seconds to ready (startSandbox: qemu, kernel, init, agent, eth0), the
# accelerator its qemu runs with, the median of 10 `true` over the guest agent, and destroy.
# shellcheck disable=SC2016  # JavaScript, not shell
VM_JS='
import { readFileSync } from "node:fs";
import path from "node:path";
import { startSandbox } from "./dist/src/env/sandbox/index.js";
import { nodeImageRef } from "./dist/src/env/images.js";
import { installSignalCleanup } from "./dist/src/env/cleanup.js";
import { stateDir } from "./dist/src/config.js";
installSignalCleanup((line) => process.stderr.write(`${line}\n`));
const t0 = performance.now();
const vm = await startSandbox("vm", { image: nodeImageRef(), runId: `bench-${process.env.BENCH_RUN}`, purpose: "scripts/bench.sh vm" });
const ready = (performance.now() - t0) / 1000;
const pid = readFileSync(path.join(stateDir(), "vm", vm.name, "qemu.pid"), "utf8").trim();
const accel = readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("\0kvm\0") ? "kvm" : "tcg";
const lat = [];
for (let i = 0; i < 10; i++) {
  const s = performance.now();
  await vm.exec(["true"]);
  lat.push(performance.now() - s);
}
lat.sort((a, b) => a - b);
await vm.destroy();
console.log(accel, ready.toFixed(2), ((lat[4] + lat[5]) / 2).toFixed(0));
'
VM_OK=0 VM_ACCEL=- VM_READY=- VM_CMD_MS=-
if node --input-type=module -e 'import("./dist/src/env/sandbox/vm-images.js").then((m) => process.exit(m.vmImagesReady() ? 0 : 1))'; then
  rc=0
  node --input-type=module -e "$VM_JS" >"$WORK/vm.out" 2>"$WORK/vm.log" &
  CHILD=$!
  KGRADE_PIDS+=("$CHILD")
  wait "$CHILD" || rc=$?
  CHILD=
  if [[ $rc == 0 ]]; then
    read -r VM_ACCEL VM_READY VM_CMD_MS <"$WORK/vm.out"
    VM_OK=1
    say "context: vm sandbox ($VM_ACCEL): ready in $VM_READY s; a command over the guest agent: median $VM_CMD_MS ms of 10"
  else
    say "  !! could not start a vm sandbox (exit $rc):"
    sed 's/^/     /' "$WORK/vm.log" | tail -n 25
  fi
else
  say "context: vm: skipped, the VM images are not built (images/vm/build.sh)"
fi
say ""

# --- one grade of each kind ----------------------------------------------------
# The kgrade configurations: --isolation and --jobs of each, and its name in the output.
declare -A ISO=([userns]=userns [userns-par]=userns [privileged]=privileged [vm]=vm)
declare -A JOBS=([userns]=1 [userns-par]=$PAR [privileged]=1 [vm]=1)
declare -A NAME=([shell]=shell [userns]=userns [userns-par]="userns parallel" [privileged]=privileged [vm]="vm ($VM_ACCEL)")
TOOLS=(shell userns userns-par privileged)
[[ $VM_OK == 1 ]] && TOOLS+=(vm)

# run_kgrade LAB OUTDIR ISOLATION JOBS [env...]: sets TOOK, OK (1 when the reference got
# full marks, completely) and CORE (seconds inside gradeSubmission, from results.json).
run_kgrade() {
  local lab=$1 out=$2 iso=$3 jobs=$4 t0 rc=0
  shift 4
  t0=$EPOCHREALTIME
  env "$@" node bin/kgrade.js grade "labs/$lab" --submission "labs/$lab/reference" --no-build \
    --isolation "$iso" --jobs "$jobs" --out "$out" >"$out.log" 2>&1 &
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
    say "  !! kgrade --isolation $iso --jobs $jobs did not grade labs/$lab/reference as fully correct (exit $rc):"
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
declare -A SCEN LOADS COUNTS TIMES FIXEDS MED FIXED
for lab in "${LABS[@]}"; do
  SCEN[$lab]=$(cat labs/"$lab"/features/*.feature | grep -cE '^[[:space:]]*Scenario( Outline)?:' || true)
  LOADS[$lab]=$(loadavg)
  say "$lab: ${SCEN[$lab]} scenarios (load average ${LOADS[$lab]})"

  if [[ $COUNT == 1 ]]; then
    : >"$WORK/$lab.ktrace"; : >"$WORK/$lab.strace"
    run_kgrade "$lab" "$WORK/$lab-count-kgrade" privileged 1 KGRADE_DOCKER="$ROOT/bench/docker-trace.sh" BENCH_TRACE="$WORK/$lab.ktrace"
    kok=$OK ktook=$TOOK
    run_shell "$lab" "$WORK/$lab-count-shell.log" BENCH_DOCKER="$ROOT/bench/docker-trace.sh" BENCH_TRACE="$WORK/$lab.strace"
    sok=$OK stook=$TOOK
    [[ $kok == 1 && $sok == 1 ]] || INVALID=1
    read -r kr ke ko kn kt < <(count_calls "$WORK/$lab.ktrace")
    read -r sr se so sn st < <(count_calls "$WORK/$lab.strace")
    COUNTS[$lab]="$kr $ke $ko $kn $kt $sr $se $so $sn $st"
    say "  counting pass (untimed, traced; kgrade --isolation privileged --jobs 1):"
    say "    kgrade ${ktook} s: $kr containers, $kn docker calls ($ke exec)"
    say "    shell  ${stook} s: $sr containers, $sn docker calls ($se exec)"
  fi

  for i in $(seq "$RUNS"); do
    order=("${TOOLS[@]}")
    if (( i % 2 == 0 )); then
      order=()
      for (( j = ${#TOOLS[@]} - 1; j >= 0; j-- )); do order+=("${TOOLS[j]}"); done
    fi
    line=()
    for tool in "${order[@]}"; do
      if [[ $tool == shell ]]; then
        run_shell "$lab" "$WORK/$lab-shell-$i.log"
      else
        run_kgrade "$lab" "$WORK/$lab-$tool-$i" "${ISO[$tool]}" "${JOBS[$tool]}"
        [[ $CORE == - ]] || FIXEDS[$lab/$tool]+=" $(awk -v a="$TOOK" -v b="$CORE" 'BEGIN { printf "%.2f", a - b }')"
      fi
      [[ $OK == 1 ]] || INVALID=1
      TIMES[$lab/$tool]+=" $TOOK"
      line+=("${NAME[$tool]} $TOOK")
    done
    say "  run $i/$RUNS, s: $(printf '%s | ' "${line[@]}" | sed 's/ | $//')  [load ${LOADS[$lab]%% *} -> $(loadavg | cut -d' ' -f1)]"
  done
  line=()
  for tool in "${TOOLS[@]}"; do
    MED[$lab/$tool]=$(median <<<"${TIMES[$lab/$tool]:-}")
    FIXED[$lab/$tool]=$(median <<<"${FIXEDS[$lab/$tool]:-}")
    line+=("${NAME[$tool]} ${MED[$lab/$tool]}")
  done
  say "  median, s: $(printf '%s | ' "${line[@]}" | sed 's/ | $//')"
  say ""
done

# --- the tables -------------------------------------------------------------------
LOAD_END=$(loadavg)
row() { printf '%-24s %-16s %4s %9s %8s %13s %8s\n' "$@"; }
say "Summary: grading each lab's reference (wall clock, median of $RUNS run(s))"
row lab config jobs "median s" "/ shell" "/ privileged" "fixed s"
for lab in "${LABS[@]}"; do
  first=("$lab" "  ${SCEN[$lab]} scenarios" "  load ${LOADS[$lab]%% *} at start" "")
  n=0
  for tool in "${TOOLS[@]}"; do
    m=${MED[$lab/$tool]}
    if [[ $tool == shell ]]; then
      row "${first[n]:-}" "shell baseline" 1 "$m" - - -
    else
      vs_priv=$(ratio "$m" "${MED[$lab/privileged]}")
      [[ $tool == privileged ]] && vs_priv=-
      row "${first[n]:-}" "${NAME[$tool]}" "${JOBS[$tool]}" "$m" "$(ratio "$m" "${MED[$lab/shell]}")" "$vs_priv" "${FIXED[$lab/$tool]}"
    fi
    n=$((n + 1))
  done
done
say ""
say "shell baseline = bench/<lab>.sh; userns, privileged, vm = kgrade --isolation userns|privileged|vm"
say "--jobs 1 (vm: kvm or tcg, the accelerator its VMs ran with); userns parallel = kgrade --isolation userns --jobs $PAR (nproc). / shell = median divided"
say "by the shell baseline's; / privileged = median divided by privileged's (how the userns runtime"
say "compares with the way kgrade graded before it). fixed s = median over the runs of wall clock"
say "minus the time inside gradeSubmission (results.json durationMs): node start and imports, lab"
say "loading, image check, reports."
say ""
say "Starting a node (wall clock, median; runs = how many the median is of)"
srow() { printf '%-48s %9s %5s %10s\n' "$@"; }
srow what "median s" runs "warm-up s"
srow "bare docker run -d + docker rm -f" "$BARE" "$RUNS" -
srow "userns sandbox: startSandbox + destroy" "${SB_MED[userns]}" "$RUNS" "${SB_WARM[userns]}"
srow "privileged sandbox: startSandbox + destroy" "${SB_MED[privileged]}" "$RUNS" "${SB_WARM[privileged]}"
srow "docker exec NODE true" "$EXEC" 10 -
srow "vm sandbox ($VM_ACCEL): startSandbox to ready" "$VM_READY" 1 -
srow "vm sandbox: a command over the guest agent, ms" "$VM_CMD_MS" 10 -
say "The sandboxes are started through kgrade's startSandbox, after one uncounted warm-up start"
say "(module loading; for userns perhaps building the root file-system cache). A sandbox start"
say "includes kgrade's eth0/kgrade-lan setup on the node (one exec); the bare container has none."
say "A lone VM's time to ready includes measuring its pace (40 runs of /bin/true, in the README);"
say "in a grade, VMs start ahead of their scenarios and one measures for all."
say ""
say "machine: nproc $PAR; load average (1/5/15 min) $LOAD_START at start, $LOAD_END at end"
if [[ $COUNT == 1 ]]; then
  say ""
  say "docker CLI calls per grade (counting pass: kgrade with --isolation privileged --jobs 1, which"
  say "starts containers as the shell baseline does; under userns kgrade makes far fewer docker calls."
  say "docker s = sum of the calls' own durations)"
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
