Feature: what the course assumes of any cluster
  The course looks at the same Linux primitives inside a real cluster. These
  checks hold on the kind cluster kgrade makes; kgrade check runs them against
  any cluster to say which of the course's claims hold there.

  @course @severity:critical
  Scenario: the control plane and every kube-system pod run
    Look at the pods that are not Running (kubectl -n kube-system describe pod) and
    the nodes that are not Ready (kubectl describe node): their events name the cause.

    Then every pod in namespace "kube-system" is Running
    And every node is Ready

  @course @severity:high
  Scenario: the kubelet is an active systemd service on the node
    Start and enable the kubelet on the node (systemctl enable --now kubelet) and
    read why it stopped with journalctl -u kubelet.

    When the node runs "systemctl is-active kubelet"
    Then its output is "active"

  @course @severity:high
  Scenario: cluster DNS answers a pod with the kubernetes service's address
    Check that the CoreDNS pods run and are the endpoints of service kube-dns, and that
    the kubelet's clusterDNS is kube-dns's ClusterIP.

    Given the grader's client pod "dns-client" is running
    Then pod "dns-client" resolves "kubernetes.default.svc.cluster.local" to the cluster IP of service "kubernetes" in namespace "default"

  @course @severity:high
  Scenario: kube-proxy programs the node's packet filter for the kubernetes service
    Check that kube-proxy runs on every node and read its log; its rules are read in
    whichever form its mode writes them: iptables (nft or legacy) by their comments,
    or its own nftables table.

    Then kube-proxy on every node sends port "https" of service "kubernetes" in namespace "default" to its ready endpoints, spread evenly

  @course @severity:high
  Scenario: kube-proxy sends the kube-dns service to the CoreDNS pods
    Check that kube-proxy runs on every node and that the endpoints of service kube-dns
    are the CoreDNS pods; kube-proxy's log says why it did not write a rule.

    Then kube-proxy on every node sends port "dns" of service "kube-dns" in namespace "kube-system" to its ready endpoints, spread evenly

  @course @severity:low
  Scenario: the node has the tools the course uses
    Install the missing tools on the node image (iptables, util-linux, socat, procps,
    iproute2); the course's exercises call them on the node.

    When the node runs "for t in iptables mount nsenter unshare socat ps ip; do command -v $t >/dev/null || echo missing: $t; done; echo checked"
    Then its output contains "checked"
    And its output does not contain "missing:"

  @course @severity:medium
  Scenario: swap is off on the node
    Turn swap off on the node (swapoff -a, and remove it from /etc/fstab), or configure
    the kubelet's memorySwap behaviour so that pods do not swap.

    When the node runs "tail -n +2 /proc/swaps"
    Then its output is ""

  @course @severity:high
  Scenario: the container runtime's socket is on the node
    Start containerd on the node and check that the kubelet's container runtime
    endpoint points at its socket.

    When the node runs "ls /run/containerd/containerd.sock /var/run/containerd/containerd.sock 2>/dev/null | head -n 1"
    Then its output contains "containerd.sock"
