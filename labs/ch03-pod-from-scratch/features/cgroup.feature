Feature: cgroup.sh: a memory limit the kernel enforces
  A memory cgroup limits what its processes may use; with a limit of 10 bytes
  even ls cannot run. The node runs cgroup v1, as in the course notes, on every
  grading host (lab.yaml kernel.cgroup: v1; a cgroup v2 host grades it in a VM
  booted with v1). The kernel may answer with "fork: Cannot allocate memory" or
  with its OOM killer: both prove the point.

  @points:2
  Scenario: cgroup.sh puts the process into memory cgroup chroot0, limited to one page
    Move the PID given as the argument (in a script, $$ is the script itself) with
    the cgroup v1 files: /sys/fs/cgroup/memory/chroot0, memory.limit_in_bytes,
    tasks. Set the limit before the process runs anything there: a limit below
    what the cgroup already uses is refused (Device or resource busy).

    Given a shell "victim" runs on the node
    When the submission's "cgroup.sh" runs with "{{victim.pid}}"
    Then the shell "victim" is in the memory cgroup "chroot0"
    And the memory cgroup "chroot0" is limited to at most one page

  @points:2
  Scenario: in that cgroup, ls fails for lack of memory
    If ls still runs, the process is not in the cgroup or the limit did not take.

    Given a shell "victim" runs on the node
    When the submission's "cgroup.sh" runs with "{{victim.pid}}"
    And the shell "victim" runs "ls /"
    Then that fails for lack of memory
