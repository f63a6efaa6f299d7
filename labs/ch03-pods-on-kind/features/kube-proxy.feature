Feature: kube-dns through kube-proxy
  The kube-dns service is a cluster IP that no interface holds: kube-proxy
  writes iptables rules on every node that pick one CoreDNS pod at random
  (statistic mode random, probability 1/n for n endpoints) and DNAT to it on
  port 53, and rewrites them when the endpoints change.

  @course @severity:high @races
  Scenario: kube-proxy spreads kube-dns's dns-tcp port over the CoreDNS pods
    Check that kube-proxy runs on every node and that every CoreDNS pod is a ready
    endpoint of kube-dns.

    Then kube-proxy on every node sends port "dns-tcp" of service "kube-dns" in namespace "kube-system" to its ready endpoints, spread evenly

  @points:1 @races
  Scenario: core-k8s resolves the kubernetes service through kube-dns
    From inside the pod, the name kubernetes.default.svc.cluster.local must
    resolve to the kubernetes service's cluster IP: keep the pod running and
    leave its DNS settings (dnsPolicy, dnsConfig) alone.

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" is Running with every container up within 60 seconds
    And pod "core-k8s" resolves "kubernetes.default.svc.cluster.local" to the cluster IP of service "kubernetes" in namespace "default"

  @course @serial @severity:high
  Scenario: kube-proxy follows CoreDNS when one of its pods is deleted
    kube-proxy did not follow the new endpoints in time: read its log for sync errors,
    and check the API server's and the controller manager's health.

    Given kube-proxy on every node sends port "dns-tcp" of service "kube-dns" in namespace "kube-system" to its ready endpoints, spread evenly
    When a pod of deployment "coredns" in namespace "kube-system" is deleted
    Then within 60 seconds kube-proxy on every node follows the new endpoints of port "dns-tcp" of service "kube-dns" in namespace "kube-system"
    And deployment "coredns" in namespace "kube-system" is back to all its replicas Ready within 120 seconds
