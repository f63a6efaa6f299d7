#!/usr/bin/env bash
# scripts/bench-warm.sh — how long a warm cluster grade spends outside its scenarios,
# this tree against another revision, taking turns in one run. Prints figures; asserts
# nothing about speed.
#
#   scripts/bench-warm.sh [--against REV] [--runs N] [--lab LAB]
#
#   --against REV  the revision to compare with (default: none, this tree only). It is
#                  checked out into a temporary git worktree that borrows this tree's
#                  node_modules, built with tsc (and the client bundle when it has one),
#                  and removed at the end.
#   --runs N       grades per side (default 5), alternating which side goes first
#   --lab LAB      the cluster lab whose reference is graded (default smoke-cluster)
#
# Per grade: wall clock of the whole `kgrade grade` command, the time inside
# gradeSubmission (results.json durationMs) and their difference, "outside": node's
# start, module loading, the warm cluster check, reports. The cluster (KGRADE_CLUSTER,
# default kgrade) must be up and provisioned: this measures its reuse.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
AGAINST=
RUNS=5
LAB=smoke-cluster
while [[ $# -gt 0 ]]; do
  case $1 in
    --against) AGAINST=${2:?--against needs a revision}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --lab) LAB=${2:?--lab needs a lab}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-warm: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench-warm: --runs wants a positive number, not $RUNS" >&2; exit 2; }
[[ -f labs/$LAB/lab.yaml ]] || { echo "bench-warm: no lab labs/$LAB" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-warm.XXXXXX")
OTHER=
cleanup() {
  if [[ -n $OTHER ]]; then git worktree remove --force "$OTHER" >/dev/null 2>&1 || rm -rf "$OTHER"; git worktree prune; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

npm run --silent build >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 2; }
SIDES=(here)
declare -A DIR=([here]=$ROOT)
if [[ -n $AGAINST ]]; then
  rev=$(git rev-parse --short "$AGAINST^{commit}") || { echo "bench-warm: no revision $AGAINST" >&2; exit 2; }
  OTHER=$WORK/other
  git worktree add --detach -q "$OTHER" "$rev"
  ln -s "$ROOT/node_modules" "$OTHER/node_modules"
  ( cd "$OTHER" && npx tsc -p tsconfig.json && { [[ ! -f scripts/bundle-client.mjs ]] || node scripts/bundle-client.mjs 2>/dev/null; } ) \
    || { echo "bench-warm: building $rev failed" >&2; exit 2; }
  SIDES+=("$rev")
  DIR[$rev]=$OTHER
fi

# one SIDE I: a grade of the lab's reference by that side's kgrade
declare -A WALL OUT
one() {
  local side=$1 i=$2 out=$WORK/$1-$2 t0 took core
  t0=$EPOCHREALTIME
  if ! node "${DIR[$side]}/bin/kgrade.js" grade "labs/$LAB" --submission "labs/$LAB/reference" --out "$out" >"$out.log" 2>&1; then
    echo "bench-warm: $side's grade $i failed:" >&2; tail -n 15 "$out.log" >&2; exit 1
  fi
  took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  grep -q 'reusing healthy cluster' "$out.log" || { echo "bench-warm: $side's grade $i did not reuse the cluster (not warm)" >&2; exit 1; }
  core=$(node -e 'const r = require(process.argv[1]); if (r.score !== r.maxScore) process.exit(1); console.log((r.durationMs / 1000).toFixed(2))' "$out/results.json") \
    || { echo "bench-warm: $side's grade $i did not give the reference full marks" >&2; exit 1; }
  WALL[$side]+=" $took"
  OUT[$side]+=" $(awk -v a="$took" -v c="$core" 'BEGIN { printf "%.2f", a - c }')"
  printf '  %-10s run %d: %6s s wall, %6s s inside, %6s s outside\n' "$side" "$i" "$took" "$core" "$(awk -v a="$took" -v c="$core" 'BEGIN { printf "%.2f", a - c }')"
}

echo "bench-warm: labs/$LAB reference, $RUNS grade(s) per side, sides: ${SIDES[*]}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$RUNS"); do
  order=("${SIDES[@]}")
  (( i % 2 == 0 )) && mapfile -t order < <(printf '%s\n' "${SIDES[@]}" | tac)
  for side in "${order[@]}"; do one "$side" "$i"; done
done
echo
printf '  %-10s %12s %14s\n' side "wall s" "outside s"
for side in "${SIDES[@]}"; do
  printf '  %-10s %12s %14s\n' "$side" "$(median <<<"${WALL[$side]}")" "$(median <<<"${OUT[$side]}")"
done
if [[ ${#SIDES[@]} == 2 ]]; then
  o=${SIDES[1]}
  echo "  ratio here / $o: wall $(awk -v a="$(median <<<"${WALL[here]}")" -v b="$(median <<<"${WALL[$o]}")" 'BEGIN { printf "%.2f", a / b }'), outside $(awk -v a="$(median <<<"${OUT[here]}")" -v b="$(median <<<"${OUT[$o]}")" 'BEGIN { printf "%.2f", a / b }') (medians)"
fi
echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
