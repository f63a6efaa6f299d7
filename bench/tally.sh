#!/usr/bin/env bash
# bench/tally.sh — the per-scenario line every bash baseline prints (sourced by lib.sh and
# cluster-lib.sh): "  ok    NAME 1.2s", "  FAIL  NAME 3.4s" (exit 1: the submission's) or
# "  ERROR NAME 0.5s" (any other exit: the grader's). scripts/bench*.sh and parity.sh read it.
SCENARIOS_RUN=${SCENARIOS_RUN:-0}
SCENARIOS_FAILED=${SCENARIOS_FAILED:-0}

# tally NAME T0 RC: T0 is $EPOCHREALTIME when the scenario began.
tally() {
  local took
  took=$(awk -v a="$2" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  case $3 in
    0) printf '  ok    %s %ss\n' "$1" "$took" ;;
    *) printf '  %-5s %s %ss\n' "$([[ $3 == 1 ]] && echo FAIL || echo ERROR)" "$1" "$took"
       SCENARIOS_FAILED=$((SCENARIOS_FAILED + 1)) ;;
  esac
}
