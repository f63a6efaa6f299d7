#!/bin/bash
# The notes run `echo $$` in the shell to be limited; inside a script, $$ is the
# script's own shell, so PID is never moved.
cg=/sys/fs/cgroup/memory/chroot0
mkdir -p $cg
echo 10 > $cg/memory.limit_in_bytes
echo 0 > $cg/memory.swappiness
echo $$ > $cg/tasks
