#!/usr/bin/env bash
# Builds the Kubernetes binaries kind needs from the k8s.io/kubernetes Go
# module (no git checkout, no registry):
#   kubeadm kubelet kubectl kube-apiserver kube-controller-manager
#   kube-scheduler kube-proxy
# into $KGRADE_CACHE/k8s/<version>/bin, with real version strings.
#
# k8s.io/kubernetes replaces ~30 staging modules (k8s.io/api, client-go, ...)
# with local paths, so `go install` refuses it. We build through a small
# wrapper module that requires k8s.io/kubernetes and replaces each staging
# module with its published v0.<minor>.<patch> release; the replace list is
# generated from kubernetes' own go.mod. Every staging module must exist at
# exactly v0.<minor>.<patch> (no mixing of patches); the module proxy reached
# here serves all of them for v1.31.0 but not for v1.31.14 (see
# images/kind/NOTES.md).
#
# Usage: images/k8s/build.sh            (version from images/k8s/versions.env)
#        K8S_VERSION=v1.31.0 images/k8s/build.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

# K8S_VERSION comes from versions.env (via lib.sh); override it in the environment.
[[ $K8S_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "bad K8S_VERSION $K8S_VERSION"
MINOR=${BASH_REMATCH[1]}
STAGING_VERSION=v0.${K8S_VERSION#v1.}
OUT=$KGRADE_CACHE/k8s/$K8S_VERSION
SRC=$OUT/src
BIN=$OUT/bin
BINARIES=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
# gitCommit is not in the module proxy's metadata; pass the tag's commit if
# known. gitTreeState=clean: the source is exactly the tagged module zip.
K8S_GIT_COMMIT=${K8S_GIT_COMMIT:-0000000000000000000000000000000000000000}
# buildDate: the tag's time from the module proxy, so rebuilds are identical.
mkdir -p "$OUT"
log "Kubernetes $K8S_VERSION -> $OUT"

gen_module() {
  rm -rf "$SRC"; mkdir -p "$SRC"
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" > "$OUT/module.json"
  local kmod kdir goline m
  kmod=$(sed -n 's/.*"GoMod": "\(.*\)",/\1/p' "$OUT/module.json")
  kdir=$(sed -n 's/.*"Dir": "\(.*\)",/\1/p' "$OUT/module.json")
  [[ -f $kmod && -d $kdir ]] || die "module download failed"
  goline=$(awk '$1=="go"{print $2; exit}' "$kmod")
  {
    echo "module kgrade.local/k8s-build"
    echo
    echo "go $goline"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
  } > "$SRC/go.mod"
  local missing=()
  while read -r m; do
    # `go list -m` only reads .info; the zip and its checksum can still be
    # missing on a mirror, so really download.
    go mod download "$m@$STAGING_VERSION" >/dev/null 2>&1 || missing+=("$m")
    echo "	$m => $m $STAGING_VERSION" >> "$SRC/go.mod"
  done < <(sed -n '/^replace (/,/^)/p' "$kmod" | awk '$2=="=>" && $3 ~ /^\.\/staging\//{print $1}')
  ((${#missing[@]} == 0)) || die "the module proxy lacks (or cannot verify) $STAGING_VERSION of: ${missing[*]}; pick another K8S_VERSION"
  echo ")" >> "$SRC/go.mod"
  {
    echo "//go:build tools"
    echo
    echo "// Package tools pins the commands this module builds."
    echo "package tools"
    echo
    echo "import ("
    for b in "${BINARIES[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
    echo ")"
  } > "$SRC/tools.go"
  (cd "$SRC" && $NICE go mod tidy -e)
  log "  go.mod: $(grep -c '=>' "$SRC/go.mod") replaces, $(grep -c . "$SRC/go.sum") go.sum lines"
}

ldflags() {
  local date pkg
  date=$(sed -n 's/.*"Time": "\(.*\)",*/\1/p' "$OUT/module.json" | head -1)
  date=$(date -u -d "$date" +%Y-%m-%dT%H:%M:%SZ)
  printf '%s' "-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf ' -X %s' \
      "$pkg.gitVersion=$K8S_VERSION" "$pkg.gitMajor=1" "$pkg.gitMinor=$MINOR" \
      "$pkg.gitCommit=$K8S_GIT_COMMIT" "$pkg.gitTreeState=clean" \
      "$pkg.buildDate=$date"
  done
}

build_bins() {
  local pkgs=() b
  for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  rm -rf "$BIN.tmp"; mkdir -p "$BIN.tmp"
  # Official builds link every binary but kubelet statically (kubelet uses
  # cgo only for the glibc resolver/user lookups); a static kubelet runs on
  # any node base, so everything here is CGO_ENABLED=0.
  (cd "$SRC" && CGO_ENABLED=0 $NICE go build -trimpath -ldflags "$(ldflags)" \
      -o "$BIN.tmp/" "${pkgs[@]}")
  rm -rf "$BIN"; mv "$BIN.tmp" "$BIN"
  ls -l "$BIN"
}

verify() {
  "$BIN/kubeadm" version -o short | tee "$OUT/kubeadm-version.txt"
  [[ $(cat "$OUT/kubeadm-version.txt") == "$K8S_VERSION" ]] || die "kubeadm reports $(cat "$OUT/kubeadm-version.txt")"
  "$BIN/kubectl" version --client
  "$BIN/kubelet" --version
  "$BIN/kube-apiserver" --version
  "$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" | tee "$OUT/images.txt"
}

stage "module $K8S_VERSION" "$OUT/.module.done" gen_module
stage "build ${BINARIES[*]}" "$OUT/.build.done" build_bins
stage verify "$OUT/.verify.done" verify
log "binaries: $BIN"
log "images kubeadm wants: $(tr '\n' ' ' < "$OUT/images.txt")"
