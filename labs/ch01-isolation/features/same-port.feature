Feature: network namespaces: the same port twice
  Each network namespace has its own interfaces, its own loopback and its own
  ports, so two servers can both listen on port 80.

  @points:3
  Scenario: web1 and web2 answer on port 80 at the same time
    same-port.sh must create the network namespaces web1 and web2 (ip netns add),
    bring up their loopback, and start in each a web server on port 80 whose
    index page says web1 or web2. Start the servers in the background.

    When the submission's "same-port.sh" is started
    Then "ip netns exec web1 wget -qO- -T 3 http://127.0.0.1:80/" on the node eventually prints "web1"
    And its output does not contain "web2"
    And "ip netns exec web2 wget -qO- -T 3 http://127.0.0.1:80/" on the node eventually prints "web2"
    And its output does not contain "web1"
    When the node runs "ip netns exec web1 wget -qO- -T 3 http://127.0.0.1:80/; echo; ip netns exec web2 wget -qO- -T 3 http://127.0.0.1:80/"
    Then its output contains "web1"
    And its output contains "web2"
