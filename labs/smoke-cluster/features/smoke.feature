Feature: a pod through the whole cluster path

  @course
  Scenario: every kube-system pod is Running
    Then every pod in namespace "kube-system" is Running

  @course
  Scenario: kube-proxy programs the kube-dns service into the node's iptables
    When the node runs "(iptables-nft-save -t nat; iptables-legacy-save -t nat) 2>/dev/null"
    Then its output contains "KUBE-SVC-"
    And its output contains "kube-system/kube-dns:dns"

  @course @races
  Scenario: kube-proxy sends the kube-dns service to the CoreDNS pods' addresses
    Then kube-proxy on every node sends port "dns" of service "kube-dns" in namespace "kube-system" to its ready endpoints, spread evenly

  @points:1
  Scenario: the busybox pod runs
    pod.yaml must describe Pod smoke with one busybox container that keeps
    running (sleep 3600). Check the image name and tag.

    When the submission's "pod.yaml" is applied
    Then pod "smoke" is Running within 60 seconds

  @points:1 @races
  Scenario: the pod resolves kubernetes.default through CoreDNS
    Leave the pod's DNS settings alone: the kubelet points it at the cluster's DNS.

    When the submission's "pod.yaml" is applied
    Then pod "smoke" is Running within 60 seconds
    And pod "smoke" resolves "kubernetes.default.svc.cluster.local" to the cluster IP of service "kubernetes" in namespace "default"
