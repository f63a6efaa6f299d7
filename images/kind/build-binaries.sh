#!/usr/bin/env bash
# The slow, docker-free part of the offline kind build: every binary compiled
# from the Go module proxy (Kubernetes, etcd, CoreDNS, pause, containerd and the
# CNI plugins, local-path-provisioner, kind), each cached under $KGRADE_CACHE and
# skipped when there. Go runs under `nice -n 19` (images/k8s/lib.sh), so this can
# run beside other work: scripts/test.sh starts it in the background while the
# sandbox stages run, and `kgrade cluster up` (images/kind/build-all.sh) then
# only assembles the images.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../k8s/lib.sh"
"$ROOT/images/k8s/build.sh"
"$ROOT/images/k8s/build-etcd.sh"
"$ROOT/images/k8s/build-coredns.sh"
"$ROOT/images/k8s/build-pause.sh"
"$HERE/build-containerd.sh"
"$HERE/build-local-path.sh"
"$HERE/build-kind.sh"
log "binaries done"
