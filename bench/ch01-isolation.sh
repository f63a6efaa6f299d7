#!/usr/bin/env bash
# bench/ch01-isolation.sh SUBMISSION_DIR — labs/ch01-isolation graded by hand:
# the six scenarios of features/chroot.feature and features/same-port.feature,
# each in a fresh node container, with the features' own commands and kgrade's
# assertions in bash. Exit 0 when every scenario passes, 1 when one fails.
# The baseline of scripts/bench.sh; see bench/lib.sh for the rules it follows.
set -uo pipefail
LAB=ch01-isolation
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_submission "${1:-}"
T_SCRIPT=60 T_COMMAND=30 T_WAIT=20   # labs/ch01-isolation/lab.yaml timeouts

# chroot.feature ---------------------------------------------------------------

empty_root_fails() {
  empty_folder /srv/empty
  on_node "chroot /srv/empty /bin/bash -c true"
  check_fails
  check_contains "No such file or directory"
  on_node "test -x /bin/bash && echo the node has bash"
  check_contains "the node has bash"
}

bash_only_fails() {
  empty_folder /srv/bash-only
  on_node "mkdir /srv/bash-only/bin && cp /bin/bash /srv/bash-only/bin/ && chroot /srv/bash-only /bin/bash -c true"
  check_fails
  check_contains "No such file or directory"
}

bash_runs_in_root() {
  empty_folder /srv/newroot
  script_runs make-root.sh /srv/newroot
  on_node "chroot /srv/newroot /bin/bash -c 'echo ok'"
  check_succeeds
  check_output_is ok
}

root_holds_libraries() {
  empty_folder /srv/newroot
  script_runs make-root.sh /srv/newroot
  programs_in_root /srv/newroot /bin/bash
}

root_hides_node() {
  local marker
  marker="kgrade-secret-$(od -An -N8 -t x1 /dev/urandom | tr -d ' \n')"
  empty_folder /srv/newroot
  node_ok "mkdir -p \"\$(dirname -- '/srv/outside/marker.txt')\" && echo $marker > '/srv/outside/marker.txt'"
  script_runs make-root.sh /srv/newroot
  on_node "chroot /srv/newroot /bin/bash -c 'echo inside; cat /srv/outside/marker.txt; cd /; cat ../../srv/outside/marker.txt; true'"
  check_contains inside
  check_not_contains "$marker"
}

# same-port.feature ------------------------------------------------------------

same_port_twice() {
  script_started same-port.sh
  eventually_prints "ip netns exec web1 wget -qO- -T 3 http://127.0.0.1:80/" web1
  check_not_contains web2
  eventually_prints "ip netns exec web2 wget -qO- -T 3 http://127.0.0.1:80/" web2
  check_not_contains web1
  on_node "ip netns exec web1 wget -qO- -T 3 http://127.0.0.1:80/; echo; ip netns exec web2 wget -qO- -T 3 http://127.0.0.1:80/"
  check_contains web1
  check_contains web2
}

echo "$LAB by hand: $SUBMISSION"
scenario "chroot into an empty folder fails although the node has bash (course)" empty_root_fails
scenario "bash alone, without its libraries, still fails (course)" bash_only_fails
scenario "bash runs inside the new root" bash_runs_in_root
scenario "the new root holds every library bash needs" root_holds_libraries
scenario "the new root hides the rest of the node" root_hides_node
scenario "web1 and web2 answer on port 80 at the same time" same_port_twice
finish
