#!/bin/bash
# make-root.sh NEWROOT: bash, its libraries and its loader, each at the path
# the loader will look for it once NEWROOT is the root.
set -euo pipefail
root=${1:?usage: make-root.sh NEWROOT}

mkdir -p "$root/bin"
cp /bin/bash "$root/bin/bash"
for lib in $(ldd /bin/bash | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
