/**
 * The result of grading one submission against one lab. results.json is this
 * object serialised; schemas/results.schema.json describes the same shape and
 * every other report is derived from it.
 */

/**
 * passed: the check held. failed: the submission is at fault (only ever the
 * student's doing). error: the grader, the lab or the infrastructure is at
 * fault; never costs points silently. skipped: not run.
 */
import type { Isolation } from '../env/sandbox/index.js';

export type Outcome = 'passed' | 'failed' | 'error' | 'skipped';

export interface StepResult {
  /** The step as written in the feature, keyword included ("Then the command fails"). */
  text: string;
  status: 'passed' | 'failed' | 'error' | 'skipped' | 'undefined' | 'ambiguous' | 'pending';
  durationMs: number;
  message?: string;
}

export interface ScenarioResult {
  /** Stable id: "<feature file relative to the lab>:<line>". */
  id: string;
  name: string;
  feature: string;
  outcome: Outcome;
  points: number;
  maxPoints: number;
  /** A @course check: verifies a claim of the course material, carries no points. */
  course: boolean;
  /** @hidden: not shown to students before results are published. */
  hidden: boolean;
  /** Why it failed or errored: the last state seen. Empty when passed. */
  message: string;
  /** The course author's hint for a failing student. */
  hint: string;
  /** What the grader observed along the way (which kernel behaviour was seen, ...). */
  notes: string[];
  /** 1, or 2 when an error was retried. */
  attempts: number;
  durationMs: number;
  steps: StepResult[];
}

export interface GradeResult {
  schemaVersion: 1;
  lab: { id: string; title: string; chapter: number };
  submission: { name: string; path: string };
  score: number;
  maxScore: number;
  /** True when no scenario ended in error: the score is final. */
  complete: boolean;
  counts: Record<Outcome, number>;
  /**
   * Where it was graded. isolation: for sandbox labs, what kept the submission from the grading
   * host (userns: a user namespace; privileged: a privileged container, no security boundary;
   * vm: a virtual machine with its own kernel). kernel: the release the scenarios ran on (the
   * VM's own under vm); cgroup: the cgroup version they saw.
   */
  environment: { provider: string; image: string; kernel: string; isolation?: Isolation; cgroup?: 'v1' | 'v2' };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  scenarios: ScenarioResult[];
}
