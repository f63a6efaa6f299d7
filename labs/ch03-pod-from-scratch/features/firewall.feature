Feature: firewall.sh: iptables drops one source
  kube-proxy programs the same kernel tables. The test hosts are network
  namespaces the grader plugs into the node's LAN; no packet leaves the node.

  @points:1
  Scenario: firewall.sh adds a rule to INPUT that drops everything from 10.1.2.3
    One rule in the filter table's INPUT chain, for source 10.1.2.3, jumping to
    DROP, with no protocol or port: all of its traffic.

    When the submission's "firewall.sh" runs
    Then the node's iptables drop all traffic from "10.1.2.3" in INPUT

  @points:2
  Scenario: the node drops traffic from 10.1.2.3 and still answers 10.1.2.4
    Drop 10.1.2.3 alone: every other host, 10.1.2.4 included, must still get answers.

    Given a test host "blocked" at "10.1.2.3/24"
    And a test host "allowed" at "10.1.2.4/24"
    And test host "blocked" reaches the node
    When the submission's "firewall.sh" runs
    Then the node does not answer test host "blocked"
    And the node answers test host "allowed"
