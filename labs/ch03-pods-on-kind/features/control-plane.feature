Feature: the cluster a pod lands on
  Before any pod: what kind sets up on its node. A kubelet run by systemd, on
  a node with swap off and the Linux tools it relies on; the control plane
  (etcd, the API server, the scheduler, the controller manager) as pods in
  kube-system, with CoreDNS, kube-proxy and the CNI daemon beside them.

  @course @severity:critical
  Scenario: kube-system runs the control plane, CoreDNS, kube-proxy and the CNI daemon
    Find which of the named pods is missing or not Running in kube-system and why
    (kubectl -n kube-system get pods; describe the missing one's owner).

    Then kube-system runs etcd, the API server, the scheduler, the controller manager, CoreDNS, kube-proxy and the CNI daemon
    And every node is Ready

  @course @severity:medium
  Scenario: the node has what a kubelet needs: swap off, its tools, systemd
    Turn swap off (or keep pods from swapping), install the missing tools, and run the
    kubelet as an enabled systemd service.

    Then swap is off on every node, or the kubelet keeps pods from swapping
    And every node has the programs "iptables mount nsenter unshare socat ps"
    And the kubelet is an active systemd service on every node

  @course @severity:low
  Scenario: the node keeps the etcd container's log in /var/log/containers
    Check the kubelet's log directory settings (podLogsDir) and that etcd runs as a
    static pod on the node.

    Then the node of each etcd pod keeps the etcd container's log in "/var/log/containers"
