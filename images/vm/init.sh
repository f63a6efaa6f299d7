#!/bin/bash
# /sbin/kgrade-init in the VM's root (images/vm/build.sh puts it there): makes
# the VM look like a node sandbox (the same tmpfs folders, hostname, cgroups of
# the version named by kgrade.cgroup= on the kernel command line), then becomes
# the guest agent, which stays PID 1: `kill -9 -1` inside cannot stop it.
set -u
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
ln -sfn /proc/self/fd /dev/fd
mount -t tmpfs -o mode=1777,size=256m tmpfs /tmp
mount -t tmpfs -o mode=755,size=64m tmpfs /run
mkdir -p /run/kgrade
mount -t tmpfs -o size=16m tmpfs /run/kgrade
mkdir -p /run/kgrade/output
mount -t tmpfs -o size=32m tmpfs /run/kgrade/output
cgroup=v1
for word in $(</proc/cmdline); do
  case $word in kgrade.cgroup=*) cgroup=${word#kgrade.cgroup=} ;; esac
done
if [ "$cgroup" = v2 ]; then
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
else
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  while read -r name _ _ enabled; do
    [ "$name" = "#subsys_name" ] || [ "$enabled" != 1 ] && continue
    mkdir -p "/sys/fs/cgroup/$name"
    mount -t cgroup -o "$name" cgroup "/sys/fs/cgroup/$name"
  done </proc/cgroups
fi
hostname node
ip link set lo up
exec /usr/bin/python3 -I -S /usr/local/lib/kgrade/agent.py
