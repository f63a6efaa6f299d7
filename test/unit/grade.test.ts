/**
 * Scoring, the classification of step results into outcomes (only the
 * student-fault exception type costs points), and verify's verdict per case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestStepResultStatus, type TestStepResult } from '@cucumber/messages';
import { GraderError, LabError, SubmissionAssertionError, STUDENT_FAULT_TYPE } from '../../src/errors.js';
import { classifyStep, outcomeOf } from '../../src/cucumber/outcome.js';
import type { GradeResult, Outcome, StepResult } from '../../src/grade/model.js';
import { buildResult, scenarioResult, type ScenarioAttempt } from '../../src/grade/score.js';
import { judgeCase, judgeRounds } from '../../src/grade/verify.js';
import type { Lab, ScenarioDef } from '../../src/lab/types.js';

function def(id: string, name: string, points: number, extra: Partial<ScenarioDef> = {}): ScenarioDef {
  const [uri = '', line = '0'] = id.split(':');
  return {
    id,
    uri,
    line: Number(line),
    name,
    feature: 'F',
    tags: extra.course ? ['@course'] : [`@points:${points}`],
    points,
    course: false,
    hidden: false,
    feedback: extra.hidden ? 'hidden' : 'full',
    serial: false,
    races: false,
    hint: extra.course ? '' : `hint for ${name}`,
    ...extra,
  };
}

function makeLab(): Lab {
  const scenarios = [
    def('features/a.feature:3', 'graded one', 3),
    def('features/a.feature:9', 'graded two', 2, { hidden: true }),
    def('features/b.feature:4', 'course check', 0, { course: true }),
  ];
  return {
    id: 'score-lab',
    title: 'Scoring',
    chapter: 2,
    environment: 'sandbox',
    kernel: { cgroup: 'either' },
    submission: { files: [{ path: 'run.sh', description: 'x' }], maxBytes: 1000 },
    timeouts: { script: 60, command: 30, wait: 60 },
    feedback: 'full',
    fixtures: [],
    disruptive: false,
    verify: {},
    expect: {
      'half-done': { score: 3, failed: ['graded two'] },
      'no-list': { score: 0 },
    },
    dir: '/labs/score-lab',
    featuresDir: '/labs/score-lab/features',
    scenarios,
    maxScore: 5,
  };
}

function attempt(outcome: Outcome, message = '', extra: Partial<ScenarioAttempt> = {}): ScenarioAttempt {
  return { outcome, message, notes: [], steps: [], durationMs: 10, attempts: 1, ...extra };
}

const META = {
  submission: { name: 'alice', path: '/subs/alice' },
  environment: { provider: 'sandbox', image: 'kgrade/node:test', kernel: '6.1' },
  startedAt: new Date('2025-01-01T00:00:00.000Z'),
  finishedAt: new Date('2025-01-01T00:00:02.500Z'),
};

// ---------------------------------------------------------------- scoring

test('scenarioResult: a passed scenario earns its points and keeps no message', () => {
  const d = def('features/a.feature:3', 'graded one', 3);
  const r = scenarioResult(d, attempt('passed', 'leftover', { notes: ['saw x'], attempts: 2, durationMs: 42 }));
  assert.deepEqual(r, {
    id: d.id,
    name: 'graded one',
    feature: 'F',
    outcome: 'passed',
    points: 3,
    maxPoints: 3,
    course: false,
    hidden: false,
    feedback: 'full',
    message: '',
    hint: 'hint for graded one',
    notes: ['saw x'],
    attempts: 2,
    durationMs: 42,
    steps: [],
  });
});

for (const outcome of ['failed', 'error', 'skipped'] as const) {
  test(`scenarioResult: a ${outcome} scenario earns nothing and keeps its message`, () => {
    const r = scenarioResult(def('features/a.feature:3', 'graded one', 3), attempt(outcome, 'why'));
    assert.equal(r.points, 0);
    assert.equal(r.maxPoints, 3);
    assert.equal(r.outcome, outcome);
    assert.equal(r.message, 'why');
  });
}

test('buildResult totals points, counts outcomes and copies the metadata', () => {
  const lab = makeLab();
  const attempts = new Map<string, ScenarioAttempt>([
    ['features/a.feature:3', attempt('passed')],
    ['features/a.feature:9', attempt('failed', 'no')],
    ['features/b.feature:4', attempt('passed')],
  ]);
  const r: GradeResult = buildResult(lab, attempts, META);
  assert.equal(r.schemaVersion, 1);
  assert.deepEqual(r.lab, { id: 'score-lab', title: 'Scoring', chapter: 2 });
  assert.deepEqual(r.submission, META.submission);
  assert.deepEqual(r.environment, META.environment);
  assert.equal(r.score, 3);
  assert.equal(r.maxScore, 5);
  assert.equal(r.complete, true);
  assert.deepEqual(r.counts, { passed: 2, failed: 1, error: 0, skipped: 0 });
  assert.equal(r.startedAt, '2025-01-01T00:00:00.000Z');
  assert.equal(r.finishedAt, '2025-01-01T00:00:02.500Z');
  assert.equal(r.durationMs, 2500);
  assert.deepEqual(
    r.scenarios.map((s) => [s.name, s.points, s.maxPoints, s.course, s.hidden]),
    [
      ['graded one', 3, 3, false, false],
      ['graded two', 0, 2, false, true],
      ['course check', 0, 0, true, false],
    ],
  );
});

test("buildResult: scenarios keep the lab's order, whatever order the runs came in", () => {
  const lab = makeLab();
  const attempts = new Map<string, ScenarioAttempt>([
    ['features/b.feature:4', attempt('passed')],
    ['features/a.feature:9', attempt('passed')],
    ['features/a.feature:3', attempt('passed')],
  ]);
  const r = buildResult(lab, attempts, META);
  assert.deepEqual(
    r.scenarios.map((s) => s.id),
    lab.scenarios.map((s) => s.id),
  );
  assert.equal(r.score, 5);
});

test('buildResult: a scenario never reported is an error, never a silent zero', () => {
  const lab = makeLab();
  const r = buildResult(lab, new Map([['features/a.feature:3', attempt('passed')]]), META);
  assert.equal(r.complete, false);
  assert.deepEqual(r.counts, { passed: 1, failed: 0, error: 2, skipped: 0 });
  const missing = r.scenarios.find((s) => s.id === 'features/a.feature:9');
  assert.equal(missing?.outcome, 'error');
  assert.equal(missing?.attempts, 0);
  assert.match(missing?.message ?? '', /never reported this scenario/);
  assert.equal(r.score, 3);
  assert.equal(r.maxScore, 5);
});

test('buildResult: an error anywhere makes the grade incomplete; attempts from a retry are kept', () => {
  const lab = makeLab();
  const r = buildResult(
    lab,
    new Map([
      ['features/a.feature:3', attempt('passed')],
      ['features/a.feature:9', attempt('error', 'docker died', { attempts: 2 })],
      ['features/b.feature:4', attempt('skipped')],
    ]),
    META,
  );
  assert.equal(r.complete, false);
  assert.deepEqual(r.counts, { passed: 1, failed: 0, error: 1, skipped: 1 });
  assert.equal(r.scenarios[1]?.attempts, 2);
  assert.equal(r.scenarios[1]?.message, 'docker died');
});

test('buildResult: ids the lab does not define are ignored', () => {
  const lab = makeLab();
  const attempts = new Map<string, ScenarioAttempt>(lab.scenarios.map((s) => [s.id, attempt('passed')]));
  attempts.set('features/gone.feature:1', attempt('failed'));
  const r = buildResult(lab, attempts, META);
  assert.equal(r.scenarios.length, 3);
  assert.equal(r.score, 5);
});

// ------------------------------------------------------ step classification

function stepResult(status: TestStepResultStatus, exceptionType?: string): TestStepResult {
  return {
    status,
    duration: { seconds: 1, nanos: 500_000_000 },
    ...(exceptionType !== undefined
      ? { exception: { type: exceptionType, message: 'boom' }, message: `${exceptionType}: boom` }
      : {}),
  };
}

test('the student-fault type is the class name of SubmissionAssertionError', () => {
  assert.equal(STUDENT_FAULT_TYPE, SubmissionAssertionError.name);
  assert.equal(new SubmissionAssertionError('x').name, STUDENT_FAULT_TYPE);
  assert.equal(new GraderError('x').name, 'GraderError');
  assert.equal(new LabError('x').name, 'LabError');
});

test("classifyStep: only a SubmissionAssertionError failure is the student's", () => {
  assert.equal(classifyStep(stepResult(TestStepResultStatus.FAILED, 'SubmissionAssertionError')), 'failed');
  for (const other of [
    'GraderError',
    'LabError',
    'Error',
    'TypeError',
    'AssertionError',
    'RangeError',
    'SubmissionAssertion',
    'submissionassertionerror',
    '',
  ]) {
    assert.equal(classifyStep(stepResult(TestStepResultStatus.FAILED, other)), 'error', `exception type "${other}"`);
  }
  assert.equal(classifyStep(stepResult(TestStepResultStatus.FAILED)), 'error', 'a failure without an exception');
});

test('classifyStep: passed, skipped, undefined, ambiguous, pending, unknown', () => {
  assert.equal(classifyStep(stepResult(TestStepResultStatus.PASSED)), 'passed');
  assert.equal(classifyStep(stepResult(TestStepResultStatus.SKIPPED)), 'skipped');
  assert.equal(classifyStep(stepResult(TestStepResultStatus.UNDEFINED)), 'undefined');
  assert.equal(classifyStep(stepResult(TestStepResultStatus.AMBIGUOUS)), 'ambiguous');
  assert.equal(classifyStep(stepResult(TestStepResultStatus.PENDING)), 'pending');
  assert.equal(classifyStep(stepResult(TestStepResultStatus.UNKNOWN)), 'error');
  assert.equal(
    classifyStep({ ...stepResult(TestStepResultStatus.PASSED), status: 'SOMETHING_NEW' as TestStepResultStatus }),
    'error',
  );
});

function step(status: StepResult['status'], text = `Then ${status}`, message?: string): StepResult {
  return { text, status, durationMs: 1, ...(message !== undefined ? { message } : {}) };
}

test('outcomeOf: all passed, or no steps at all, is passed', () => {
  assert.deepEqual(outcomeOf([step('passed'), step('passed')]), { outcome: 'passed', message: '' });
  assert.deepEqual(outcomeOf([]), { outcome: 'passed', message: '' });
  assert.deepEqual(outcomeOf([step('passed'), step('skipped')]), { outcome: 'passed', message: '' });
});

test('outcomeOf: only skipped steps is skipped', () => {
  assert.deepEqual(outcomeOf([step('skipped'), step('skipped')]), { outcome: 'skipped', message: '' });
});

test('outcomeOf: a failed step fails the scenario with its message', () => {
  assert.deepEqual(outcomeOf([step('passed'), step('failed', 'Then it works', 'it did not'), step('skipped')]), {
    outcome: 'failed',
    message: 'it did not',
  });
  assert.deepEqual(outcomeOf([step('failed', 'Then x')]), { outcome: 'failed', message: '' });
});

test('outcomeOf: the first step that did not pass decides', () => {
  assert.equal(outcomeOf([step('error', 'When a', 'docker'), step('failed', 'Then b', 'no')]).outcome, 'error');
  assert.equal(outcomeOf([step('failed', 'When a', 'no'), step('error', 'Then b', 'docker')]).outcome, 'failed');
});

test('outcomeOf: an exception of any other type is a grader error naming the step', () => {
  const r = outcomeOf([step('passed'), step('error', 'When the node runs "x"', 'docker went away')]);
  assert.equal(r.outcome, 'error');
  assert.equal(r.message, 'grader error in "When the node runs "x"": docker went away');
  assert.match(outcomeOf([step('error', 'When y')]).message, /grader error in "When y": unknown error/);
});

test('outcomeOf: undefined, ambiguous and pending steps are errors that blame the lab', () => {
  const u = outcomeOf([step('undefined', 'When the moon is full')]);
  assert.equal(u.outcome, 'error');
  assert.match(u.message, /the lab is broken: no step definition matches "When the moon is full"/);
  const a = outcomeOf([step('ambiguous', 'When twice')]);
  assert.equal(a.outcome, 'error');
  assert.match(a.message, /several step definitions match "When twice"/);
  const p = outcomeOf([step('pending', 'When later')]);
  assert.equal(p.outcome, 'error');
  assert.match(p.message, /step "When later" is pending/);
});

// ---------------------------------------------------------------- verify

function graded(outcomes: Record<string, Outcome>, messages: Record<string, string> = {}): GradeResult {
  const lab = makeLab();
  const attempts = new Map<string, ScenarioAttempt>();
  for (const s of lab.scenarios) {
    const o = outcomes[s.name];
    if (o) attempts.set(s.id, attempt(o, messages[s.name] ?? (o === 'passed' ? '' : `${o} because`)));
  }
  return buildResult(lab, attempts, META);
}

test('judgeCase: a reference with full marks matches', () => {
  const v = judgeCase(
    makeLab(),
    'reference',
    graded({ 'graded one': 'passed', 'graded two': 'passed', 'course check': 'passed' }),
  );
  assert.deepEqual(v, { name: 'reference', kind: 'reference', expected: '5/5' });
});

test('judgeCase: a reference that loses points, or whose course check fails, is a mismatch naming the scenario', () => {
  const lab = makeLab();
  const lost = judgeCase(
    lab,
    'reference',
    graded(
      { 'graded one': 'passed', 'graded two': 'failed', 'course check': 'passed' },
      { 'graded two': 'nope\nsecond line' },
    ),
  );
  assert.equal(lost.kind, 'reference');
  assert.match(lost.mismatch ?? '', /reference must pass everything; "graded two" failed: nope$/);
  const course = judgeCase(
    lab,
    'reference',
    graded({ 'graded one': 'passed', 'graded two': 'passed', 'course check': 'failed' }),
  );
  assert.match(course.mismatch ?? '', /"course check" failed/);
  const errored = judgeCase(
    lab,
    'reference',
    graded(
      { 'graded one': 'passed', 'graded two': 'error', 'course check': 'passed' },
      { 'graded two': 'docker died' },
    ),
  );
  assert.match(errored.mismatch ?? '', /"graded two" error: docker died/);
});

test('judgeCase: a wrong case with the expected score and failures matches', () => {
  const v = judgeCase(
    makeLab(),
    'half-done',
    graded({ 'graded one': 'passed', 'graded two': 'failed', 'course check': 'passed' }),
  );
  assert.deepEqual(v, { name: 'half-done', kind: 'wrong', expected: '3/5' });
});

test('judgeCase: a wrong case with another score is a mismatch', () => {
  const v = judgeCase(
    makeLab(),
    'no-list',
    graded({ 'graded one': 'passed', 'graded two': 'failed', 'course check': 'passed' }),
  );
  assert.equal(v.expected, '0/5');
  assert.equal(v.mismatch, 'scored 3, expected 0');
});

test('judgeCase: a scenario that should fail but passed, errored or never ran is named', () => {
  const lab = makeLab();
  lab.expect['half-done'] = { score: 3, failed: ['graded two'] };
  const passed = judgeCase(
    lab,
    'half-done',
    graded({ 'graded one': 'passed', 'graded two': 'passed', 'course check': 'passed' }),
  );
  assert.match(passed.mismatch ?? '', /scored 5, expected 3; "graded two" should fail but passed/);
  const errored = judgeCase(
    lab,
    'half-done',
    graded({ 'graded one': 'passed', 'graded two': 'error', 'course check': 'passed' }),
  );
  assert.equal(errored.mismatch, '"graded two" should fail but error');
  lab.expect['half-done'] = { score: 3, failed: ['not in the results'] };
  const missing = judgeCase(
    lab,
    'half-done',
    graded({ 'graded one': 'passed', 'graded two': 'failed', 'course check': 'passed' }),
  );
  assert.equal(missing.mismatch, '"not in the results" should fail but did not run');
});

test('judgeCase: a wrong case lab.yaml does not list is a mismatch', () => {
  const v = judgeCase(makeLab(), 'surprise', graded({ 'graded one': 'passed' }));
  assert.deepEqual(v, {
    name: 'surprise',
    kind: 'wrong',
    expected: '?',
    mismatch: 'lab.yaml has no expect entry for wrong/surprise',
  });
});

// A repeat round holds only the @races scenarios; graded() fills the others as never reported.
function round(outcomes: Record<string, Outcome>, messages: Record<string, string> = {}): GradeResult {
  const r = graded(outcomes, messages);
  return { ...r, scenarios: r.scenarios.filter((s) => s.name in outcomes) };
}

test('judgeRounds: a @races scenario that passes in every round is no mismatch; no rounds, none either', () => {
  const first = graded({ 'graded one': 'passed', 'graded two': 'passed', 'course check': 'passed' });
  assert.equal(judgeRounds(first, [round({ 'graded one': 'passed' }), round({ 'graded one': 'passed' })]), undefined);
  assert.equal(judgeRounds(first, []), undefined);
});

test('judgeRounds: passing once and failing once is flaky, naming the scenario, the rounds and why', () => {
  const first = graded({ 'graded one': 'passed', 'graded two': 'passed', 'course check': 'passed' });
  const m = judgeRounds(first, [
    round({ 'graded one': 'passed' }),
    round({ 'graded one': 'failed' }, { 'graded one': 'reached 1 pod\nmore' }),
  ]);
  assert.equal(m, 'flaky: "graded one" passed in rounds 1, 2 and failed in round 3 of 3: reached 1 pod');
  const firstFails = graded(
    { 'graded one': 'failed', 'graded two': 'passed', 'course check': 'passed' },
    { 'graded one': 'one pod' },
  );
  assert.match(
    judgeRounds(firstFails, [round({ 'graded one': 'passed' })]) ?? '',
    /^flaky: "graded one" passed in round 2 and failed in round 1 of 2: one pod$/,
  );
});

test('judgeRounds: failing in every round is named too; a round that ended in a grader error is not called flaky', () => {
  const first = graded(
    { 'graded one': 'failed', 'graded two': 'passed', 'course check': 'passed' },
    { 'graded one': 'no' },
  );
  assert.equal(
    judgeRounds(first, [round({ 'graded one': 'failed' }, { 'graded one': 'no' })]),
    '"graded one" failed in rounds 1, 2 of 2: no',
  );
  const ok = graded({ 'graded one': 'passed', 'graded two': 'passed', 'course check': 'passed' });
  assert.equal(judgeRounds(ok, [round({ 'graded one': 'error' })]), undefined);
});
