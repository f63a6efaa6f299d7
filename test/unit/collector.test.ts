/**
 * The message reducer on messages recorded from real cucumber-js runs (test/unit/data/cucumber:
 * a tiny feature, its step definitions and record.mjs, which regenerates run.ndjson and
 * dry-run.ndjson), one ScenarioRun per scenario attempt out, with the outcome deciding who pays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Envelope } from '@cucumber/messages';
import { ScenarioCollector } from '../../src/cucumber/collector.js';
import type { ScenarioRun } from '../../src/cucumber/parameters.js';
import { parseFeature } from '../../src/lab/load.js';
import { REPO_ROOT } from '../../src/paths.js';
import type { ScenarioDef } from '../../src/lab/types.js';

const DIR = path.join(REPO_ROOT, 'test/unit/data/cucumber');
const URI = 'features/collect.feature';
const FEATURE = readFileSync(path.join(DIR, URI), 'utf8');
const REGENERATE = 'regenerate them: npm run build && node test/unit/data/cucumber/record.mjs';

function recorded(file: string): Envelope[] {
  return readFileSync(path.join(DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Envelope);
}

function collect(envelopes: readonly Envelope[], defs: readonly ScenarioDef[], dryRun = false) {
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

/** The runs with every step's duration checked to be a whole number of ms and then dropped. */
function withoutStepDurations(runs: readonly ScenarioRun[]) {
  return runs.map((r) => ({
    ...r,
    steps: r.steps.map(({ durationMs, ...s }) => {
      assert.ok(Number.isInteger(durationMs) && durationMs >= 0, `${s.text}: duration ${durationMs}`);
      return s;
    }),
  }));
}

const DEFS = parseFeature(FEATURE, URI);
const id = (line: number) => `${URI}:${line}`;
const READY = { text: 'Given the node is ready', status: 'passed' };
const RUNS_TRUE = { text: 'When the node runs "true"', status: 'passed' };
const SUCCEEDS = { text: 'Then it succeeds', status: 'passed' };
const SAW_1 = 'expected exit status 0, saw 1';

for (const file of ['run.ndjson', 'dry-run.ndjson']) {
  test(`${file} was recorded from the feature as it is now`, () => {
    const sources = recorded(file).flatMap((e) => (e.source ? [e.source] : []));
    assert.deepEqual(
      sources.map((s) => [s.uri, s.data]),
      [[URI, FEATURE]],
      `the recording is of another version of ${URI}: ${REGENERATE}`,
    );
  });
}

test("ScenarioCollector on a real run: passed, failed (the student's) and every kind of error, with notes", () => {
  const { runs, seen } = collect(recorded('run.ndjson'), DEFS);
  assert.deepEqual(withoutStepDurations(runs), [
    {
      id: id(7),
      outcome: 'passed',
      message: '',
      notes: ['true exited 0'],
      steps: [READY, RUNS_TRUE, SUCCEEDS],
      durationMs: 250,
    },
    {
      id: id(14),
      outcome: 'failed',
      message: SAW_1,
      notes: ['false exited 1'],
      steps: [
        READY,
        { text: 'When the node runs "false"', status: 'passed' },
        { text: 'Then it succeeds', status: 'failed', message: SAW_1 },
        { text: 'And its output is "ok"', status: 'skipped' },
      ],
      durationMs: 250,
    },
    {
      id: id(22),
      outcome: 'error',
      message: 'grader error in "a setup or cleanup hook": the Docker daemon is not reachable',
      notes: [],
      steps: [
        { text: 'a setup or cleanup hook', status: 'error', message: 'the Docker daemon is not reachable' },
        { ...READY, status: 'skipped' },
        { ...RUNS_TRUE, status: 'skipped' },
      ],
      durationMs: 250,
    },
    {
      id: id(28),
      outcome: 'error',
      message: `grader error in "Then the grader's own code throws a TypeError": Cannot read properties of undefined (reading 'length')`,
      notes: ['true exited 0'],
      steps: [
        READY,
        RUNS_TRUE,
        {
          text: "Then the grader's own code throws a TypeError",
          status: 'error',
          message: "Cannot read properties of undefined (reading 'length')",
        },
      ],
      durationMs: 250,
    },
    {
      id: id(35),
      outcome: 'error',
      message: 'the lab is broken: no step definition matches "Then a step that no definition matches"',
      notes: ['true exited 0'],
      steps: [READY, RUNS_TRUE, { text: 'Then a step that no definition matches', status: 'undefined' }],
      durationMs: 250,
    },
    {
      id: id(42),
      outcome: 'error',
      message: 'the lab is broken: several step definitions match "Then a step two definitions match"',
      notes: [],
      steps: [
        READY,
        { text: 'Then a step two definitions match', status: 'ambiguous', message: 'Multiple step definitions match:' },
      ],
      durationMs: 250,
    },
    {
      id: id(58),
      outcome: 'passed',
      message: '',
      notes: ['true exited 0'],
      steps: [READY, RUNS_TRUE, SUCCEEDS],
      durationMs: 250,
    },
    {
      id: id(59),
      outcome: 'failed',
      message: SAW_1,
      notes: ['false exited 1'],
      steps: [
        READY,
        { text: 'When the node runs "false"', status: 'passed' },
        { text: 'Then it succeeds', status: 'failed', message: SAW_1 },
      ],
      durationMs: 250,
    },
  ]);
  assert.deepEqual(
    seen.map((s) => [s.run.id, s.def?.name]),
    [
      [id(7), 'all goes well'],
      [id(14), 'the submission is wrong'],
      [id(22), 'the grader breaks in a hook'],
      [id(28), "a step throws what is no student's fault"],
      [id(35), 'the lab has a step nobody defined'],
      [id(42), 'the lab has a step two definitions match'],
      [id(58), 'an outline, one scenario per row'],
      [id(59), 'an outline, one scenario per row'],
    ],
  );
});

test('ScenarioCollector on a real dry run: skipped steps make a passed scenario; a step the lab cannot run is still an error', () => {
  const { runs } = collect(recorded('dry-run.ndjson'), DEFS, true);
  assert.deepEqual(
    runs.map((r) => [r.id, r.outcome, r.notes.length]),
    [
      [id(7), 'passed', 0],
      [id(14), 'passed', 0],
      [id(22), 'passed', 0],
      [id(28), 'passed', 0],
      [id(35), 'error', 0],
      [id(42), 'error', 0],
      [id(58), 'passed', 0],
      [id(59), 'passed', 0],
    ],
  );
  for (const r of runs)
    for (const s of r.steps)
      assert.ok(['skipped', 'undefined', 'ambiguous'].includes(s.status), `${r.id} ${s.text}: ${s.status}`);
});

test('ScenarioCollector: a scenario the lab does not know keeps its location as id', () => {
  const { runs, seen } = collect(recorded('run.ndjson'), []);
  assert.equal(runs[0]?.id, id(7));
  assert.equal(runs[0]?.outcome, 'passed');
  assert.equal(seen[0]?.def, undefined);
});

test('ScenarioCollector: messages of an attempt it never saw start are ignored', () => {
  const envelopes = recorded('run.ndjson');
  const first = envelopes.find((e) => e.testCaseStarted)?.testCaseStarted?.id;
  assert.ok(first, 'the recording starts a test case');
  const { runs } = collect(
    envelopes.filter((e) => e.testCaseStarted?.id !== first),
    DEFS,
  );
  assert.equal(runs.length, 7);
  assert.ok(!runs.some((r) => r.id === id(7)), 'the attempt without its start left no run');
});
