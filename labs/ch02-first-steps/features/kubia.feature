Feature: kubia, a replicated web server behind a Service

  @points:2
  Scenario: three kubia pods are Ready
    kubia.yaml must hold a ReplicationController (or a Deployment) named kubia
    with replicas: 3, whose pods become Ready. Pods written out one by one are
    not replaced when they die: the controller is what keeps three running.

    When the submission's "kubia.yaml" is applied
    Then controller "kubia" has 3 Ready pods within 120 seconds

  @points:2
  Scenario: each kubia pod is named by its hostname and answers with it
    Each pod's server must answer on port 8080 with the pod's own hostname
    (its pod name), computed when it answers or when it starts: not a text
    written into the manifest. Leave spec.hostname unset.

    Given the grader's client pod "client" is running
    When the submission's "kubia.yaml" is applied
    Then the pods of controller "kubia" are all Ready within 120 seconds
    And each pod of controller "kubia" has its pod name as hostname
    And from the grader's pod "client", each pod of controller "kubia" answers on port 8080 with its own name

  @points:2 @races
  Scenario: the Service kubia-http spreads requests over the pods
    Service kubia-http must listen on port 80, send to targetPort 8080, and
    select the pods by a label they carry (compare the Service's selector with
    the pod template's labels); with several pods behind it, requests land on
    different pods.

    Given the grader's client pod "client" is running
    When the submission's "kubia.yaml" is applied
    Then from the grader's pod "client", 30 requests to service "kubia-http" on port 80 reach at least 2 different pods

  @points:2
  Scenario: a deleted kubia pod is replaced within 30 seconds
    The controller must keep 3 pods: when one is deleted it starts another.
    Use a ReplicationController or a Deployment with replicas: 3.

    When the submission's "kubia.yaml" is applied
    Then controller "kubia" has 3 Ready pods within 120 seconds
    When a Ready pod of controller "kubia" is deleted
    Then controller "kubia" has 3 Ready pods within 30 seconds

  @points:1
  Scenario: scaled to 5, five kubia pods become Ready
    `kubectl scale` changes the controller's replicas; it then starts the
    missing pods. kubia must be a ReplicationController or a Deployment.

    When the submission's "kubia.yaml" is applied
    Then the pods of controller "kubia" are all Ready within 120 seconds
    When the grader scales controller "kubia" to 5 replicas
    Then controller "kubia" has 5 Ready pods within 120 seconds
