Feature: containers on the node, as the course shows them with docker

  The course runs these with docker on a laptop; here the cluster's node does
  the same with its own container runtime (containerd), pulling from the
  registries the kubelet uses.

  @course
  Scenario: docker run --rm busybox echo "Hello world" prints Hello world
    When the node's container runtime runs 'echo "Hello world"' in a new "busybox" container
    Then it succeeds
    And its output is "Hello world"

  @course
  Scenario: a container's hostname is not the host's
    Given the grader's client pod "hostname-probe" is running
    Then pod "hostname-probe" has a hostname and a UTS namespace of its own, not its node's

  @course
  Scenario: two images built on the same base share its layer digests
    When two images are built from "busybox:1.36" with different last layers and imported into the node's container runtime
    Then both images begin with the layers of "busybox:1.36", with the same digests, and end in different layers

  @course
  Scenario: kubectl cluster-info and kubectl get nodes work
    Then the API server tells its version and lists Ready nodes

  @course
  Scenario: a file written into a container's own filesystem is gone after the pod is recreated
    Given the grader's client pod "scratch" is running
    When pod "scratch" writes a fresh marker into "/kgrade-marker"
    And the grader's pod "scratch" is deleted and created again
    Then pod "scratch" is Running within 120 seconds
    When pod "scratch" runs "cat /kgrade-marker"
    Then it fails
    And its output does not contain "{{marker}}"
