/**
 * kgrade verify with several labs, in the real sandbox: the labs are verified side by side on
 * one budget of --jobs scenario slots, a lab marked disruptive alone after them; with --out each
 * lab's reports go to a folder of its own; the summary names every lab's cases in the order given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GradeResult } from '../../src/grade/model.js';
import { assertNothingLeft, requireDocker, runCli, type CliRun } from '../helpers/grading.js';
import { labYaml, script, tempRoot, writeLab } from '../helpers/labs.js';

/** The scenario sleeps, so that two labs graded side by side overlap for certain. */
const FEATURE = `Feature: one script
  @points:1
  Scenario: run.sh prints hello
    run.sh must print hello.

    When the submission's "run.sh" runs
    Then its output contains "hello"
`;

function show(r: CliRun): string {
  return `\nexit ${r.code} (signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

const at = (r: CliRun, line: RegExp): number => {
  const i = r.stderr.split('\n').findIndex((l) => line.test(l));
  assert.ok(i >= 0, `no line ${line} on stderr${show(r)}`);
  return i;
};

test('verify LAB LAB LAB: calm labs side by side, the disruptive one after them, reports per lab', {
  timeout: 600_000,
}, async (t) => {
  await requireDocker();
  const root = await tempRoot('verify-labs', t);
  const lab = (id: string, extra: Record<string, unknown> = {}) =>
    writeLab(root, id, {
      yaml: labYaml(id, { timeouts: { script: 20, command: 15, wait: 3 }, expect: { silent: { score: 0 } }, extra }),
      features: { 'hello.feature': FEATURE },
      reference: { 'run.sh': script('sleep 4; echo hello') },
      wrong: { silent: { 'run.sh': script('sleep 4') } },
    });
  const alpha = await lab('alpha');
  const beta = await lab('beta', { disruptive: true });
  const gamma = await lab('gamma');
  const out = path.join(root, 'out');
  const r = await runCli(['verify', alpha, beta, gamma, '--no-build', '--jobs', '2', '--out', out], {
    timeoutMs: 540_000,
  });
  await assertNothingLeft([r.pid]);
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(
    r.stdout.trim().split('\n'),
    [
      'ok       alpha reference: 1/1 (expected 1/1)',
      'ok       alpha wrong/silent: 0/1 (expected 0/1)',
      'ok       beta reference: 1/1 (expected 1/1)',
      'ok       beta wrong/silent: 0/1 (expected 0/1)',
      'ok       gamma reference: 1/1 (expected 1/1)',
      'ok       gamma wrong/silent: 0/1 (expected 0/1)',
    ],
    show(r),
  );
  // alpha and gamma side by side: gamma starts before alpha has finished a case.
  assert.ok(
    at(r, /^gamma: grading /) < at(r, /^alpha: \S+ graded$/),
    `alpha and gamma were not side by side${show(r)}`,
  );
  // beta, disruptive, only once both calm labs are done.
  const lastCalm = Math.max(
    ...['alpha', 'gamma'].flatMap((id) =>
      ['reference', 'wrong/silent'].map((c) => at(r, new RegExp(`^${id}: ${c} graded$`))),
    ),
  );
  assert.ok(at(r, /^beta: grading /) > lastCalm, `beta began before the calm labs ended${show(r)}`);
  for (const id of ['alpha', 'beta', 'gamma'])
    for (const [c, outcome] of [
      ['reference', 'passed'],
      ['silent', 'failed'],
    ] as const) {
      const res = JSON.parse(await readFile(path.join(out, id, c, 'results.json'), 'utf8')) as GradeResult;
      assert.equal(res.lab.id, id, `${id}/${c}`);
      assert.equal(res.scenarios[0]?.outcome, outcome, `${id}/${c}`);
    }
});

test('verify grades a @course check with the reference only: it does not depend on the submission', {
  timeout: 600_000,
}, async (t) => {
  await requireDocker();
  const root = await tempRoot('verify-course', t);
  const course = `Feature: the node
  @course
  Scenario: the node has bash
    When the node runs "bash -c 'echo here'"
    Then its output is "here"
`;
  const dir = await writeLab(root, 'course-once', {
    yaml: labYaml('course-once', { timeouts: { script: 20, command: 15, wait: 3 }, expect: { silent: { score: 0 } } }),
    features: { 'hello.feature': FEATURE, 'node.feature': course },
    reference: { 'run.sh': script('echo hello') },
    correct: { other: { 'run.sh': script('printf "%s\\n" hello') } },
    wrong: { silent: { 'run.sh': script('true') } },
  });
  const out = path.join(root, 'out');
  const r = await runCli(['verify', dir, '--no-build', '--jobs', '2', '--out', out], { timeoutMs: 540_000 });
  await assertNothingLeft([r.pid]);
  assert.equal(r.code, 0, show(r));
  const graded = async (c: string) =>
    (JSON.parse(await readFile(path.join(out, c, 'results.json'), 'utf8')) as GradeResult).scenarios.map(
      (s) => `${s.name}: ${s.outcome}`,
    );
  assert.deepEqual(
    (await graded('reference')).sort(),
    ['run.sh prints hello: passed', 'the node has bash: passed'],
    show(r),
  );
  assert.deepEqual(await graded('correct-other'), ['run.sh prints hello: passed'], show(r));
  assert.deepEqual(await graded('silent'), ['run.sh prints hello: failed'], show(r));
});
