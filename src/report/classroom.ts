import { feedbackOf, type GradeResult, type Outcome, type ScenarioResult } from '../grade/model.js';
import { studentDetails } from './feedback.js';
import { plural, printable } from './summary.js';

/*
 * GitHub Classroom's autograding: a workflow step (a "runner") puts a result in its output
 * `result`, base64-encoded JSON; the autograding-grading-reporter action reads it from the
 * environment variable <RUNNER ID>_RESULTS, prints each test, and posts "Points X/Y" to the run's
 * check, which Classroom reads: X is the sum of tests[].score and Y is max_score
 * (src/notify-classroom.js there). The shape below is the one its own runners write
 * (autograding-command-grader, autograding-io-grader: src/main.js), version 1.
 */

export type ClassroomStatus = 'pass' | 'fail' | 'error';

export interface ClassroomTest {
  name: string;
  status: ClassroomStatus;
  score: number;
  /** Why it did not pass; the reporter prints it for an errored test. null when there is nothing to say. */
  message: string | null;
  /** The reporter prints it under the test: the scenario's steps as the lab wrote them. */
  test_code: string;
  filename: string;
  /** The reporter appends " - line N" to the test's name when this is not 0. */
  line_no: number;
  /** Milliseconds. */
  duration: number;
}

export interface ClassroomResult {
  version: 1;
  status: ClassroomStatus;
  /** The points the reporter posts against; 0 for an incomplete grade, so that no partial score is posted. */
  max_score: number;
  tests: ClassroomTest[];
}

const STATUS: Record<Outcome, ClassroomStatus> = { passed: 'pass', failed: 'fail', skipped: 'fail', error: 'error' };

const GRADER_ERROR =
  'GRADER ERROR: this check could not be completed because of a problem with the grader or its infrastructure, ' +
  'not with your submission. It is not held against you: no points were posted for this run; run it again.';

function message(s: ScenarioResult): string | null {
  const details = studentDetails(s);
  const parts =
    s.outcome === 'passed'
      ? details
      : s.outcome === 'failed'
        ? [s.message, ...details]
        : s.outcome === 'error'
          ? [GRADER_ERROR, s.message === '' ? '' : `Last state seen: ${s.message}`, ...details]
          : ['Not run.', s.message, ...details];
  const text = parts.filter((p) => p !== '').join('\n\n');
  return text === '' ? null : printable(text);
}

function location(id: string): { filename: string; line_no: number } {
  const m = /^(.*):(\d+)$/.exec(id);
  return m ? { filename: m[1] ?? '', line_no: Number(m[2]) } : { filename: id, line_no: 0 };
}

function toTest(s: ScenarioResult, hiddenIndex: number): ClassroomTest {
  if (feedbackOf(s) === 'hidden') {
    // Nothing of a @hidden scenario but its outcome and points: the student log is public to the student.
    return {
      name: `Hidden check ${hiddenIndex}`,
      status: STATUS[s.outcome],
      score: s.points,
      message: s.outcome === 'error' ? GRADER_ERROR : 'This check is shown when grades are published.',
      test_code: '',
      filename: '',
      line_no: 0,
      duration: s.durationMs,
    };
  }
  return {
    name: printable(s.name),
    status: STATUS[s.outcome],
    score: s.points,
    message: message(s),
    test_code: printable(s.steps.map((st) => st.text).join('\n')),
    ...location(s.id),
    duration: s.durationMs,
  };
}

/**
 * A grade as a GitHub Classroom runner result: one test per graded scenario (@course checks carry
 * no points and are left out). Complete: status "pass" when every test passed, else "fail", and
 * max_score the lab's. Incomplete (a grader error survived the retry): status "error", which makes
 * the reporter fail the run, and max_score 0, so that the reporter posts no points at all rather
 * than a partial score that would read as the student's.
 */
export function toClassroom(result: GradeResult): ClassroomResult {
  let hidden = 0;
  const tests = result.scenarios
    .filter((s) => !s.course)
    .map((s) => toTest(s, feedbackOf(s) === 'hidden' ? ++hidden : 0));
  const status: ClassroomStatus = !result.complete
    ? 'error'
    : tests.every((t) => t.status === 'pass')
      ? 'pass'
      : 'fail';
  return { version: 1, status, max_score: result.complete ? result.maxScore : 0, tests };
}

/** The value of the runner's `result` output: the JSON in base64, one line. */
export function classroomOutput(result: ClassroomResult): string {
  return Buffer.from(JSON.stringify(result), 'utf8').toString('base64');
}

const MARKS: Record<ClassroomStatus, string> = { pass: 'pass ', fail: 'FAIL ', error: 'ERROR' };

/**
 * The feedback a student reads in the run's log, made from the Classroom result only (so a
 * @hidden scenario shows no more here than there): each test with its points and, when it did
 * not pass, its message.
 */
export function classroomFeedback(result: ClassroomResult): string {
  const lines = [`kgrade: ${classroomSummary(result)}`];
  for (const t of result.tests) {
    lines.push(`  ${MARKS[t.status]} ${t.name} (${plural(t.score, 'point')})`);
    if (t.status !== 'pass' && t.message)
      lines.push(...t.message.split('\n').map((l) => (l === '' ? '' : `        ${l}`)));
  }
  return `${lines.join('\n')}\n`;
}

/** One line for the log: what was posted, or why nothing was. */
export function classroomSummary(result: ClassroomResult): string {
  const points = result.tests.reduce((s, t) => s + t.score, 0);
  return result.status === 'error'
    ? `incomplete: ${plural(result.tests.filter((t) => t.status === 'error').length, 'check')} ended in a grader error; no points are posted`
    : `${points}/${result.max_score} points, ${result.tests.filter((t) => t.status === 'pass').length}/${result.tests.length} checks passed`;
}
