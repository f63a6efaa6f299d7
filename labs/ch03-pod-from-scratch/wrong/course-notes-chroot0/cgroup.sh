#!/bin/bash
# The course notes' steps (section 3.4.7), with the PID from the argument.
mkdir /sys/fs/cgroup/memory/chroot0
echo "10" > /sys/fs/cgroup/memory/chroot0/memory.limit_in_bytes
echo "0" > /sys/fs/cgroup/memory/chroot0/memory.swappiness
echo $1 > /sys/fs/cgroup/memory/chroot0/tasks
