Feature: unshare: from a blinder to a wall
  A chroot hides files, not processes. unshare gives the box its own PID and
  network namespaces. The decoy stands in for the kubelet: no check ever
  touches a real system process.

  @course @severity:low
  Scenario: in a plain chroot, ps shows the node's processes and the decoy can be killed
    The node image must have procps and a /proc mounted for the course's exercises.

    Given a decoy process "kubelet-decoy" runs on the node
    And the grader's own box at "/srv/blinder" on the node with "bash ps"
    When the node runs "chroot /srv/blinder /bin/bash -c 'ps -ax; kill {{decoy.pid}}; true'"
    Then the process listing in its output shows "kubelet-decoy"
    And the decoy process is gone

  @points:2
  Scenario: bash in the box runs as PID 1 of its own PID namespace
    `unshare -p -f --mount-proc=box/proc` needs the folder box/proc to exist:
    chroot0.sh must make it.

    Given a decoy process "kubelet-decoy" runs on the node
    When the submission's "chroot0.sh" runs
    And the node runs "unshare -p -f --mount-proc=/home/namespace/box/proc chroot /home/namespace/box /bin/bash -c 'echo pid=$$; ps -ax; kill {{decoy.pid}}; true'"
    Then its output contains "pid=1"
    And the process listing in its output shows at most 2 processes
    And the process listing in its output does not show "kubelet-decoy"
    And the decoy process is still running

  @points:1
  Scenario: with -n, the box gets a network namespace with no eth0
    The same unshare with -n: the box must run bash with /proc from box/proc.

    When the submission's "chroot0.sh" runs
    And the node runs:
      """
      unshare -p -n -f --mount-proc=/home/namespace/box/proc chroot /home/namespace/box /bin/bash -c 'while read -r line; do echo "$line"; done < /proc/net/dev'
      """
    Then the network devices in its output are only those of a new network namespace
