import { feedbackOf, type GradeResult, type Outcome, type ScenarioResult } from '../grade/model.js';
import { studentDetails } from './feedback.js';
import { formatPoints, plural, printable } from './summary.js';

/** One entry of "tests" in Gradescope's autograder results.json. */
export interface GradescopeTest {
  name: string;
  score: number;
  max_score: number;
  status: 'passed' | 'failed';
  output: string;
  visibility: 'visible' | 'after_published';
  extra_data: { id: string; outcome: Outcome };
}

/** Gradescope's autograder results.json (gradescope-autograders.readthedocs.io/en/latest/specs/). */
export interface GradescopeResults {
  score: number;
  /** The most this lab can score: the tests' max_score summed (@course checks carry none). */
  max_score: number;
  execution_time: number;
  output: string;
  output_format: 'text';
  test_output_format: 'text';
  test_name_format: 'text';
  tests: GradescopeTest[];
  extra_data: {
    lab: string;
    submission: string;
    complete: boolean;
    counts: Record<Outcome, number>;
  };
}

const GRADER_ERROR =
  'GRADER ERROR: this check could not be completed because of a problem with the grader or its infrastructure, ' +
  'not with your submission. It is not held against you: the submission will be regraded.';

function testOutput(s: ScenarioResult): string {
  switch (s.outcome) {
    case 'passed':
      return studentDetails(s).join('\n\n');
    case 'failed':
      return [s.message, ...studentDetails(s)].filter((p) => p !== '').join('\n\n');
    case 'error':
      return [GRADER_ERROR, s.message === '' ? '' : `Last state seen: ${s.message}`, ...studentDetails(s)]
        .filter((p) => p !== '')
        .join('\n\n');
    case 'skipped':
      return ['Not run.', s.message, ...studentDetails(s)].filter((p) => p !== '').join('\n\n');
  }
}

function toTest(s: ScenarioResult): GradescopeTest {
  return {
    name: printable(s.name),
    score: s.points,
    max_score: s.maxPoints,
    status: s.outcome === 'passed' ? 'passed' : 'failed',
    output: printable(testOutput(s)),
    visibility: feedbackOf(s) === 'hidden' ? 'after_published' : 'visible',
    extra_data: { id: s.id, outcome: s.outcome },
  };
}

function summary(result: GradeResult, graded: ScenarioResult[]): string {
  const visible = graded.filter((s) => feedbackOf(s) !== 'hidden');
  const hidden = graded.length - visible.length;
  const tally = (outcome: Outcome) => visible.filter((s) => s.outcome === outcome).length;
  const lines = [
    `${result.lab.id}: ${result.lab.title}`,
    `Score: ${formatPoints(result.score)}/${formatPoints(result.maxScore)}`,
    `Checks shown now: ${tally('passed')} passed, ${tally('failed')} failed` +
      (tally('error') > 0 ? `, ${tally('error')} not completed (grader error)` : '') +
      (tally('skipped') > 0 ? `, ${tally('skipped')} not run` : '') +
      '.',
  ];
  if (hidden > 0) lines.push(`${plural(hidden, 'more check')} will be shown when grades are published.`);
  if (!result.complete) {
    lines.push(
      '',
      `INCOMPLETE: ${plural(result.counts.error, 'check')} could not be completed because of a grader error ` +
        '(not a problem with your submission). This grade is not final: the submission will be regraded.',
    );
  }
  return lines.join('\n');
}

/** Gradescope autograder results; @course checks carry no points and are left out. */
export function toGradescope(result: GradeResult): GradescopeResults {
  const graded = result.scenarios.filter((s) => !s.course);
  return {
    score: result.score,
    max_score: result.maxScore,
    execution_time: Math.round(result.durationMs / 1000),
    output: printable(summary(result, graded)),
    output_format: 'text',
    test_output_format: 'text',
    test_name_format: 'text',
    tests: graded.map(toTest),
    extra_data: {
      lab: result.lab.id,
      submission: result.submission.name,
      complete: result.complete,
      counts: result.counts,
    },
  };
}
