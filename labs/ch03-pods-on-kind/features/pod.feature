Feature: pod.yaml: core-k8s, a busybox pod
  The course's first pod: a busybox container that only sleeps, with labels
  to find it by and a named port.

  @points:2
  Scenario: pod.yaml creates Pod core-k8s and it stays Running
    pod.yaml must create a Pod named core-k8s whose container keeps running.
    Check the image's name and tag (busybox:1.36 or busybox:latest), and give
    the command as a list of words: command: ["sleep", "10000"] (one string
    "sleep 10000" is taken as the name of a program).

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" is Running with every container up within 60 seconds

  @points:1
  Scenario: core-k8s carries the course's labels
    Put all four labels under metadata.labels: role: just-an-example,
    app: my-example-app, organization: friends-of-manning, and creator with
    your name. Labels are how services and queries select pods.

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" has the labels "role=just-an-example app=my-example-app organization=friends-of-manning creator"

  @points:2
  Scenario: core-k8s runs busybox with sleep 10000
    The container must run a busybox image, and its process must be sleep
    10000: command: ["sleep", "10000"], or command: ["sleep"] with
    args: ["10000"]. With sh -c, the whole command is one word:
    ["sh", "-c", "sleep 10000"].

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" runs a "busybox" image
    And pod "core-k8s" is Running with every container up within 60 seconds
    And the process "sleep 10000" runs in a container of pod "core-k8s"

  @points:1
  Scenario: core-k8s declares container port 80/TCP named webapp-port
    Under the container's ports, declare containerPort: 80, protocol: TCP,
    name: webapp-port (singular: check the spelling of the name).

    When the submission's "pod.yaml" is applied
    Then pod "core-k8s" declares the container port "80/TCP" named "webapp-port"
