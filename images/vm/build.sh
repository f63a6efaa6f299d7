#!/usr/bin/env bash
# images/vm/build.sh — build what `--isolation vm` boots: a kernel, an initrd
# and a root file system image made from kgrade's node image.
#
# Everything comes from Debian's packages and the node image; nothing is
# installed on the host but the tools (qemu-system-x86, qemu-utils, lz4,
# e2fsprogs), and the kernel package is only downloaded and unpacked: with the
# host's apt on a Debian host, with apt in a container of the node image where
# the host's apt has no such package (Ubuntu); KGRADE_VM_KERNEL_FROM=host or
# node-image forces one (images/vm/kernel-route.sh).
#   vmlinux      Debian's linux-image-cloud-amd64, uncompressed: qemu's
#                microvm machine boots it directly (PVH entry point).
#   initrd.img   busybox (from the node image) and the virtio modules; it
#                loads them, mounts the root disk and switches to it.
#   root.ext4    kgrade/node:<images/node/VERSION> (docker export), with the
#                kernel's modules, the guest agent (images/vm/agent.py) as
#                PID 1 behind a small init (images/vm/init.sh), and about
#                1 GiB free: the sandbox's disk cap. Each VM writes to a qcow2
#                overlay of its own; this image is never written.
#   kernel.release, cmdline, ready   what was built, for the runtime.
#
# Cache: ${KGRADE_CACHE:-$HOME/.cache/kgrade}/vm/<node VERSION>-v<VERSION>/;
# bump images/vm/VERSION whenever this recipe, agent.py or init.sh changes.
# A finished build (the file "ready") is reused as it is.
# Options: --force  rebuild even if the cache is complete.
# Needs root, docker and the node image (images/node/build.sh builds it).
# Progress goes to stderr prefixed with "vm-image:"; the last line on stdout
# is the cache folder.
set -euo pipefail

ME=vm-image
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_VERSION=$(tr -d ' \n' <"$HERE/VERSION")
NODE_VERSION=$(tr -d ' \n' <"$HERE/../node/VERSION")
NODE_IMAGE=${KGRADE_NODE_IMAGE:-kgrade/node:$NODE_VERSION}
DOCKER=${DOCKER:-$(command -v docker || echo /usr/bin/docker)}
REF=$NODE_VERSION-v$VM_VERSION
OUT=${KGRADE_CACHE:-$HOME/.cache/kgrade}/vm/$REF
KERNEL_PACKAGE=linux-image-cloud-amd64
FREE_MIB=1024
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

# The modules the initrd loads, in order, to reach the root disk and the agent's port.
INITRD_MODULES=(virtio_ring virtio virtio_mmio virtio_blk virtio_console)

# shellcheck source=scripts/lib/progress.sh
. "$HERE/../../scripts/lib/progress.sh"
# shellcheck source=images/vm/kernel-route.sh
. "$HERE/kernel-route.sh"
finish() { log "$OUT ready ($(elapsed "$T0") total)"; echo "$OUT"; exit 0; }

[[ $(id -u) == 0 ]] || die "must run as root"
if ((!FORCE)) && [[ -e $OUT/ready ]]; then
  log "$OUT present, nothing to do"
  finish
fi

