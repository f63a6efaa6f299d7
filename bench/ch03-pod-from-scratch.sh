#!/usr/bin/env bash
# bench/ch03-pod-from-scratch.sh SUBMISSION_DIR — labs/ch03-pod-from-scratch
# graded by hand: the ten scenarios of box, cgroup, firewall and namespaces
# .feature, each in a fresh node container, with the features' own commands and
# kgrade's assertions in bash. Exit 0 when every scenario passes, 1 when one fails.
# The baseline of scripts/bench.sh; see bench/lib.sh for the rules it follows.
set -uo pipefail
LAB=ch03-pod-from-scratch
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_submission "${1:-}"
T_SCRIPT=90 T_COMMAND=30 T_WAIT=20   # labs/ch03-pod-from-scratch/lab.yaml timeouts
BOX=/home/namespace/box

# The node's memory controller, as kgrade's src/check/cgroup.ts finds it: sets
# v (1 or 2) and root, in a script that runs on the node.
MEMROOT='read -r v root < <(awk '\''$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print "1 " $2; exit} $3 == "cgroup2" {v2 = $2} END {if (v2 != "") print "2 " v2}'\'' /proc/self/mounts | head -n 1)
[ "$v" = 1 ] || [ "$v" = 2 ] || { echo "no memory cgroup hierarchy" >&2; exit 3; }'
# The memory cgroup of process $pid relative to $root ("/chroot0"); "gone" when it has ended.
CGROUP_OF='cg_of() { [ -r /proc/$1/cgroup ] || { echo gone; return; }
  if [ "$v" = 1 ]; then awk -F: '\''$2 ~ /(^|,)memory(,|$)/ {print $3; exit}'\'' /proc/$1/cgroup
  else awk -F: '\''$1 == "0" {print $3; exit}'\'' /proc/$1/cgroup; fi; }'
# Failures counted by the cgroup in dir $1: v1 memory.failcnt, v2 "max" + "oom_kill" events.
FAILURES_OF='failures_of() { if [ "$v" = 1 ]; then cat "$1/memory.failcnt"
  else awk '\''$1 == "max" || $1 == "oom_kill" {s += $2} END {print s + 0}'\'' "$1/memory.events"; fi; }'

# box.feature ------------------------------------------------------------------

box_holds_programs() {
  script_runs chroot0.sh
  programs_in_root $BOX "/bin/bash /bin/ls /bin/ps /bin/kill"
}

