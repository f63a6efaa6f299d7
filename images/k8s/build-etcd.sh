#!/usr/bin/env bash
# Builds etcd and etcdctl $ETCD_VERSION (versions.env) from the Go module proxy
# into $KGRADE_CACHE/etcd/<version>/bin. etcd's server module
# (go.etcd.io/etcd/server/v3) has replace directives and no main package of
# its own at the right path, so a wrapper module provides main() calling
# etcdmain.Main, as etcd's root main.go does. Debian's etcd-server (3.4) is
# older than kubeadm's minimum, so it cannot be used.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
OUT=$KGRADE_CACHE/etcd/$ETCD_VERSION
log "etcd $ETCD_VERSION -> $OUT"

build() {
  WRAPPER_NAME=etcd WRAPPER_MAIN='// Command etcd: the etcd server, as etcd'"'"'s own main.go builds it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }' \
  go_wrapper_build "$OUT" \
    "go.etcd.io/etcd/server/v3@$ETCD_VERSION go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION go.etcd.io/etcd/api/v3@$ETCD_VERSION" \
    "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
    go.etcd.io/etcd/etcdctl/v3
}
verify() { "$OUT/bin/etcd" --version; "$OUT/bin/etcdctl" version; }

stage "build etcd" "$OUT/.build.done" build
stage "verify etcd" "$OUT/.verify.done" verify
log "binaries: $OUT/bin"
