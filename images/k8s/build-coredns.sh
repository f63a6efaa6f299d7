#!/usr/bin/env bash
# Builds CoreDNS $COREDNS_VERSION (versions.env; the version kubeadm lists)
# from the Go module proxy into $KGRADE_CACHE/coredns/<COREDNS_BUILD>/bin/coredns,
# CGO_ENABLED=0 like CoreDNS's own Makefile, with the default plugin set but
# the ones in LEFT_OUT:
# - trace: its Datadog tracer needs inet.af/netaddr, which the module proxy
#   reached here refuses (403), and no Corefile of kgrade's traces;
# - azure, clouddns, route53: they serve zones from a cloud provider's DNS API,
#   which an offline cluster never reaches, and their SDKs are a large share of
#   a cold compile.
# The plugin list is read from the module's own core/plugin/zplugin.go, so a
# main of our own imports the rest as CoreDNS's own main does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
OUT=$KGRADE_CACHE/coredns/$COREDNS_BUILD
LEFT_OUT=(trace azure clouddns route53)
log "coredns $COREDNS_VERSION -> $OUT"

build() {
  local dir plugins
  dir=$(go_module_dir "github.com/coredns/coredns@$COREDNS_VERSION")
  [[ -f $dir/core/plugin/zplugin.go ]] || die "github.com/coredns/coredns@$COREDNS_VERSION: no core/plugin/zplugin.go in the module ($dir)"
  plugins=$(grep -E '^[[:space:]]*_ "' "$dir/core/plugin/zplugin.go" |
    grep -vE "/plugin/($(IFS='|'; echo "${LEFT_OUT[*]}"))\"\$")
  WRAPPER_NAME=coredns WRAPPER_MAIN=$(printf 'package main\n\nimport (\n%s\n\t"github.com/coredns/coredns/coremain"\n)\n\nfunc main() { coremain.Run() }' "$plugins") \
    go_wrapper_build "$OUT" "github.com/coredns/coredns@$COREDNS_VERSION" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    github.com/coredns/coredns/coremain
}
# kubeadm's Corefile needs kubernetes, forward, cache, loop, reload, loadbalance, errors, health, ready and prometheus.
verify() {
  local listed p
  "$OUT/bin/coredns" -version
  listed=$("$OUT/bin/coredns" -plugins)
  for p in kubernetes forward cache loop reload loadbalance errors health ready prometheus; do
    grep -qx "  dns.$p" <<<"$listed" || die "coredns lacks the $p plugin"
  done
  for p in "${LEFT_OUT[@]}"; do
    ! grep -qx "  dns.$p" <<<"$listed" || die "coredns has the $p plugin, which this build leaves out"
  done
}

stage "build coredns" "$OUT/.build.done" build
stage "verify coredns" "$OUT/.verify.done" verify
log "binary: $OUT/bin/coredns"
