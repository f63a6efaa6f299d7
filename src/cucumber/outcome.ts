import { TestStepResultStatus, type TestStepResult } from '@cucumber/messages';
import { STUDENT_FAULT_TYPE } from '../errors.js';
import type { Outcome, StepResult } from '../grade/model.js';

/** Classifies one step's result: a student's failure only for the student-fault exception type. */
export function classifyStep(r: TestStepResult): StepResult['status'] {
  switch (r.status) {
    case TestStepResultStatus.PASSED:
      return 'passed';
    case TestStepResultStatus.SKIPPED:
      return 'skipped';
    case TestStepResultStatus.UNDEFINED:
      return 'undefined';
    case TestStepResultStatus.AMBIGUOUS:
      return 'ambiguous';
    case TestStepResultStatus.PENDING:
      return 'pending';
    case TestStepResultStatus.FAILED:
      return r.exception?.type === STUDENT_FAULT_TYPE ? 'failed' : 'error';
    default:
      return 'error';
  }
}

/** A scenario's outcome from its steps: the first step that did not pass decides. */
export function outcomeOf(steps: StepResult[]): { outcome: Outcome; message: string } {
  const bad = steps.find((s) => s.status !== 'passed' && s.status !== 'skipped');
  if (!bad) {
    const ran = steps.some((s) => s.status === 'passed');
    return { outcome: ran || steps.length === 0 ? 'passed' : 'skipped', message: '' };
  }
  switch (bad.status) {
    case 'failed':
      return { outcome: 'failed', message: bad.message ?? '' };
    case 'undefined':
      return { outcome: 'error', message: `the lab is broken: no step definition matches "${bad.text}"` };
    case 'ambiguous':
      return { outcome: 'error', message: `the lab is broken: several step definitions match "${bad.text}"` };
    case 'pending':
      return { outcome: 'error', message: `the lab is broken: step "${bad.text}" is pending` };
    default:
      return { outcome: 'error', message: `grader error in "${bad.text}": ${bad.message ?? 'unknown error'}` };
  }
}
