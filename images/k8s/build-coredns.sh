#!/usr/bin/env bash
# Builds CoreDNS $COREDNS_VERSION (versions.env; the version kubeadm lists)
# from the Go module proxy into $KGRADE_CACHE/coredns/<version>/bin/coredns,
# CGO_ENABLED=0 like CoreDNS's own Makefile, with the default plugin set.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
OUT=$KGRADE_CACHE/coredns/$COREDNS_VERSION
log "coredns $COREDNS_VERSION -> $OUT"

build() {
  go_wrapper_build "$OUT" "github.com/coredns/coredns@$COREDNS_VERSION" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    github.com/coredns/coredns
}
verify() { "$OUT/bin/coredns" -version; "$OUT/bin/coredns" -plugins | grep -q kubernetes; }

stage "build coredns" "$OUT/.build.done" build
stage "verify coredns" "$OUT/.verify.done" verify
log "binary: $OUT/bin/coredns"
