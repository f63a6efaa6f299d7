/**
 * The three ways a check can go wrong, kept apart because they decide who pays:
 * only a SubmissionAssertionError costs the student points.
 *
 * The class names matter: cucumber reports an exception by its constructor
 * name, and the grade classifies a scenario by that name (see src/cucumber/outcome.ts).
 * Allure marks names matching /assert/ as "failed" and others as "broken".
 */

/** The submission did not do what the lab asks. The message says what was seen. */
export class SubmissionAssertionError extends Error {
  override name = 'SubmissionAssertionError';
}

/** The grader or its infrastructure failed (docker, a timeout of the grader's own command, ...). */
export class GraderError extends Error {
  override name = 'GraderError';
}

/** The command line or its arguments are wrong (a folder that does not exist, an unknown option). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The lab itself is wrong: its lab.yaml, a feature, a step with bad arguments. */
export class LabError extends Error {
  override name = 'LabError';
}

export const STUDENT_FAULT_TYPE = 'SubmissionAssertionError';

export function fail(message: string): never {
  throw new SubmissionAssertionError(message);
}
