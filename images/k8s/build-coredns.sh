#!/usr/bin/env bash
# Builds CoreDNS $COREDNS_VERSION (versions.env; the version kubeadm lists)
# from the Go module proxy into $KGRADE_CACHE/coredns/<version>/bin/coredns,
# CGO_ENABLED=0 like CoreDNS's own Makefile, with the default plugin set but
# one: `trace`. Its Datadog tracer needs inet.af/netaddr, which the module
# proxy reached here refuses (403), and no Corefile of kgrade's traces. The
# plugin list is read from the module's own core/plugin/zplugin.go, so a main
# of our own imports the rest as CoreDNS's own main does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
OUT=$KGRADE_CACHE/coredns/$COREDNS_VERSION
log "coredns $COREDNS_VERSION -> $OUT"

build() {
  local dir plugins
  dir=$(cd "$KGRADE_CACHE" && go mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -f $dir/core/plugin/zplugin.go ]] || die "github.com/coredns/coredns@$COREDNS_VERSION: no core/plugin/zplugin.go in the module ($dir)"
  plugins=$(grep -E '^[[:space:]]*_ "' "$dir/core/plugin/zplugin.go" | grep -v '/plugin/trace"')
  WRAPPER_NAME=coredns WRAPPER_MAIN=$(printf 'package main\n\nimport (\n%s\n\t"github.com/coredns/coredns/coremain"\n)\n\nfunc main() { coremain.Run() }' "$plugins") \
    go_wrapper_build "$OUT" "github.com/coredns/coredns@$COREDNS_VERSION" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    github.com/coredns/coredns/coremain
}
verify_no_trace() { ! "$OUT/bin/coredns" -plugins | grep -qx '  dns.trace'; }
verify() { "$OUT/bin/coredns" -version; "$OUT/bin/coredns" -plugins | grep -q kubernetes && verify_no_trace; }

stage "build coredns" "$OUT/.build.done" build
stage "verify coredns" "$OUT/.verify.done" verify
log "binary: $OUT/bin/coredns"
