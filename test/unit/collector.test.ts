/**
 * The message reducer on its own: made-up cucumber envelopes in, one
 * ScenarioRun per scenario attempt out, with the outcome deciding who pays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateMessages } from '@cucumber/gherkin';
import {
  AttachmentContentEncoding,
  IdGenerator,
  SourceMediaType,
  TestStepResultStatus,
  type Envelope,
  type Exception,
  type Pickle,
} from '@cucumber/messages';
import { ScenarioCollector } from '../../src/cucumber/collector.js';
import { NOTE_MEDIA_TYPE, type ScenarioRun } from '../../src/cucumber/parameters.js';
import { parseFeature } from '../../src/lab/load.js';
import type { ScenarioDef } from '../../src/lab/types.js';

const URI = 'features/collect.feature';

const FEATURE = `Feature: collect

  Background:
    Given an empty folder "/srv" on the node

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

  @points:1
  Scenario: the grader breaks
    A third hint.

    When the node runs "true"
`;

const AT = { seconds: 0, nanos: 0 };

/** The feature's gherkinDocument and pickle envelopes, as cucumber sends them first. */
function sourceEnvelopes(): { envelopes: readonly Envelope[]; pickles: Pickle[] } {
  const envelopes = generateMessages(FEATURE, URI, SourceMediaType.TEXT_X_CUCUMBER_GHERKIN_PLAIN, {
    includeSource: false,
    includeGherkinDocument: true,
    includePickles: true,
    newId: IdGenerator.incrementing(),
  });
  const pickles = envelopes.flatMap((e) => (e.pickle ? [e.pickle] : []));
  return { envelopes, pickles };
}

type StepPlan = { status: TestStepResultStatus; ms?: number; exception?: Exception; message?: string };

/**
 * The envelopes of one scenario attempt: a Before hook, then the pickle's
 * steps, each finishing as planned (the hook first).
 */
function attemptEnvelopes(
  pickle: Pickle,
  n: number,
  plan: { hook: StepPlan; steps: StepPlan[]; notes?: { mediaType: string; body: string }[] },
): Envelope[] {
  const testCaseId = `tc-${n}`;
  const startedId = `tcs-${n}`;
  const hookStep = { id: `${testCaseId}-hook`, hookId: 'before-1' };
  const steps = pickle.steps.map((s, i) => ({ id: `${testCaseId}-step-${i}`, pickleStepId: s.id }));
  const finished = (testStepId: string, p: StepPlan): Envelope => ({
    testStepFinished: {
      testCaseStartedId: startedId,
      testStepId,
      timestamp: AT,
      testStepResult: {
        status: p.status,
        duration: { seconds: 0, nanos: (p.ms ?? 1) * 1e6 },
        ...(p.exception ? { exception: p.exception } : {}),
        ...(p.message ? { message: p.message } : {}),
      },
    },
  });
  return [
    { testCase: { id: testCaseId, pickleId: pickle.id, testSteps: [hookStep, ...steps] } },
    { testCaseStarted: { id: startedId, testCaseId, attempt: 0, timestamp: AT } },
    finished(hookStep.id, plan.hook),
    ...(plan.notes ?? []).map((a): Envelope => ({
      attachment: { testCaseStartedId: startedId, mediaType: a.mediaType, body: a.body, contentEncoding: AttachmentContentEncoding.IDENTITY },
    })),
    ...steps.map((s, i) => finished(s.id, plan.steps[i] ?? { status: TestStepResultStatus.SKIPPED })),
    { testCaseFinished: { testCaseStartedId: startedId, timestamp: AT, willBeRetried: false } },
  ];
}

const PASSED: StepPlan = { status: TestStepResultStatus.PASSED, ms: 5 };
const SKIPPED: StepPlan = { status: TestStepResultStatus.SKIPPED, ms: 0 };

function collect(envelopes: Envelope[], defs: ScenarioDef[], dryRun = false) {
  let clock = 1000;
  const seen: { run: ScenarioRun; def: ScenarioDef | undefined }[] = [];
  const collector = new ScenarioCollector(defs, {
    dryRun,
    now: () => (clock += 250),
    onScenario: (run, def) => seen.push({ run, def }),
  });
  for (const env of envelopes) collector.parseEnvelope(env);
  return { runs: collector.runs, seen };
}