ls_lists_nothing_of_node() {
  local marker listing name
  marker="kgrade-host-$(od -An -N4 -t x1 /dev/urandom | tr -d ' \n')"
  node_ok "mkdir /$marker"
  script_runs chroot0.sh
  on_node "chroot $BOX /bin/ls /"
  check_succeeds
  check_not_contains "$marker"
  listing=$OUT
  [[ -n ${listing//[[:space:]]/} ]] || fail "expected a listing, but the output is empty"
  on_node "cd -- '$BOX' && ls -A1"
  [[ $RC == 0 ]] || fail "$BOX cannot be listed on the node: $ERR"
  for name in $listing; do
    grep -qxF -- "$name" <<<"$OUT" || fail "the listing shows $name, which $BOX does not hold: the host shows through"
  done
}

tmp_shows_at_data() {
  script_runs chroot0.sh
  node_ok "cd -- '/tmp' && for f in 'a' 'b' 'c'; do echo \"kgrade \$f\" > \"\$f\"; done"
  on_node "chroot $BOX /bin/ls /data"
  check_succeeds
  check_has_words "a b c"
}

# cgroup.feature ---------------------------------------------------------------

# A long-lived bash on the node that reads its commands from a FIFO (so it can be
# put into a cgroup first and made to run something later); sets VICTIM_PID.
victim_shell() {
  node_ok "set -e
dir=/run/bench/shell-victim
mkdir -p \$dir
rm -f \$dir/in
mkfifo \$dir/in
setsid bash -c 'exec 3<>/run/bench/shell-victim/in; exec bash <&3 >/run/bench/shell-victim/out 2>&1' </dev/null >/dev/null 2>&1 &
echo \$!"
  VICTIM_PID=$OUT
  [[ $VICTIM_PID =~ ^[0-9]+$ ]] || broken "could not start the victim shell: $OUT $ERR"
}

victim_in_chroot0() {
  on_node "$MEMROOT
$CGROUP_OF
cg_of $VICTIM_PID"
  [[ $RC == 0 ]] || broken "reading the cgroup of PID $VICTIM_PID failed: $ERR"
  [[ $OUT != gone ]] || fail "the shell victim (PID $VICTIM_PID) is gone: it was killed before it could be checked"
  [[ $OUT == /chroot0 ]] || fail "the shell victim (PID $VICTIM_PID) is in memory cgroup \"$OUT\", not \"/chroot0\""
}

chroot0_limited_to_a_page() {
  on_node "$MEMROOT
cd \"\$root/chroot0\" 2>/dev/null || { echo missing; exit 0; }
if [ \"\$v\" = 1 ]; then echo \"\$(cat memory.limit_in_bytes) \$(getconf PAGESIZE)\"; else echo \"\$(cat memory.max) \$(getconf PAGESIZE)\"; fi"
  [[ $RC == 0 ]] || broken "reading memory cgroup chroot0 failed: $ERR"
  [[ $OUT != missing ]] || fail "there is no memory cgroup chroot0"
  local limit page
  read -r limit page <<<"$OUT"
  if [[ $limit == max || ! $limit =~ ^[0-9]+$ ]] || (( ${#limit} > 18 || limit >= 4611686018427387904 )); then
    fail "memory cgroup chroot0 has no memory limit"
  fi
  (( limit <= page )) || fail "memory cgroup chroot0 is limited to $limit bytes, more than one page ($page bytes)"
}

cgroup_moves_victim() {
  victim_shell
  script_runs cgroup.sh "$VICTIM_PID"
  victim_in_chroot0
  chroot0_limited_to_a_page
}

ls_fails_in_cgroup() {
  victim_shell
  script_runs cgroup.sh "$VICTIM_PID"
  # The shell's cgroup and its failure count, then "ls /" through the FIFO; the
  # answer, or the shell's death, within 10 s.
  on_node "$MEMROOT
$CGROUP_OF
$FAILURES_OF
cg=\$(cg_of $VICTIM_PID); before=
[ -n \"\$cg\" ] && [ \"\$cg\" != / ] && [ \"\$cg\" != gone ] && [ -d \"\$root\$cg\" ] && before=\$(failures_of \"\$root\$cg\")
echo \"cg=\$cg\"; echo \"before=\$before\"
printf '%s\n' 'ls /; echo \"kgrade-status=\$?\"' > /run/bench/shell-victim/in
state=end
for i in \$(seq 100); do
  grep -q 'kgrade-status=' /run/bench/shell-victim/out 2>/dev/null && { state=answered; break; }
  kill -0 $VICTIM_PID 2>/dev/null || { state=died; break; }
  sleep 0.1
done
echo \"state=\$state\"
echo ----
head -c 8192 /run/bench/shell-victim/out 2>/dev/null" 25
  [[ $RC == 0 ]] || broken "running ls / in the victim shell failed: $ERR"
  local cg before state output status
  cg=$(sed -n 's/^cg=//p' <<<"$OUT" | head -n 1)
  before=$(sed -n 's/^before=//p' <<<"$OUT" | head -n 1)
  state=$(sed -n 's/^state=//p' <<<"$OUT" | head -n 1)
  output=$(sed '1,/^----$/d' <<<"$OUT")
  status=$(sed -n 's/.*kgrade-status=\([0-9][0-9]*\).*/\1/p' <<<"$output" | head -n 1)
  # Then: that fails for lack of memory.
  [[ $status != 0 ]] || fail "\"ls /\" ran fine in the shell victim: the memory limit does not hold it back"
  [[ -n $before && $cg != / && $cg != gone ]] || fail "the shell victim is in no memory cgroup of its own, so the failure proves nothing about a limit"
  on_node "$MEMROOT
$FAILURES_OF
failures_of \"\$root$cg\""
  [[ $RC == 0 && $OUT =~ ^[0-9]+$ ]] || broken "reading the failure counter of $cg failed: $ERR"
  local after=$OUT
  (( after > before )) || fail "ls / failed, but the failure counter of $cg did not move ($before -> $after): the limit is not what stopped it"
  if [[ $state != died && $output != *"Cannot allocate memory"* && -n $status ]]; then
    fail "ls / failed with status $status: ${output:0:200}; that is not a memory failure"
  fi
}

# firewall.feature ---------------------------------------------------------------

# Whether a filter INPUT rule drops every packet from SOURCE: its -s covers the
# address, it matches nothing else, it jumps to DROP (src/check/iptables.ts; user
# chains a rule jumps to are not followed here).
iptables_drop_all_from() {
  local source=$1
  on_node 'for s in iptables-nft-save iptables-legacy-save; do command -v $s >/dev/null && echo "# $s" && $s 2>/dev/null; done; true'
  awk -v want="$source" '
    function ip(a,   p) { if (split(a, p, ".") != 4) return -1; return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
    function covers(cidr, addr,   c, len, s) {
      split(cidr, c, "/"); len = (c[2] == "") ? 32 : c[2] + 0; s = 2 ^ (32 - len)
      return ip(c[1]) >= 0 && int(ip(c[1]) / s) == int(ip(addr) / s)
    }
    /^\*/ { table = substr($0, 2) }
    table == "filter" && $1 == "-A" && $2 == "INPUT" {
      src = ""; neg = 0; target = ""; narrow = 0
      for (i = 3; i <= NF; i++) {
        if ($i == "!" && ($(i+1) == "-s" || $(i+1) == "--source")) neg = 1
        else if ($i == "-s" || $i == "--source") src = $(++i)
        else if ($i == "-j" || $i == "--jump" || $i == "-g" || $i == "--goto") target = $(++i)
        else if ($i == "-m" && $(i+1) == "comment") i++
        else if ($i == "--comment") i++
        else if ($i ~ /^-/) narrow = 1
      }
      if (src != "" && !neg && covers(src, want) && !narrow && target == "DROP") { print; found = 1; exit }
    }
    END { exit !found }' <<<"$OUT" >/dev/null ||
    fail "no rule in the filter table's INPUT chain drops all traffic from $source; INPUT holds: $(grep -E '^-A INPUT' <<<"$OUT" | paste -sd ';')"
}

# test_host NAME CIDR: a network namespace with a veth on the node's LAN bridge;
# the node gets the subnet's last usable address (10.1.2.254 for 10.1.2.0/24).
test_host() {
  local name=$1 cidr=$2 node_address=10.1.2.254
  node_ok "set -e
ip netns add $name
ip -n kgrade-lan link add lan-$name type veth peer name eth0 netns $name
ip -n kgrade-lan link set lan-$name master br0 up
ip -n $name link set lo up
ip -n $name addr add $cidr dev eth0
ip -n $name link set eth0 up
if ! ip -o -4 addr show dev eth0 | grep -q ' $node_address/'; then
  ip addr add $node_address/24 dev eth0 2>/dev/null || true
fi
ip -o -4 addr show dev eth0 | grep -q ' $node_address/'
echo ready"
}

# probe NAME [WAIT]: from the test host, ping the node and connect to a TCP listener
# on it (port 18080, started on first use), both at once, each waiting WAIT seconds
# (1) for an answer; sets ICMP and TCP to yes or no. probe_answered tries a probe
# that missed an answer again with 4 s, as the grader does.
probe() {
  local wait=${2:-1}
  on_node "ss -ltn | grep -q ':18080 ' || { setsid socat TCP-LISTEN:18080,fork,reuseaddr SYSTEM:'echo kgrade-node' </dev/null >/dev/null 2>&1 & }
for i in \$(seq 50); do ss -ltn | grep -q ':18080 ' && break; sleep 0.1; done
ip netns exec $1 ping -n -c 2 -i 0.2 -W $wait 10.1.2.254 >/dev/null 2>&1 && echo icmp=yes || echo icmp=no &
icmp=\$!
ip netns exec $1 nc -z -w $wait 10.1.2.254 18080 >/dev/null 2>&1 && echo tcp=yes || echo tcp=no &
wait \$icmp \$!" 20
  ICMP=no TCP=no
  [[ $OUT == *icmp=yes* ]] && ICMP=yes
  [[ $OUT == *tcp=yes* ]] && TCP=yes
  return 0
}

probe_answered() {
  probe "$1"
  [[ $ICMP == yes && $TCP == yes ]] && return 0
  local icmp=$ICMP tcp=$TCP
  probe "$1" 4
  [[ $icmp == yes ]] && ICMP=yes
  [[ $tcp == yes ]] && TCP=yes
  return 0
}

firewall_rule() {
  script_runs firewall.sh
  iptables_drop_all_from 10.1.2.3
}

firewall_traffic() {
  test_host blocked 10.1.2.3/24
  test_host allowed 10.1.2.4/24
  probe_answered blocked
  [[ $ICMP == yes && $TCP == yes ]] || broken "the test network does not work before the submission ran: ping $ICMP, tcp $TCP"
  script_runs firewall.sh
  probe blocked
  [[ $ICMP == no && $TCP == no ]] || fail "expected the node to drop traffic from blocked (10.1.2.3): ping answered $ICMP, TCP connected $TCP"
  probe_answered allowed
  [[ $ICMP == yes && $TCP == yes ]] || fail "expected the node to answer allowed (10.1.2.4): ping answered $ICMP, TCP connected $TCP"
}

# namespaces.feature -------------------------------------------------------------

plain_chroot_sees_node() {
  decoy kubelet-decoy
  # the grader's own box (src/env/box.ts), independent of the submission
  node_ok "set -euo pipefail
root='/srv/blinder'
mkdir -p \"\$root/bin\" \"\$root/proc\"
for prog in 'bash' 'ps'; do
  path=\$(type -P \"\$prog\")
  cp \"\$path\" \"\$root/bin/\"
  for lib in \$(ldd \"\$path\" | grep -o '/[^ ]*'); do
    mkdir -p \"\$root\$(dirname \"\$lib\")\"
    cp -L \"\$lib\" \"\$root\$lib\"
  done
done
mount -t proc proc \"\$root/proc\""
  on_node "chroot /srv/blinder /bin/bash -c 'ps -ax; kill $DECOY_PID; true'"
  ps_listing | grep -q ' .*kubelet-decoy' || fail "expected kubelet-decoy in the process listing; it shows: $OUT"
  ! decoy_alive || fail "the decoy kubelet-decoy (PID $DECOY_PID) is still running"
}

box_is_pid_1() {
  decoy kubelet-decoy
  script_runs chroot0.sh
  on_node "unshare -p -f --mount-proc=$BOX/proc chroot $BOX /bin/bash -c 'echo pid=\$\$; ps -ax; kill $DECOY_PID; true'"
  check_contains "pid=1"
  local procs
  procs=$(ps_listing)
  [[ -n $procs ]] || fail "expected a process listing (ps -ax), but none is in the output: $OUT $ERR"
  (( $(wc -l <<<"$procs") <= 2 )) || fail "expected at most 2 processes, the listing shows: $(paste -sd ';' <<<"$procs")"
  ! grep -q 'kubelet-decoy' <<<"$procs" || fail "the listing shows $(grep kubelet-decoy <<<"$procs")"
  decoy_alive || fail "the decoy kubelet-decoy (PID $DECOY_PID) was killed"
}

box_has_no_eth0() {
  script_runs chroot0.sh
  on_node "unshare -p -n -f --mount-proc=$BOX/proc chroot $BOX /bin/bash -c 'while read -r line; do echo \"\$line\"; done < /proc/net/dev'"
  local seen own fresh extra=() d
  devices() { sed -n 's/^[[:space:]]*\([^[:space:]:|][^[:space:]:|]*\):.*/\1/p'; }
  seen=$(devices <<<"$OUT")
  grep -qx lo <<<"$seen" || fail "expected a device listing (/proc/net/dev) from inside the new namespace; got: $OUT $ERR"
  # Then: compared with the node's own devices and with a fresh namespace's.
  on_node "cat /proc/net/dev; echo ----; unshare -n cat /proc/net/dev"
  [[ $RC == 0 ]] || broken "unshare -n on the node failed: $ERR"
  own=$(sed '/^----$/,$d' <<<"$OUT" | devices)
  fresh=$(sed '1,/^----$/d' <<<"$OUT" | devices)
  grep -qx eth0 <<<"$own" || broken "the node has no eth0 to compare against"
  for d in $seen; do grep -qxF -- "$d" <<<"$fresh" || extra+=("$d"); done
  [[ ${#extra[@]} == 0 ]] || fail "the namespace shows ${extra[*]}: it is not a new network namespace"
}

echo "$LAB by hand: $SUBMISSION"
scenario "the box holds bash, ls, ps and kill with their libraries" box_holds_programs
scenario "ls inside the box lists nothing of the node" ls_lists_nothing_of_node
scenario "the node's /tmp shows in the box at /data" tmp_shows_at_data
scenario "cgroup.sh puts the process into memory cgroup chroot0, limited to one page" cgroup_moves_victim
scenario "in that cgroup, ls fails for lack of memory" ls_fails_in_cgroup
scenario "firewall.sh adds a rule to INPUT that drops everything from 10.1.2.3" firewall_rule
scenario "the node drops traffic from 10.1.2.3 and still answers 10.1.2.4" firewall_traffic
scenario "in a plain chroot, ps shows the node's processes and the decoy can be killed (course)" plain_chroot_sees_node
scenario "bash in the box runs as PID 1 of its own PID namespace" box_is_pid_1
scenario "with -n, the box gets a network namespace with no eth0" box_has_no_eth0
finish
