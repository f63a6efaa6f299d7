#!/bin/busybox sh
# shellcheck shell=dash
# The initrd's /init (images/vm/build.sh packs it): loads the virtio modules,
# mounts the VM's root disk and hands over to its /sbin/kgrade-init.
# Anything that goes wrong ends in a kernel panic, which ends the VM: the
# grader sees qemu exit and reports the console's last lines.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# microvm describes its virtio-mmio devices in ACPI: virtio_mmio finds them there.
while read -r m; do
  insmod "/modules/$m.ko" || echo "kgrade-initrd: insmod $m failed"
done </modules/order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -b /dev/vda ] || { echo "kgrade-initrd: no root disk /dev/vda"; exit 1; }
mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "kgrade-initrd: cannot mount /dev/vda"; exit 1; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/kgrade-init
