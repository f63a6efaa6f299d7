Feature: collect

  Background:
    Given the node is ready

  @points:2
  Scenario: all goes well
    A hint.

    When the node runs "true"
    Then it succeeds

  @points:3
  Scenario: the submission is wrong
    Another hint.

    When the node runs "false"
    Then it succeeds
    And its output is "ok"

  @points:1 @grader-breaks
  Scenario: the grader breaks in a hook
    A third hint.

    When the node runs "true"

  @points:1
  Scenario: a step throws what is no student's fault
    A fourth hint.

    When the node runs "true"
    Then the grader's own code throws a TypeError

  @points:1
  Scenario: the lab has a step nobody defined
    A fifth hint.

    When the node runs "true"
    Then a step that no definition matches

  @points:1
  Scenario: the lab has a step two definitions match
    A sixth hint.

    Then a step two definitions match

  Rule: a rule groups scenarios

    @points:1
    Scenario Outline: an outline, one scenario per row
      A hint for every row.

      When the node runs "<command>"
      Then it succeeds

      Examples:
        | command |
        | true    |
        | false   |
