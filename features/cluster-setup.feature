Feature: what the course assumes of any cluster
  The course looks at the same Linux primitives inside a real cluster. These
  checks hold on the kind cluster kgrade makes; kgrade check runs them against
  any cluster to say which of the course's claims hold there.

  @course
  Scenario: the control plane and every kube-system pod run
    Then every pod in namespace "kube-system" is Running
    And every node is Ready

  @course
  Scenario: the kubelet is an active systemd service on the node
    When the node runs "systemctl is-active kubelet"
    Then its output is "active"

  @course
  Scenario: cluster DNS answers a pod with the kubernetes service's address
    Given the grader's client pod "dns-client" is running
    Then pod "dns-client" resolves "kubernetes.default.svc.cluster.local" to the cluster IP of service "kubernetes" in namespace "default"

  @course
  Scenario: kube-proxy programs the node's packet filter for the kubernetes service
    kube-proxy's rules are read in whichever form its mode writes them: iptables
    (nft or legacy) by their comments, or its own nftables table.

    Then kube-proxy on every node sends port "https" of service "kubernetes" in namespace "default" to its ready endpoints, spread evenly

  @course
  Scenario: kube-proxy sends the kube-dns service to the CoreDNS pods
    Then kube-proxy on every node sends port "dns" of service "kube-dns" in namespace "kube-system" to its ready endpoints, spread evenly

  @course
  Scenario: the node has the tools the course uses
    When the node runs "for t in iptables mount nsenter unshare socat ps ip; do command -v $t >/dev/null || echo missing: $t; done; echo checked"
    Then its output contains "checked"
    And its output does not contain "missing:"

  @course
  Scenario: swap is off on the node
    When the node runs "tail -n +2 /proc/swaps"
    Then its output is ""

  @course
  Scenario: the container runtime's socket is on the node
    When the node runs "ls /run/containerd/containerd.sock /var/run/containerd/containerd.sock 2>/dev/null | head -n 1"
    Then its output contains "containerd.sock"
