# shellcheck shell=bash
# Progress and timing for kgrade's setup and image scripts. Source it after
# setting ME (the prefix of every line) and DOCKER (the docker client).
# Lines go to stderr: stdout is kept for what a script prints as its result.
T0=$EPOCHREALTIME
log() { printf '%s: %s\n' "$ME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2fs", b-a}'; }
stage() { STAGE=$1; ST=$EPOCHREALTIME; log "[$STAGE] ..."; }
done_stage() { log "[$STAGE] done in $(elapsed "$ST")${1:+ ($1)}"; }
d() { "$DOCKER" "$@"; }
# For image scripts: the image REF is ready; say so, print it, stop.
finish() { log "$REF ready ($(elapsed "$T0") total)"; echo "$REF"; exit 0; }
