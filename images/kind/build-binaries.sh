#!/usr/bin/env bash
# The slow, docker-free part of the offline kind build: every binary compiled
# from the Go module proxy (Kubernetes, etcd, CoreDNS, pause, containerd and the
# CNI plugins, local-path-provisioner, kind, the registry), each cached under $KGRADE_CACHE and
# skipped when there. Go runs under `nice -n 19` (images/k8s/lib.sh), so this can
# run beside other work: scripts/test.sh starts it in the background while the
# sandbox stages run, and `kgrade cluster up` (images/kind/build-all.sh) then
# only assembles the images. One run at a time: a second one (.ci/run starts it
# before npm ci; test.sh and cluster up start it again) waits for the first, then
# finds every stage cached.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../k8s/lib.sh"
mkdir -p "$KGRADE_CACHE"
exec 8>"$KGRADE_CACHE/.binaries.lock"
flock -n 8 || { log "another build of the binaries runs: waiting for it"; flock 8; }
# Two lanes: Kubernetes, the longest compile, beside the others one after another (about as long
# together, cold). A lane that waits on the module proxy or on a link leaves the CPU to the other,
# and two lanes take more of what other work on the machine leaves idle.
others() {
  "$ROOT/images/k8s/build-etcd.sh"
  "$ROOT/images/k8s/build-coredns.sh"
  "$ROOT/images/k8s/build-pause.sh"
  "$HERE/build-containerd.sh"
  "$HERE/build-local-path.sh"
  "$HERE/build-kind.sh"
  "$ROOT/images/registry/build.sh" --binary
}
"$ROOT/images/k8s/build.sh" &
k8s=$!
(others) &
rest=$!
failed=()
wait "$k8s" || failed+=("Kubernetes")
wait "$rest" || failed+=("etcd, CoreDNS, pause, containerd, CNI, local-path-provisioner, kind or the registry")
((${#failed[@]} == 0)) || die "the build of ${failed[*]} failed (see above)"
log "binaries done"
