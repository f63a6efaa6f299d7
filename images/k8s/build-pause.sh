#!/usr/bin/env bash
# Builds pause ($PAUSE_VERSION, the image tag kubeadm lists) statically from
# build/pause/linux/pause.c in the k8s.io/kubernetes module source (Go module
# cache), as kubernetes' build/pause Makefile does:
#   gcc -Os -Wall -Werror -static -DVERSION=v<ver>-<k8s>
# Output: $KGRADE_CACHE/pause/<version>/bin/pause
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
OUT=$KGRADE_CACHE/pause/$PAUSE_VERSION
log "pause $PAUSE_VERSION (source from k8s.io/kubernetes@$K8S_VERSION) -> $OUT"

build() {
  command -v gcc >/dev/null || die "gcc missing: apt-get install gcc libc6-dev"
  local dir src
  dir=$(go_module_dir "k8s.io/kubernetes@$K8S_VERSION")
  src=$dir/build/pause/linux/pause.c
  [[ -f $src ]] || die "no $src"
  mkdir -p "$OUT/bin"
  $NICE gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-$K8S_VERSION" \
    -o "$OUT/bin/pause" "$src"
  strip "$OUT/bin/pause"
  cp "$src" "$OUT/pause.c"
}
verify() {
  "$OUT/bin/pause" -v
  file "$OUT/bin/pause" 2>/dev/null | grep -q 'statically linked' || ldd "$OUT/bin/pause" 2>&1 | grep -q 'not a dynamic'
}

stage "build pause" "$OUT/.build.done" build
stage "verify pause" "$OUT/.verify.done" verify
log "binary: $OUT/bin/pause"
