Feature: core-k8s seen from its node
  A pod is processes on a node, in namespaces and cgroups the kubelet asked
  containerd for: its own network namespace with an IP from the node's pod
  range on a veth pair, files such as /etc/resolv.conf mounted from the
  node, and a process the node's ps lists like any other.

  @points:1
  Scenario: core-k8s has an IP of its own from the pod CIDR, on its eth0
    The pod must run in its own network namespace: leave hostNetwork unset,
    and make sure the pod keeps running.

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" is Running with every container up within 60 seconds
    And pod "core-k8s" has its own IP in its node's pod CIDR, apart from the node's InternalIP
    And the eth0 of pod "core-k8s" holds the pod's IP

  @points:1
  Scenario: the node sees core-k8s's process appear
    The node's process table gains the pod's process once it runs: pod.yaml
    must create core-k8s and its container must keep running.

    Given the processes on every node are counted
    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" is Running with every container up within 60 seconds
    And the node of pod "core-k8s" has more processes than before, the pod's own among the new ones

  @points:2
  Scenario: core-k8s's /etc/resolv.conf is containerd's file, naming kube-dns
    The kubelet points a pod at the cluster's DNS (the kube-dns service)
    unless the pod says otherwise: leave dnsPolicy and dnsConfig out, and
    make sure the pod keeps running.

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" is Running with every container up within 60 seconds
    And the resolv.conf of pod "core-k8s" is a mount whose nameserver is the cluster IP of service "kube-dns" in namespace "kube-system"
    And the node of pod "core-k8s" holds that resolv.conf under "/var/lib/containerd", in the pod's sandbox

  @points:1
  Scenario: the node routes core-k8s's IP through a veth device
    The CNI plugin gives each pod one end of a veth pair and routes the
    pod's IP to the other: pod.yaml must create core-k8s and keep it running.

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" is Running with every container up within 60 seconds
    And the node routes the IP of every pod of the scenario through a veth device
