Feature: chroot: a root of its own
  chroot makes a folder the root of a process. The folder must hold everything
  the program needs: the program, its libraries and its loader.

  @course @severity:low
  Scenario: chroot into an empty folder fails although the node has bash
    The node image must have bash and chroot (coreutils) for the course's exercises.

    Given an empty folder "/srv/empty" on the node
    When the node runs "chroot /srv/empty /bin/bash -c true"
    Then it fails
    And its output contains "No such file or directory"
    When the node runs "test -x /bin/bash && echo the node has bash"
    Then its output contains "the node has bash"

  @course @severity:low
  Scenario: bash alone, without its libraries, still fails
    The node's bash must be linked dynamically, as Debian's is, for this exercise.

    Given an empty folder "/srv/bash-only" on the node
    When the node runs "mkdir /srv/bash-only/bin && cp /bin/bash /srv/bash-only/bin/ && chroot /srv/bash-only /bin/bash -c true"
    Then it fails
    And its output contains "No such file or directory"

  @points:3
  Scenario: bash runs inside the new root
    make-root.sh NEWROOT must copy bash and everything bash needs into NEWROOT:
    run `ldd /bin/bash` to see the libraries and the loader (ld-linux).

    Given an empty folder "/srv/newroot" on the node
    When the submission's "make-root.sh" runs with "/srv/newroot"
    And the node runs "chroot /srv/newroot /bin/bash -c 'echo ok'"
    Then it succeeds
    And its output is "ok"

  @points:2
  Scenario: the new root holds every library bash needs
    Each library `ldd /bin/bash` names must be inside NEWROOT where the loader
    looks for it (for example NEWROOT/lib/x86_64-linux-gnu/), and so must the
    loader itself (NEWROOT/lib64/ld-linux-x86-64.so.2). A static shell needs none.

    Given an empty folder "/srv/newroot" on the node
    When the submission's "make-root.sh" runs with "/srv/newroot"
    Then "/srv/newroot" on the node holds the programs "/bin/bash" and every library they need

  @points:2
  Scenario: the new root hides the rest of the node
    Copy what bash needs into NEWROOT; do not mount or link the node's own
    folders into it, or the chroot hides nothing.

    Given an empty folder "/srv/newroot" on the node
    And a secret marker file "/srv/outside/marker.txt" on the node
    When the submission's "make-root.sh" runs with "/srv/newroot"
    And the node runs "chroot /srv/newroot /bin/bash -c 'echo inside; cat /srv/outside/marker.txt; cd /; cat ../../srv/outside/marker.txt; true'"
    Then its output contains "inside"
    And its output does not contain "{{marker}}"
