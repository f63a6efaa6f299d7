#!/usr/bin/env bash
# Builds containerd $CONTAINERD_VERSION (containerd, ctr,
# containerd-shim-runc-v2) and the CNI plugins $CNI_PLUGINS_VERSION
# (host-local, loopback, ptp, portmap, bridge) from the Go module proxy, the
# pieces kind's base image builds from source. CGO_ENABLED=0 (as containerd's
# shim and its static release; cgo-only btrfs is left out by its build tags).
# Output: $KGRADE_CACHE/containerd/<version>/bin, $KGRADE_CACHE/cni/<version>/bin
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
C_OUT=$KGRADE_CACHE/containerd/$CONTAINERD_VERSION
N_OUT=$KGRADE_CACHE/cni/$CNI_PLUGINS_VERSION
log "containerd $CONTAINERD_VERSION -> $C_OUT; CNI plugins $CNI_PLUGINS_VERSION -> $N_OUT"

build_containerd() {
  local m=github.com/containerd/containerd
  GOFLAGS="$GOFLAGS -tags=urfave_cli_no_docs,osusergo,netgo" go_wrapper_build "$C_OUT" "$m@$CONTAINERD_VERSION" \
    "-s -w -X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Package=$m" \
    "$m/cmd/containerd" "$m/cmd/ctr" "$m/cmd/containerd-shim-runc-v2"
}
build_cni() {
  local m=github.com/containernetworking/plugins
  go_wrapper_build "$N_OUT" "$m@$CNI_PLUGINS_VERSION" \
    "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    "$m/plugins/ipam/host-local" "$m/plugins/main/loopback" "$m/plugins/main/ptp" \
    "$m/plugins/meta/portmap" "$m/plugins/main/bridge"
}
verify() {
  "$C_OUT/bin/containerd" --version
  "$C_OUT/bin/ctr" --version
  "$C_OUT/bin/containerd-shim-runc-v2" -v
  CNI_COMMAND=VERSION "$N_OUT/bin/ptp" </dev/null
}

stage "build containerd" "$C_OUT/.build.done" build_containerd
stage "build CNI plugins" "$N_OUT/.build.done" build_cni
stage "verify containerd+cni" "$C_OUT/.verify-$CNI_PLUGINS_VERSION.done" verify
log "binaries: $C_OUT/bin $N_OUT/bin"
