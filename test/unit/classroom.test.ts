import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { GradeResult } from '../../src/grade/model.js';
import { classroomFeedback, classroomOutput, toClassroom, type ClassroomResult } from '../../src/report/classroom.js';
import { toGradescope } from '../../src/report/gradescope.js';
import { writeResultsJson } from '../../src/report/results-json.js';
import { completeResult, incompleteResult } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN_DIR = path.join(ROOT, 'test', 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

async function matchesGolden(name: string, actual: string): Promise<void> {
  const file = path.join(GOLDEN_DIR, name);
  if (UPDATE) await writeFile(file, actual, 'utf8');
  assert.equal(
    actual,
    await readFile(file, 'utf8'),
    `${name} differs from its golden file; regenerate with UPDATE_GOLDEN=1 if intended`,
  );
}

/**
 * What GitHub Classroom's autograding-grading-reporter does with a runner's output (its
 * src/main.js and src/notify-classroom.js): decode the base64 from <RUNNER>_RESULTS, fail the run
 * on a "fail" or "error" status, and post "Points X/Y" (X the tests' scores summed, Y max_score)
 * unless max_score is 0.
 */
function reporter(encoded: string): { failed: string | undefined; posted: string | undefined } {
  const results = JSON.parse(Buffer.from(encoded, 'base64').toString('utf-8')) as ClassroomResult;
  const failed =
    results.status === 'fail' ? 'Some tests failed.' : results.status === 'error' ? 'Some tests errored.' : undefined;
  if (!results.max_score) return { failed, posted: undefined };
  const total = results.tests.reduce((s, t) => s + t.score, 0);
  return { failed, posted: `Points ${total}/${results.max_score}` };
}

const fixtures: Array<[string, () => GradeResult]> = [
  ['complete', completeResult],
  ['incomplete', incompleteResult],
];

for (const [name, make] of fixtures) {
  test(`${name}: the GitHub Classroom result and the log's feedback match their golden files`, async () => {
    await matchesGolden(`${name}.classroom.json`, `${JSON.stringify(toClassroom(make()), null, 2)}\n`);
    await matchesGolden(`${name}.classroom.txt`, classroomFeedback(toClassroom(make())));
  });
}

test('a complete grade posts its points; every test has the fields the reporter reads', () => {
  const result = toClassroom(completeResult());
  assert.equal(result.version, 1);
  assert.equal(result.status, 'fail');
  assert.equal(result.max_score, 8);
  assert.deepEqual(reporter(classroomOutput(result)), { failed: 'Some tests failed.', posted: 'Points 4/8' });
  for (const t of result.tests) {
    assert.deepEqual(Object.keys(t), [
      'name',
      'status',
      'score',
      'message',
      'test_code',
      'filename',
      'line_no',
      'duration',
    ]);
    assert.ok(['pass', 'fail', 'error'].includes(t.status));
  }
  assert.equal(result.tests.length, 4, '@course checks carry no points and are left out');
  const { message, ...rest } = result.tests[1] ?? { message: null };
  assert.ok(
    message?.startsWith(
      "curl http://node-2:30080 timed out after 5s\nlast state seen: connection refused\n\nHint: Check that the Service's targetPort is the port the container listens on.\n\nNotes:\n- kube-proxy mode: iptables\n\nWhat the grader saw:\nWarning events in the namespace:\n",
    ),
    String(message),
  );
  assert.match(
    message ?? '',
    /Log of pod web-7d9c, container web \(the instance before its last restart\), last lines:\n {2}\| listening on :8080/,
  );
  assert.deepEqual(rest, {
    name: 'The NodePort answers on every node',
    status: 'fail',
    score: 0,
    test_code: 'Given the submission is applied\nThen port 30080 answers on every node',
    filename: 'features/nodeport.feature',
    line_no: 9,
    duration: 20500,
  });
});

test('feedback levels: message only shows the message; hidden shows nothing until published', () => {
  const cpu = toClassroom(incompleteResult()).tests.find((t) => t.name === 'CPU quota is 50% of a core');
  assert.equal(
    cpu?.message,
    'expected `cpu.max` = "50000 100000" | got "max 100000"',
    'no hint, notes or diagnostics at feedback: message',
  );
  const gs = toGradescope(incompleteResult()).tests.find((t) => t.name === 'CPU quota is 50% of a core');
  assert.equal(gs?.output, 'expected `cpu.max` = "50000 100000" | got "max 100000"');
  assert.equal(gs?.visibility, 'visible');
  const hidden = toGradescope(completeResult()).tests.find((t) => t.name === 'The headless Service has no ClusterIP');
  assert.equal(hidden?.visibility, 'after_published');
  assert.match(hidden?.output ?? '', /Hint: A headless Service sets clusterIP: None\./, 'shown in full once published');
  const classroomHidden = toClassroom(completeResult()).tests.find((t) => t.name.startsWith('Hidden check'));
  assert.equal(classroomHidden?.message, 'This check is shown when grades are published.');
  const full = toGradescope(completeResult()).tests.find((t) => t.name === 'The NodePort answers on every node');
  assert.match(full?.output ?? '', /What the grader saw:\n[\s\S]*container web: waiting, CrashLoopBackOff/);
});

test('full marks: status pass, the run is not failed', () => {
  const r = completeResult();
  for (const s of r.scenarios) {
    s.outcome = 'passed';
    s.points = s.maxPoints;
  }
  r.score = r.maxScore;
  const result = toClassroom(r);
  assert.equal(result.status, 'pass');
  assert.deepEqual(reporter(classroomOutput(result)), { failed: undefined, posted: 'Points 8/8' });
});

test('hidden scenarios show only their outcome and points: no name, no message, no steps', () => {
  const hidden = toClassroom(completeResult()).tests.slice(2);
  assert.deepEqual(
    hidden.map((t) => [t.name, t.status, t.score, t.message, t.test_code, t.filename]),
    [
      ['Hidden check 1', 'pass', 2, 'This check is shown when grades are published.', '', ''],
      ['Hidden check 2', 'fail', 0, 'This check is shown when grades are published.', '', ''],
    ],
  );
  assert.doesNotMatch(JSON.stringify(hidden), /affinity|headless|clusterIP/i);
});

test('an incomplete grade is an error that posts no points: a grader error never reads as a low score', () => {
  const result = toClassroom(incompleteResult());
  assert.equal(result.status, 'error');
  assert.equal(result.max_score, 0);
  assert.deepEqual(reporter(classroomOutput(result)), { failed: 'Some tests errored.', posted: undefined });
  const errored = result.tests.find((t) => t.status === 'error');
  assert.match(errored?.message ?? '', /^GRADER ERROR: .*not with your submission/);
  assert.match(errored?.message ?? '', /'OOMKilled'\\u0007 \\u001b\[31mred/, 'control characters shown as text');
  for (const t of result.tests)
    assert.doesNotMatch(
      `${t.name}${t.message}${t.test_code}`,
      /[\u0000-\u0008\u000b-\u001f]/,
      'no terminal escape reaches the log',
    );
});

test('kgrade report --classroom DIR writes DIR/classroom.json and prints the base64 the reporter decodes', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-classroom-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeResultsJson(completeResult(), dir);
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [
    path.join(ROOT, 'bin', 'kgrade.js'),
    'report',
    '--classroom',
    dir,
  ]);
  assert.match(stdout, /^[A-Za-z0-9+/]+=*\n$/);
  assert.deepEqual(JSON.parse(Buffer.from(stdout.trim(), 'base64').toString('utf8')), toClassroom(completeResult()));
  assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'classroom.json'), 'utf8')), toClassroom(completeResult()));
  assert.match(
    stderr,
    /^kgrade: 4\/8 points, 2\/4 checks passed\n {2}pass {2}A ClusterIP Service reaches the pod \(2 points\)\n {2}FAIL {2}The NodePort answers on every node \(0 points\)\n {8}curl http:\/\/node-2:30080 timed out after 5s\n/,
  );
  assert.match(stderr, /FAIL {2}Hidden check 2 \(0 points\)\n {8}This check is shown when grades are published\.\n/);
  assert.doesNotMatch(stderr, /headless|clusterIP: None/i, 'nothing of a hidden scenario in the log');
  assert.match(stderr, /GitHub Classroom result in .*classroom\.json\n$/);
});
