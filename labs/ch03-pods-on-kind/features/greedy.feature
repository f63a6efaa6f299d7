Feature: greedy-pod.yaml: a memory limit the kubelet turns into a cgroup
  A memory request below the limit makes the pod Burstable; the limit becomes
  the container's memory cgroup limit on the node (memory.limit_in_bytes on
  cgroup v1, memory.max on v2).

  @points:2
  Scenario: core-k8s-greedy is a Burstable pod requesting 100Mi of memory
    Give the container resources.requests.memory: 100Mi and
    resources.limits.memory: 200Mi, both under the container (not under the
    pod's spec). Limits alone set the requests to the same values, and with a
    CPU limit too the pod becomes Guaranteed instead.

    When the submission's "greedy-pod.yaml" is applied
    Then pod "core-k8s-greedy" is Running with every container up within 60 seconds
    And pod "core-k8s-greedy" has QoS class "Burstable"
    And a container of pod "core-k8s-greedy" requests exactly "100Mi" of memory

  @points:2
  Scenario: the node's memory cgroup holds core-k8s-greedy to 200Mi
    200Mi is 200 × 1024 × 1024 = 209715200 bytes; 200M is 200 000 000.
    Write the limit with the binary suffix Mi (or in bytes), under the
    container's resources.limits.memory.

    When the submission's "greedy-pod.yaml" is applied
    Then pod "core-k8s-greedy" is Running with every container up within 60 seconds
    And the node limits the memory cgroup of a container of pod "core-k8s-greedy" to exactly 209715200 bytes
