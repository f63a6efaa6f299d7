Feature: containers on the node, as the course shows them with docker

  The course runs these with docker on a laptop; here the cluster's node does
  the same with its own container runtime (containerd), pulling from the
  registries the kubelet uses.

  @course @severity:high
  Scenario: docker run --rm busybox echo "Hello world" prints Hello world
    Check that the node's container runtime runs and can pull busybox from the registry
    the cluster uses.

    When the node's container runtime runs 'echo "Hello world"' in a new "busybox" container
    Then it succeeds
    And its output is "Hello world"

  @course @severity:medium
  Scenario: a container's hostname is not the host's
    Pods must not share the node's UTS namespace: check the runtime's configuration and
    that the pod does not set hostNetwork.

    Given the grader's client pod "hostname-probe" is running
    Then pod "hostname-probe" has a hostname and a UTS namespace of its own, not its node's

  @course @severity:low
  Scenario: two images built on the same base share its layer digests
    Check that the node's container runtime can import images and keeps their layers
    (ctr -n k8s.io images import).

    When two images are built from "busybox:1.36" with different last layers and imported into the node's container runtime
    Then both images begin with the layers of "busybox:1.36", with the same digests, and end in different layers

  @course @severity:critical
  Scenario: kubectl cluster-info and kubectl get nodes work
    Check that the API server answers at the kubeconfig's address and that the nodes
    are Ready (kubectl describe node).

    Then the API server tells its version and lists Ready nodes

  @course @severity:medium
  Scenario: a file written into a container's own filesystem is gone after the pod is recreated
    A new pod must start from its image's layers: check that the runtime's snapshotter
    does not reuse a container's writable layer.

    Given the grader's client pod "scratch" is running
    When pod "scratch" writes a fresh marker into "/kgrade-marker"
    And the grader's pod "scratch" is deleted and created again
    Then pod "scratch" is Running within 120 seconds
    When pod "scratch" runs "cat /kgrade-marker"
    Then it fails
    And its output does not contain "{{marker}}"
