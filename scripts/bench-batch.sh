#!/usr/bin/env bash
# scripts/bench-batch.sh — how long `kgrade batch` takes per submission, one at a time and
# four at a time. It makes a class of COUNT submissions (default 30) from a lab's reference/
# and wrong/<case>/ folders in turn (copies under other student ids), grades the class with
# --jobs 1 and then --jobs 4 into fresh output folders, and prints the wall time, the time per
# submission and the speed-up. First labs/ch01-isolation (sandboxes); then, when a cluster is
# up (`kgrade cluster status` exits 0), labs/smoke-cluster on it; otherwise it says the cluster
# part was skipped. Prints figures and asserts nothing about speed; it exits non-zero only when
# a batch did not grade every student (then its time means nothing) or the setup is missing.
#
#   scripts/bench-batch.sh [--count N] [--no-cluster] [--no-compile]
#
#   --count N     submissions per class (default 30, or $KGRADE_BENCH_COUNT)
#   --no-cluster  skip the cluster lab even when a cluster is up
#   --no-compile  use dist/ as it is (default: npm run build first)
#
# The figures are wall clock on this machine: the load average before and after is printed
# with them. Everything it writes is in a temporary folder, removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
COUNT=${KGRADE_BENCH_COUNT:-30}
CLUSTER=1
COMPILE=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --count) COUNT=${2:?--count needs a number}; shift 2 ;;
    --count=*) COUNT=${1#*=}; shift ;;
    --no-cluster) CLUSTER=0; shift ;;
    --no-compile) COMPILE=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-batch: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || { echo "bench-batch: --count wants a positive number, not $COUNT" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-batch-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { printf 'bench-batch: %s\n' "$*" >&2; }
KGRADE=(node "$ROOT/bin/kgrade.js")

if ((COMPILE)); then
  log "compiling (npm run build)"
  npm run --silent build
fi

# class LAB DIR: COUNT submission folders in DIR, reference and each wrong case in turn.
class() {
  local lab=$1 dir=$2 i=0 kinds=(reference) w
  for w in "$lab"/wrong/*/; do [[ -d $w ]] && kinds+=("wrong/$(basename "$w")"); done
  mkdir -p "$dir"
  while ((i < COUNT)); do
    cp -r "$lab/${kinds[i % ${#kinds[@]}]}" "$dir/$(printf 'student-%03d' "$i")"
    i=$((i + 1))
  done
  log "$(basename "$lab"): a class of $COUNT from ${#kinds[@]} kinds (${kinds[*]})"
}

declare -a ROWS=()
failed=0

# bench LAB [extra kgrade options...]: grades the class with --jobs 1 and --jobs 4.
bench() {
  local lab=$1 id
  shift
  id=$(basename "$lab")
  class "$lab" "$WORK/$id/class"
  local jobs wall1=
  for jobs in 1 4; do
    local out="$WORK/$id/out-j$jobs" t0 t1 rc=0
    log "$id: kgrade batch --jobs $jobs ($COUNT submissions)"
    t0=$EPOCHREALTIME
    "${KGRADE[@]}" batch "$lab" "$WORK/$id/class" --out "$out" --jobs "$jobs" --no-build "$@" >"$WORK/$id/j$jobs.jsonl" 2>"$WORK/$id/j$jobs.err" || rc=$?
    t1=$EPOCHREALTIME
    local wall graded
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
    graded=$(grep -c '"status":"graded"' "$WORK/$id/j$jobs.jsonl" || true)
    if ((rc != 0)); then
      failed=1
      log "$id --jobs $jobs: exit $rc, $graded of $COUNT graded; its time means nothing. Last lines:"
      tail -n 15 "$WORK/$id/j$jobs.err" >&2
    fi
    local per speedup='-'
    per=$(awk -v w="$wall" -v n="$COUNT" 'BEGIN{printf "%.2f", w/n}')
    if [[ $jobs == 1 ]]; then wall1=$wall; else speedup=$(awk -v a="$wall1" -v b="$wall" 'BEGIN{printf "%.2fx", a/b}'); fi
    ROWS+=("$(printf '%-16s %6s %8s %9s %10s %9s' "$id" "$jobs" "$graded/$COUNT" "$wall" "$per" "$speedup")")
  done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"${KGRADE[@]}" clean >/dev/null
bench "$ROOT/labs/ch01-isolation"

cluster_note=
if ((CLUSTER == 0)); then
  cluster_note="cluster lab skipped (--no-cluster)"
elif "${KGRADE[@]}" cluster status >"$WORK/cluster-status.txt" 2>&1; then
  bench "$ROOT/labs/smoke-cluster"
else
  cluster_note="cluster lab skipped: no healthy cluster (kgrade cluster status: $(tail -n 1 "$WORK/cluster-status.txt"))"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "kgrade batch: $COUNT submissions per class; nproc $(nproc); load average before $LOAD_BEFORE, after $LOAD_AFTER"
printf '%-16s %6s %8s %9s %10s %9s\n' lab jobs graded "wall s" "s/subm." speed-up
for r in "${ROWS[@]}"; do echo "$r"; done
[[ -n $cluster_note ]] && echo "$cluster_note"
exit "$failed"