need_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v qemu-img >/dev/null || missing+=(qemu-utils)
  command -v lz4 >/dev/null || missing+=(lz4)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v depmod >/dev/null || missing+=(kmod)
  ((${#missing[@]} == 0)) && return
  log "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

mkdir -p "$(dirname "$OUT")"
exec 9>"$(dirname "$OUT")/.lock"
flock -w 1800 9 || die "another build holds $(dirname "$OUT")/.lock"
if ((!FORCE)) && [[ -e $OUT/ready ]]; then finish; fi

need_tools
d image inspect "$NODE_IMAGE" >/dev/null 2>&1 || die "$NODE_IMAGE is not built: run images/node/build.sh first"

work=$(mktemp -d "$(dirname "$OUT")/build.XXXXXX")
container=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  [[ -z $container ]] || d rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

stage kernel
route=$(kernel_route "$KERNEL_PACKAGE") || die "bad KGRADE_VM_KERNEL_FROM"
mkdir "$work/debs"
if [[ $route == host ]]; then
  image_package=$(cd "$work/debs" && bash -c "$KERNEL_FETCH" fetch "$KERNEL_PACKAGE") ||
    die "the host's apt could not download $KERNEL_PACKAGE (KGRADE_VM_KERNEL_FROM=node-image fetches it in the node image)"
else
  [[ -n ${KGRADE_VM_KERNEL_FROM:-} ]] || log "the host's apt has no $KERNEL_PACKAGE: fetching it with apt in $NODE_IMAGE"
  image_package=$(d run --rm --pull never -v "$work/debs:/debs" -w /debs "$NODE_IMAGE" \
    bash -c "$KERNEL_FETCH" fetch "$KERNEL_PACKAGE") ||
    die "apt in $NODE_IMAGE could not download $KERNEL_PACKAGE (does a container reach the Debian mirror in its /etc/apt/sources.list?)"
fi
deb=$(find "$work/debs" -maxdepth 1 -name "${image_package}_*.deb" | head -n1)
[[ -n $deb ]] || die "$image_package was not downloaded"
mkdir "$work/kernel"
dpkg-deb -x "$deb" "$work/kernel"
release=$(basename "$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")
vmlinuz=$work/kernel/boot/vmlinuz-$release
[[ -f $vmlinuz ]] || die "$image_package has no /boot/vmlinuz-$release"
# Debian compresses this kernel with LZ4 (legacy frame, magic 02 21 4c 18): unpack from the first frame on.
offset=$(grep -obUaP '\x02\x21\x4c\x18' "$vmlinuz" | head -n1 | cut -d: -f1)
[[ -n $offset ]] || die "no LZ4 frame in $vmlinuz (has Debian changed the kernel's compression?)"
tail -c +"$((offset + 1))" "$vmlinuz" | lz4 -dc >"$work/vmlinux" 2>/dev/null || true
[[ $(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] || die "the unpacked kernel is not an ELF file"
depmod -b "$work/kernel" "$release"
done_stage "$image_package from the $route apt, $release, $(du -h "$work/vmlinux" | cut -f1)"

stage initrd
init=$work/initrd
mkdir -p "$init"/{bin,dev,proc,sys,newroot,modules}
container=$(d create "$NODE_IMAGE" true)
d cp "$container:/bin/busybox" "$init/bin/busybox"
for m in "${INITRD_MODULES[@]}"; do
  ko=$(modinfo -b "$work/kernel" -k "$release" -n "$m") || die "kernel $release has no module $m"
  cp "$ko" "$init/modules/$m.ko"
done
printf '%s\n' "${INITRD_MODULES[@]}" >"$init/modules/order"
cp "$HERE/initrd-init.sh" "$init/init"
chmod 0755 "$init/init" "$init/bin/busybox"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"
done_stage "$(du -h "$work/initrd.img" | cut -f1)"

stage root
root=$work/root
mkdir "$root"
d export "$container" | tar -x -C "$root" --numeric-owner
d rm -f "$container" >/dev/null
container=
mkdir -p "$root/lib/modules"
cp -a "$work/kernel/lib/modules/$release" "$root/lib/modules/"
install -D -m 0755 "$HERE/init.sh" "$root/sbin/kgrade-init"
install -D -m 0644 "$HERE/agent.py" "$root/usr/local/lib/kgrade/agent.py"
# Docker writes these into a container at run time; the VM has none of Docker's.
echo node >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 node\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
rm -f "$root/.dockerenv"
used_mib=$(du -sm "$root" | cut -f1)
size_mib=$((used_mib * 11 / 10 + FREE_MIB))
mkfs.ext4 -q -F -L kgrade-root -m 0 -E lazy_itable_init=1,lazy_journal_init=1 -d "$root" "$work/root.ext4" "${size_mib}M" >&2 ||
  die "mkfs.ext4 -d failed"
done_stage "${used_mib} MiB used of ${size_mib} MiB"

stage publish
rm -rf "$OUT"
mkdir -p "$OUT"
mv "$work/vmlinux" "$work/initrd.img" "$work/root.ext4" "$OUT/"
echo "$release" >"$OUT/kernel.release"
echo "$image_package $(dpkg-deb -f "$deb" Version)" >"$OUT/kernel.package"
chmod 0444 "$OUT/root.ext4"
date -u +%FT%TZ >"$OUT/ready"
done_stage "$(du -sh "$OUT" | cut -f1)"
# Older recipes' images (and the saved nodes in them) are about 400 MiB each: a week after they
# were built, nothing of this checkout boots them.
for old in "$(dirname "$OUT")/$NODE_VERSION"-v*; do
  [[ $old != "$OUT" && -d $old && ${old##*-v} =~ ^[0-9]+$ ]] || continue
  ((${old##*-v} < VM_VERSION)) || continue
  [[ -n $(find "$old" -maxdepth 1 -name ready -mtime +7) ]] && rm -rf "$old"
done
finish
