Feature: chroot0.sh: a box with bash, ls, ps and kill
  The box is the pod's root file system: the programs, their libraries and
  loader, /proc for the processes, and a folder shared with the node.

  @points:2
  Scenario: the box holds bash, ls, ps and kill with their libraries
    Copy each program into box/bin, and each library and the loader that
    `ldd PROGRAM` names to the same path inside the box (mind lib64).

    When the submission's "chroot0.sh" runs
    Then "/home/namespace/box" on the node holds the programs "/bin/bash /bin/ls /bin/ps /bin/kill" and every library they need

  @points:1
  Scenario: ls inside the box lists nothing of the node
    Inside the chroot, / is the box: its listing must show only what the box holds.

    Given a marker folder at the node's root
    When the submission's "chroot0.sh" runs
    And the node runs "chroot /home/namespace/box /bin/ls /"
    Then it succeeds
    And its output does not contain "{{host-marker}}"
    And every name in its output exists in "/home/namespace/box" on the node

  @points:1
  Scenario: the node's /tmp shows in the box at /data
    Make box/data and bind-mount the node's /tmp onto it (mount --bind);
    copying /tmp's files is not the same: new files would not show.

    When the submission's "chroot0.sh" runs
    And the files "a b c" are created in "/tmp" on the node
    And the node runs "chroot /home/namespace/box /bin/ls /data"
    Then it succeeds
    And its output has the words "a b c"
