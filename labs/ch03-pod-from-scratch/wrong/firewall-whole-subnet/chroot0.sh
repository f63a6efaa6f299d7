#!/bin/bash
# The box: bash, ls, ps and kill with their libraries, /proc, and the node's /tmp at /data.
set -euo pipefail
box=/home/namespace/box

mkdir -p "$box/bin" "$box/proc" "$box/data"
for prog in bash ls ps kill; do
  path=$(type -P "$prog")          # the program, not bash's builtin kill
  cp "$path" "$box/bin/"
  for lib in $(ldd "$path" | grep -o '/[^ ]*'); do
    mkdir -p "$box$(dirname "$lib")"
    cp -L "$lib" "$box$lib"
  done
done
mountpoint -q "$box/proc" || mount -t proc proc "$box/proc"
mountpoint -q "$box/data" || mount --bind /tmp "$box/data"

# Standard input is closed when graded, so this shell ends at once; run by hand, you land in the box.
chroot "$box" /bin/bash
