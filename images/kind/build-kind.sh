#!/usr/bin/env bash
# Builds the kind CLI $KIND_VERSION (images/k8s/versions.env) with
# `go install sigs.k8s.io/kind@VERSION` (kind's documented install; its go.mod
# has no replace directives) into $KGRADE_CACHE/kind/<version>/bin/kind.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
OUT=$KGRADE_CACHE/kind/$KIND_VERSION
log "kind $KIND_VERSION -> $OUT"

build() {
  mkdir -p "$OUT/bin"
  GOBIN=$OUT/bin CGO_ENABLED=0 $NICE go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
}
verify() { "$OUT/bin/kind" version; }

stage "build kind" "$OUT/.build.done" build
stage "verify kind" "$OUT/.verify.done" verify
log "binary: $OUT/bin/kind"
