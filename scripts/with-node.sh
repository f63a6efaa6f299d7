#!/usr/bin/env bash
# scripts/with-node.sh MAJOR COMMAND [ARG...] — runs COMMAND with Node.js MAJOR (e.g. 22, 24)
# first on PATH. Node's Linux binaries come from the npm registry, as the package
# node-linux-<arch> (what the registry's `node` package installs), the newest release of that
# major; installed once into ${KGRADE_CACHE:-~/.cache/kgrade}/node/MAJOR and reused after.
# Only the node binary is there: npm and npx stay the ones on PATH.
#   scripts/with-node.sh 24 node --version
#   scripts/with-node.sh 22 node --test dist/test/unit/*.test.js
set -euo pipefail
ME=with-node
major=${1:-}
[[ $major =~ ^[1-9][0-9]*$ && $# -ge 2 ]] || { echo "usage: scripts/with-node.sh MAJOR COMMAND [ARG...]   (e.g. 24 node --version)" >&2; exit 2; }
shift
case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "$ME: no node-linux package for $(uname -m)" >&2; exit 2 ;;
esac
dir=${KGRADE_CACHE:-$HOME/.cache/kgrade}/node/$major

installed() { [[ -x $dir/bin/node ]] && [[ $("$dir/bin/node" --version 2>/dev/null) == "v$major."* ]]; }
if ! installed; then
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "$ME: installing node-linux-$arch@$major from the npm registry into $dir" >&2
  npm install --prefix "$tmp" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "node-linux-$arch@$major" >&2
  [[ -x $tmp/node_modules/node-linux-$arch/bin/node ]] || { echo "$ME: node-linux-$arch@$major has no bin/node" >&2; exit 1; }
  rm -rf "$dir"
  mv "$tmp/node_modules/node-linux-$arch" "$dir"
  rm -rf "$tmp"
  trap - EXIT
  installed || { echo "$ME: $dir/bin/node is not Node.js $major: $("$dir/bin/node" --version 2>&1)" >&2; exit 1; }
fi
PATH=$dir/bin:$PATH exec "$@"
