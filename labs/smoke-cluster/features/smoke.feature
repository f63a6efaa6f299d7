Feature: a pod through the whole cluster path

  @course @severity:critical
  Scenario: every kube-system pod is Running
    Look at the kube-system pods that are not Running (kubectl -n kube-system describe pod).

    Then every pod in namespace "kube-system" is Running

  @course @severity:high
  Scenario: kube-proxy programs the kube-dns service into the node's iptables
    Check that kube-proxy runs in iptables mode on the node and read its log.

    When the node runs "(iptables-nft-save -t nat; iptables-legacy-save -t nat) 2>/dev/null"
    Then its output contains "KUBE-SVC-"
    And its output contains "kube-system/kube-dns:dns"

  @course @severity:high @races
  Scenario: kube-proxy sends the kube-dns service to the CoreDNS pods' addresses
    Check that the endpoints of service kube-dns are the CoreDNS pods and that kube-proxy
    follows them (its log).

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
