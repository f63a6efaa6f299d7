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
import type { GradedIn } from '../env/environment.js';

export type Outcome = 'passed' | 'failed' | 'error' | 'skipped';

export interface StepResult {
  /** The step as written in the feature, keyword included ("Then the command fails"). */
  text: string;
  status: 'passed' | 'failed' | 'error' | 'skipped' | 'undefined' | 'ambiguous' | 'pending';
  durationMs: number;
  message?: string;
}

/** What a student sees of a scenario: everything, the message only, or nothing until grades are published. */
export type Feedback = 'full' | 'message' | 'hidden';

/** A command's last lines of output, as a diagnostic. */
export interface CommandTail {
  what: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** What the grader read when a scenario did not pass; schemas/results.schema.json's "diagnostics". */
export interface Diagnostics {
  /** Sandbox labs: the student's script's last run, and the last command a check ran when it is another. */
  script?: CommandTail;
  command?: CommandTail;
  /** Cluster labs: the namespace's warning events, newest last. */
  events?: string[];
  /** Cluster labs: each object the submission made, with its status conditions (a pod's container states too). */
  objects?: Array<{ kind: string; name: string; conditions: string[] }>;
  /** Cluster labs: the containers' last log lines; previous is the instance before a restart. */
  logs?: Array<{ pod: string; container: string; previous: boolean; lines: string }>;
  unavailable?: string[];
  truncated?: boolean;
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
  /** What the student sees of it (lab.yaml feedback, or the scenario's @feedback tag). Absent in older results: see feedbackOf. */
  feedback?: Feedback;
  /** Set when it did not pass and the grader could read what was around it. */
  diagnostics?: Diagnostics;
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
   * Where it was graded, as the lab's environment describes it (src/env/environments/). isolation:
   * for sandbox labs, the runtime that kept the submission from the grading host (a name of
   * src/env/sandbox/index.ts's RUNTIMES). kernel: the release the scenarios ran on (the
   * runtime's own where it boots one); cgroup: the cgroup version they saw.
   */
  environment: GradedIn;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  scenarios: ScenarioResult[];
}

/** A scenario's feedback level; results stored before the field existed have only hidden. */
export function feedbackOf(s: Pick<ScenarioResult, 'feedback' | 'hidden'>): Feedback {
  return s.feedback ?? (s.hidden ? 'hidden' : 'full');
}
