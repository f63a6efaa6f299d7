# shellcheck shell=bash
# Which apt fetches Debian's kernel package for images/vm/build.sh (sourced by it).
#   host        the host's own apt: a Debian host, with the mirror, proxy and keys it is
#               configured with.
#   node-image  apt in a container of the node image (Debian bookworm, its own sources.list):
#               for hosts whose apt has no Debian packages (Ubuntu, GitHub's hosted runners).
# KGRADE_VM_KERNEL_FROM=host or node-image forces one; auto (the default) takes host when the
# host's apt knows the package, node-image otherwise.

# kernel_route PACKAGE: prints host or node-image; status 2 (and why, on stderr) for a bad value.
kernel_route() {
  local package=$1 want=${KGRADE_VM_KERNEL_FROM:-auto}
  case $want in
    host | node-image) echo "$want" ;;
    auto)
      if apt-cache show --no-all-versions "$package" >/dev/null 2>&1; then echo host; else echo node-image; fi
      ;;
    *)
      echo "KGRADE_VM_KERNEL_FROM=$want: expected host, node-image or auto" >&2
      return 2
      ;;
  esac
}

# The fetch itself, the same script on either route: run with bash -c in the folder the .debs go
# to, PACKAGE as $1. It downloads PACKAGE (a meta package) and the versioned kernel it depends
# on, updating apt's lists once if the package is not known yet, and prints the versioned name.
# shellcheck disable=SC2016,SC2034 # expanded by the bash that runs it; used by build.sh
KERNEL_FETCH='
set -euo pipefail
get() { apt-get download -q -o APT::Sandbox::User=root "$1" >/dev/null; }
get "$1" 2>/dev/null || { apt-get update -q >/dev/null && get "$1"; }
dep=$(dpkg-deb -f "$1"_*.deb Depends | tr "," "\n" | grep -o "linux-image-[^ ]*" | head -n1)
[[ -n $dep ]] || { echo "cannot tell which kernel $1 depends on" >&2; exit 1; }
get "$dep"
echo "$dep"
'
