#!/bin/bash
# cgroup.sh PID: memory cgroup chroot0, 10 bytes, no swap, then PID moves in.
set -euo pipefail
pid=${1:?usage: cgroup.sh PID}

if grep -qw memory /proc/self/cgroup && [ -d /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/chroot0          # cgroup v1
  mkdir -p "$cg"
  echo 10 > "$cg/memory.limit_in_bytes"       # the limit first: once PID is in, a lower one is refused
  echo 0 > "$cg/memory.swappiness"
  echo "$pid" > "$cg/tasks"
else
  cg=/sys/fs/cgroup/chroot0                   # cgroup v2
  echo +memory > /sys/fs/cgroup/cgroup.subtree_control
  mkdir -p "$cg"
  echo 10 > "$cg/memory.max"
  echo 0 > "$cg/memory.swap.max"
  echo "$pid" > "$cg/cgroup.procs"
fi
