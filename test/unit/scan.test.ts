/**
 * kgrade check as a scanner: severity and remediation from the features, the exit code's
 * threshold and baseline, and every output format against its golden file (SARIF also against
 * the SARIF 2.1.0 schema).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import { UsageError } from '../../src/errors.js';
import { scannerProblems } from '../../src/lab/course-checks.js';
import { parseFeature } from '../../src/lab/load.js';
import { readBaseline } from '../../src/scan/baseline.js';
import { claimId, judge, type Claim } from '../../src/scan/claim.js';
import { render, toJson, toSarif, type ScanContext } from '../../src/scan/formats.js';
import { matchesGolden } from '../helpers/golden.js';

const VERSION = '9.9.9';

function claim(
  source: string,
  name: string,
  severity: Claim['severity'],
  outcome: Claim['outcome'],
  seen: string,
  line: number,
): Claim {
  return {
    id: claimId(source, name),
    source,
    name,
    severity,
    remediation: `Fix ${name} <now> & "here".\nThen check again.`,
    uri: `labs/${source}/features/x.feature`,
    line,
    outcome,
    seen,
  };
}

const CLAIMS: Claim[] = [
  claim('cluster-setup', 'swap is off on the node', 'medium', 'holds', 'node kgrade-control-plane: no swap', 7),
  claim(
    'cluster-setup',
    'the kubelet is an active systemd service on the node',
    'high',
    'fails',
    'its output was "inactive"\nexpected "active"',
    12,
  ),
  claim(
    'smoke-cluster',
    'kube-proxy sends the kube-dns service to the CoreDNS pods',
    'critical',
    'unchecked',
    'the API server at https://127.0.0.1:9 did not answer: connect ECONNREFUSED',
    20,
  ),
  claim('smoke-cluster', '노드에 도구가 있다', 'low', 'fails', 'missing: socat', 31),
];

function context(failOn: ScanContext['failOn'], baselineFailing?: Set<string>): ScanContext {
  return {
    kgradeVersion: VERSION,
    cluster: 'kind-kgrade',
    failOn,
    verdict: judge(CLAIMS, failOn, baselineFailing),
    ...(baselineFailing ? { baseline: 'saved.json' } : {}),
  };
}

test('the threshold decides which failures count: low counts all, high only high and critical', () => {
  const low = judge(CLAIMS, 'low');
  assert.deepEqual(
    low.counted.map((c) => c.severity),
    ['high', 'low'],
  );
  assert.deepEqual(
    low.unknown.map((c) => c.severity),
    ['critical'],
  );
  const high = judge(CLAIMS, 'high');
  assert.deepEqual(
    high.counted.map((c) => c.severity),
    ['high'],
  );
  const critical = judge(CLAIMS, 'critical');
  assert.deepEqual(critical.counted, []);
  assert.deepEqual(
    critical.unknown.map((c) => c.name),
    ['kube-proxy sends the kube-dns service to the CoreDNS pods'],
  );
});

test('with a baseline only new failures count; a failure the baseline had is unchanged; a fixed one is listed', () => {
  const kubelet = CLAIMS[1]?.id ?? '';
  const swap = CLAIMS[0]?.id ?? '';
  const v = judge(CLAIMS, 'low', new Set([kubelet, swap]));
  assert.deepEqual(
    v.counted.map((c) => c.name),
    ['노드에 도구가 있다'],
  );
  assert.equal(v.states.get(kubelet), 'unchanged');
  assert.equal(v.states.get(CLAIMS[3]?.id ?? ''), 'new');
  assert.deepEqual(v.fixed, [swap]);
  const none = judge(CLAIMS, 'high', new Set([kubelet]));
  assert.deepEqual(none.counted, [], 'the only high failure is in the baseline');
});

test('every format matches its golden file, with and without a baseline', async () => {
  for (const format of ['text', 'json', 'junit', 'sarif'] as const) {
    const ext = format === 'junit' ? 'xml' : format === 'text' ? 'txt' : 'json';
    await matchesGolden(`check/claims.${format}.${ext}`, render(format, CLAIMS, context('low')));
    await matchesGolden(
      `check/claims-baseline.${format}.${ext}`,
      render(format, CLAIMS, context('high', new Set([CLAIMS[1]?.id ?? '']))),
    );
  }
});

test('the SARIF log is valid against the SARIF 2.1.0 schema, with every claim not checked listed with its reason', async () => {
  const require = createRequire(import.meta.url);
  const schemaFile = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  const schema = JSON.parse(await readFile(schemaFile, 'utf8')) as object;
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false, logger: false });
  const validate = ajv.compile(schema);
  for (const ctx of [context('low'), context('high', new Set([CLAIMS[1]?.id ?? '']))]) {
    const log = toSarif(CLAIMS, ctx);
    assert.ok(validate(JSON.parse(JSON.stringify(log))), JSON.stringify(validate.errors, null, 2));
    const notes = log.runs[0]?.invocations?.[0]?.toolExecutionNotifications ?? [];
    assert.equal(notes.length, 1);
    assert.match(notes[0]?.message.text ?? '', /did not answer/);
    assert.deepEqual(
      log.runs[0]?.results?.map((r) => r.kind),
      ['pass', 'fail', 'open', 'fail'],
    );
  }
  // the check itself: a log that breaks the schema is refused
  assert.equal(validate({ version: '2.1.0', runs: [{ tool: {} }] }), false);
});

test('a JSON run read back as a baseline gives the ids that failed', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-scan-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'saved.json');
  await writeFile(file, JSON.stringify(toJson(CLAIMS, context('low')), null, 2));
  assert.deepEqual([...(await readBaseline(file, VERSION))].sort(), [CLAIMS[1]?.id, CLAIMS[3]?.id].sort());
});

test('a bad baseline is a usage error naming the file and line, and says what to do', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-scan-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = JSON.stringify(toJson(CLAIMS, context('low')), null, 2);
  const cases: Array<[string, string, RegExp]> = [
    [
      'other-version.json',
      run.replace(`"kgrade": "${VERSION}"`, '"kgrade": "0.0.1"'),
      /other-version\.json:3: saved by kgrade 0\.0\.1, and this is kgrade 9\.9\.9: save a new baseline/,
    ],
    [
      'broken.json',
      `{\n  "format": "kgrade-check/1",\n  "kgrade": "${VERSION}",\n  "claims": [,]\n}\n`,
      /broken\.json:4: not JSON/,
    ],
    ['junit.json', '<testsuites/>', /junit\.json:1: not JSON/],
    ['other.json', '{\n  "format": "sarif"\n}\n', /other\.json:2: not a run saved by kgrade check --format json/],
    [
      'no-claims.json',
      `{\n  "format": "kgrade-check/1",\n  "kgrade": "${VERSION}",\n  "claims": {}\n}\n`,
      /no-claims\.json:4: "claims" must be a list/,
    ],
  ];
  for (const [name, text, message] of cases) {
    const file = path.join(dir, name);
    await writeFile(file, text);
    await assert.rejects(
      readBaseline(file, VERSION),
      (err: Error) => err instanceof UsageError && message.test(err.message),
      name,
    );
  }
  await assert.rejects(
    readBaseline(path.join(dir, 'missing.json'), VERSION),
    /--baseline .*missing\.json: cannot be read/,
  );
});

test('features: @severity is read from a @course check; a bad level, two levels, or one on a graded scenario is refused', () => {
  const ok = parseFeature(
    'Feature: f\n  @course @severity:high\n  Scenario: s\n    Restart it.\n\n    Then it succeeds\n',
    'f.feature',
  );
  assert.equal(ok[0]?.severity, 'high');
  assert.equal(ok[0]?.hint, 'Restart it.');
  assert.deepEqual(scannerProblems(ok), []);
  assert.throws(
    () =>
      parseFeature('Feature: f\n  @course @severity:urgent\n  Scenario: s\n    x\n    Then it succeeds\n', 'f.feature'),
    /f\.feature:3: .*@severity:urgent: the level must be one of critical, high, medium, low/,
  );
  assert.throws(
    () =>
      parseFeature(
        'Feature: f\n  @course @severity:low @severity:high\n  Scenario: s\n    x\n    Then it succeeds\n',
        'f.feature',
      ),
    /has 2 @severity tags/,
  );
  assert.throws(
    () =>
      parseFeature(
        'Feature: f\n  @points:1 @severity:low\n  Scenario: s\n    hint\n    Then it succeeds\n',
        'f.feature',
      ),
    /belongs to @course checks/,
  );
  const bare = parseFeature('Feature: f\n  @course\n  Scenario: s\n    Then it succeeds\n', 'f.feature');
  const problems = scannerProblems(bare);
  assert.equal(problems.length, 2);
  assert.match(problems[0] ?? '', /f\.feature:3: scenario "s": a @course check of a cluster needs a @severity/);
  assert.match(problems[1] ?? '', /needs a remediation/);
});
