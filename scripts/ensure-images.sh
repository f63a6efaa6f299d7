#!/usr/bin/env bash
# scripts/ensure-images.sh — make sure Docker works and kgrade's offline
# images exist: runs scripts/setup-docker.sh, images/node/build.sh and
# images/busybox/build.sh. Idempotent; when everything is present it takes
# well under 2 s (one `docker info`, one privileged probe run, three image
# inspects). Progress goes to stderr prefixed with "ensure-images:" (and each
# script's own prefix); stdout gets the two image refs, node image first:
#   kgrade/node:<images/node/VERSION>
#   busybox:1.36
set -euo pipefail

ME=ensure-images
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T0=$EPOCHREALTIME
log() { printf '%s: %s\n' "$ME" "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2fs", b-a}'; }
run() {
  local name=$1 t=$EPOCHREALTIME out
  shift
  out=$("$@") || { log "$name failed"; exit 1; }
  log "$name done in $(elapsed "$t")"
  [[ -z $out ]] || printf '%s\n' "$out" | tail -n 1
}

run setup-docker "$ROOT/scripts/setup-docker.sh" >/dev/null
node=$(run node-image "$ROOT/images/node/build.sh")
busybox=$(run busybox-image "$ROOT/images/busybox/build.sh")
log "all ready in $(elapsed "$T0")"
printf '%s\n%s\n' "$node" "$busybox"