test('ScenarioCollector: a passed, a failed and an errored scenario, with a note', () => {
  const defs = parseFeature(FEATURE, URI);
  const { envelopes, pickles } = sourceEnvelopes();
  const [good, wrong, broken] = pickles;
  assert.ok(good && wrong && broken, 'three pickles');
  const all = [
    ...envelopes,
    ...attemptEnvelopes(good, 1, { hook: PASSED, steps: [PASSED, PASSED, PASSED] }),
    ...attemptEnvelopes(wrong, 2, {
      hook: PASSED,
      steps: [
        PASSED,
        PASSED,
        {
          status: TestStepResultStatus.FAILED,
          ms: 12,
          exception: { type: 'SubmissionAssertionError', message: 'expected exit status 0, saw 1' },
          message: 'SubmissionAssertionError: expected exit status 0, saw 1\n    at somewhere',
        },
        SKIPPED,
      ],
      notes: [
        { mediaType: NOTE_MEDIA_TYPE, body: 'false exited 1' },
        { mediaType: 'text/plain', body: 'not a note' },
      ],
    }),
    ...attemptEnvelopes(broken, 3, {
      hook: { status: TestStepResultStatus.FAILED, exception: { type: 'GraderError', message: 'the Docker daemon is not reachable' } },
      steps: [SKIPPED, SKIPPED],
    }),
  ];

  const { runs, seen } = collect(all, defs);

  assert.deepEqual(runs, [
    {
      id: `${URI}:7`,
      outcome: 'passed',
      message: '',
      notes: [],
      steps: [
        { text: 'Given an empty folder "/srv" on the node', status: 'passed', durationMs: 5 },
        { text: 'When the node runs "true"', status: 'passed', durationMs: 5 },
        { text: 'Then it succeeds', status: 'passed', durationMs: 5 },
      ],
      durationMs: 250,
    },
    {
      id: `${URI}:14`,
      outcome: 'failed',
      message: 'expected exit status 0, saw 1',
      notes: ['false exited 1'],
      steps: [
        { text: 'Given an empty folder "/srv" on the node', status: 'passed', durationMs: 5 },
        { text: 'When the node runs "false"', status: 'passed', durationMs: 5 },
        { text: 'Then it succeeds', status: 'failed', durationMs: 12, message: 'expected exit status 0, saw 1' },
        { text: 'And its output is "ok"', status: 'skipped', durationMs: 0 },
      ],
      durationMs: 250,
    },
    {
      id: `${URI}:22`,
      outcome: 'error',
      message: 'grader error in "a setup or cleanup hook": the Docker daemon is not reachable',
      notes: [],
      steps: [
        { text: 'a setup or cleanup hook', status: 'error', durationMs: 1, message: 'the Docker daemon is not reachable' },
        { text: 'Given an empty folder "/srv" on the node', status: 'skipped', durationMs: 0 },
        { text: 'When the node runs "true"', status: 'skipped', durationMs: 0 },
      ],
      durationMs: 250,
    },
  ]);
  assert.deepEqual(
    seen.map((s) => [s.run.id, s.def?.name]),
    [
      [`${URI}:7`, 'all goes well'],
      [`${URI}:14`, 'the submission is wrong'],
      [`${URI}:22`, 'the grader breaks'],
    ],
  );
});

test('ScenarioCollector: a failure of any other exception type is the grader\'s error, its message from the stack when it has none', () => {
  const { envelopes, pickles } = sourceEnvelopes();
  const good = pickles[0];
  assert.ok(good);
  const { runs } = collect(
    [
      ...envelopes,
      ...attemptEnvelopes(good, 1, {
        hook: PASSED,
        steps: [PASSED, { status: TestStepResultStatus.FAILED, exception: { type: 'TypeError' }, message: 'TypeError: x is undefined\n    at step' }],
      }),
    ],
    parseFeature(FEATURE, URI),
  );
  assert.equal(runs[0]?.outcome, 'error');
  assert.equal(runs[0]?.message, 'grader error in "When the node runs "true"": TypeError: x is undefined');
});

test('ScenarioCollector: in a dry run, skipped steps make a passed scenario; an unknown scenario keeps its location as id', () => {
  const { envelopes, pickles } = sourceEnvelopes();
  const good = pickles[0];
  assert.ok(good);
  const { runs, seen } = collect([...envelopes, ...attemptEnvelopes(good, 1, { hook: PASSED, steps: [SKIPPED, SKIPPED, SKIPPED] })], [], true);
  assert.equal(runs[0]?.outcome, 'passed');
  assert.equal(runs[0]?.id, `${URI}:7`);
  assert.equal(seen[0]?.def, undefined);
});

test('ScenarioCollector: messages of an attempt it never saw start are ignored', () => {
  const { envelopes, pickles } = sourceEnvelopes();
  const good = pickles[0];
  assert.ok(good);
  const attempt = attemptEnvelopes(good, 1, { hook: PASSED, steps: [PASSED, PASSED, PASSED] }).filter((e) => !e.testCaseStarted);
  const { runs } = collect([...envelopes, ...attempt], parseFeature(FEATURE, URI));
  assert.deepEqual(runs, []);
});
