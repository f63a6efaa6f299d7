#!/usr/bin/env bash
# Builds rancher's local-path-provisioner $LOCAL_PATH_VERSION (the version
# kind's own kindest/local-path-provisioner image is built from) from the Go
# module proxy into $KGRADE_CACHE/local-path-provisioner/<version>/bin,
# CGO_ENABLED=0 and -X main.VERSION like its scripts/build.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
OUT=$KGRADE_CACHE/local-path-provisioner/$LOCAL_PATH_VERSION
log "local-path-provisioner $LOCAL_PATH_VERSION -> $OUT"

build() {
  go_wrapper_build "$OUT" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" \
    "-s -w -X main.VERSION=$LOCAL_PATH_VERSION" github.com/rancher/local-path-provisioner
}
verify() { "$OUT/bin/local-path-provisioner" --version; }

stage "build local-path-provisioner" "$OUT/.build.done" build
stage "verify local-path-provisioner" "$OUT/.verify.done" verify
log "binary: $OUT/bin/local-path-provisioner"
