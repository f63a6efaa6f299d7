#!/usr/bin/env bash
# bench/docker-trace.sh — a stand-in for the docker CLI that records every call.
# kgrade uses it through KGRADE_DOCKER, the shell equivalents through BENCH_DOCKER.
# Appends one line per call to $BENCH_TRACE (default /dev/null):
#   <subcommand> <milliseconds> <exit code> <arguments, flattened, first 160 chars>
# then exits with docker's own exit code. Adds one bash start (~5 ms) per call,
# so scripts/bench.sh never uses it for the timed runs, only for the counting pass.
t0=${EPOCHREALTIME/./}
${BENCH_REAL_DOCKER:-docker} "$@"
rc=$?
t1=${EPOCHREALTIME/./}
args="$*"
args=${args//$'\n'/ }
printf '%s %d %d %s\n' "${1:-none}" $(( (t1 - t0) / 1000 )) "$rc" "${args:0:160}" >>"${BENCH_TRACE:-/dev/null}"
exit "$rc"
