#!/usr/bin/env bash
# Everything for offline kind clusters, in order, each stage cached under
# $KGRADE_CACHE: Kubernetes and the other binaries, the cluster's images, the
# node image, the kind CLI, the local registry image. Prints, last, the node
# image ref and the kind binary path.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
"$HERE/build-kind.sh"
node=$("$HERE/build-node.sh" | tail -1)
"$HERE/../registry/build.sh" >/dev/null
log "all done"
echo "$node"
echo "$KGRADE_CACHE/kind/$KIND_VERSION/bin/kind"
