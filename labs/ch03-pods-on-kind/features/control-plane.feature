Feature: the cluster a pod lands on
  Before any pod: what kind sets up on its node. A kubelet run by systemd, on
  a node with swap off and the Linux tools it relies on; the control plane
  (etcd, the API server, the scheduler, the controller manager) as pods in
  kube-system, with CoreDNS, kube-proxy and the CNI daemon beside them.

  @course
  Scenario: kube-system runs the control plane, CoreDNS, kube-proxy and the CNI daemon
    Then kube-system runs etcd, the API server, the scheduler, the controller manager, CoreDNS, kube-proxy and the CNI daemon
    And every node is Ready

  @course
  Scenario: the node has what a kubelet needs: swap off, its tools, systemd
    Then swap is off on every node, or the kubelet keeps pods from swapping
    And every node has the programs "iptables mount nsenter unshare socat ps"
    And the kubelet is an active systemd service on every node

  @course
  Scenario: the node keeps the etcd container's log in /var/log/containers
    Then the node of each etcd pod keeps the etcd container's log in "/var/log/containers"
