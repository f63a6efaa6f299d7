/**
 * The CLI end to end, in the real sandbox: exit codes (0 graded, 1 verify
 * mismatch, 2 invalid lab or usage, 3 could not grade), an undefined step,
 * and Ctrl-C / SIGTERM leaving nothing running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GradeResult } from '../../src/grade/model.js';
import {
  assertNothingLeft,
  hostTracesOf,
  requireDocker,
  runCli,
  sandboxesOwnedBy,
  until,
  workspacesOf,
  type CliRun,
} from '../helpers/grading.js';
import { helloAndEchoFeature, labYaml, script, writeLab, writeTree } from '../helpers/labs.js';

const TIMEOUTS = { script: 5, command: 15, wait: 3 };
const T = { timeout: 180_000 };

const HELLO_FEATURE = `Feature: hello
  @points:2
  Scenario: run.sh prints hello
    run.sh must print hello.

    When the submission's "run.sh" runs
    Then its output contains "hello"

  @course
  Scenario: the node echoes
    When the node runs "echo alive"
    Then its output is "alive"
`;

/** The same checks, both graded: a wrong case's expect: may name only a graded scenario as failed. */
const GRADED_FEATURE = helloAndEchoFeature();

let root = '';
let helloLab = '';
let mismatchLab = '';
let brokenLab = '';
let invalidLab = '';
let slowLab = '';
let subs = '';
// Submission folder names prefix their private copies in the temp folder: unique per run.
const GOOD = `good-${process.pid}`;
const SILENT = `silent-${process.pid}`;
const INTERRUPTED = `interrupted-${process.pid}`;

before(async () => {
  await requireDocker();
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-it-cli-'));
  subs = path.join(root, 'submissions');
  const good = { 'run.sh': script('echo hello') };
  const silent = { 'run.sh': script('true') };
  helloLab = await writeLab(root, 'cli-hello', {
    yaml: labYaml('cli-hello', {
      timeouts: TIMEOUTS,
      expect: { silent: { score: 0, failed: ['run.sh prints hello'] } },
    }),
    features: { 'hello.feature': HELLO_FEATURE },
    reference: good,
    wrong: { silent },
  });
  mismatchLab = await writeLab(root, 'cli-mismatch', {
    yaml: labYaml('cli-mismatch', {
      timeouts: TIMEOUTS,
      expect: { silent: { score: 1, failed: ['the node echoes'] } },
    }),
    features: { 'hello.feature': GRADED_FEATURE },
    reference: good,
    wrong: { silent },
  });
  brokenLab = await writeLab(root, 'cli-undefined-step', {
    yaml: labYaml('cli-undefined-step', { timeouts: TIMEOUTS }),
    features: {
      'moon.feature': `Feature: a lab with a typo
  @points:1
  Scenario: a step nobody defined
    The lab author made a typo.

    When the moon is full
    Then it succeeds
`,
      'hello.feature': HELLO_FEATURE,
    },
    reference: good,
  });
  invalidLab = await writeLab(root, 'cli-invalid', {
    yaml: labYaml('cli-invalid', { extra: { colour: 'red' } }),
    features: { 'hello.feature': HELLO_FEATURE },
  });
  slowLab = await writeLab(root, 'cli-slow', {
    yaml: labYaml('cli-slow', { timeouts: { script: 5, command: 300, wait: 3 } }),
    features: {
      'slow.feature': `Feature: slow
  @points:1
  Scenario: a slow check
    It takes a while.

    When the node runs "mkdir /sys/fs/cgroup/memory/chroot0 && ip netns add left && sleep 240"
    Then it succeeds
`,
    },
  });
  await writeTree(path.join(subs, GOOD), good);
  await writeTree(path.join(subs, SILENT), silent);
  await writeTree(path.join(subs, INTERRUPTED), good);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function results(out: string): Promise<GradeResult> {
  return JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as GradeResult;
}

function show(r: CliRun): string {
  return `\nexit ${r.code} (signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

async function grade(lab: string, sub: string, extra: string[] = [], env?: Record<string, string>) {
  const out = path.join(root, 'out', `${path.basename(lab)}-${path.basename(sub)}-${Date.now()}`);
  const r = await runCli(['grade', lab, '--submission', sub, '--no-build', '--out', out, ...extra], env ? { env } : {});
  await assertNothingLeft([r.pid], path.basename(sub));
  return { r, out };
}

// ---------------------------------------------------------------- exit 0

test('grade: exit 0 and the reports, full marks', T, async () => {
  const { r, out } = await grade(helloLab, path.join(subs, GOOD));
  assert.equal(r.code, 0, show(r));
  assert.ok(r.stdout.includes(`cli-hello · ${GOOD} · 2/2`), show(r));
  const res = await results(out);
  assert.equal(res.score, 2);
  assert.equal(res.complete, true);
  for (const f of ['results.json', 'junit.xml', 'summary.md', 'gradescope/results.json']) await stat(path.join(out, f));
});

test('grade: exit 0 whatever the score', T, async () => {
  const { r, out } = await grade(helloLab, path.join(subs, SILENT));
  assert.equal(r.code, 0, show(r));
  const res = await results(out);
  assert.equal(res.score, 0);
  assert.equal(res.scenarios.find((s) => s.name === 'run.sh prints hello')?.outcome, 'failed');
  assert.match(
    res.scenarios.find((s) => s.name === 'run.sh prints hello')?.message ?? '',
    /expected the output to contain "hello"/,
  );
});

// ---------------------------------------------------------------- exit 2

test('exit 2: an invalid lab names the file and the field', T, async () => {
  const r = await runCli([
    'grade',
    invalidLab,
    '--submission',
    path.join(subs, GOOD),
    '--no-build',
    '--out',
    path.join(root, 'out', 'invalid'),
  ]);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, /kgrade: invalid lab: /);
  assert.ok(r.stderr.includes(path.join(invalidLab, 'lab.yaml')), show(r));
  assert.match(r.stderr, /unknown field "colour"/);
  const v = await runCli(['validate', invalidLab]);
  assert.equal(v.code, 2, show(v));
  assert.match(v.stdout, /^INVALID /);
  assert.match(v.stdout, /unknown field "colour"/);
});

test('exit 2: usage errors', T, async () => {
  const noSubmission = await runCli(['grade', helloLab]);
  assert.equal(noSubmission.code, 2, show(noSubmission));
  assert.match(noSubmission.stderr, /usage: kgrade grade LABDIR --submission DIR/);
  const unknownCommand = await runCli(['frobnicate']);
  assert.equal(unknownCommand.code, 2, show(unknownCommand));
  assert.match(unknownCommand.stderr, /unknown command "frobnicate"/);
  const unknownOption = await runCli(['grade', helloLab, '--submission', path.join(subs, GOOD), '--bogus']);
  assert.equal(unknownOption.code, 2, show(unknownOption));
  assert.match(unknownOption.stderr, /^kgrade grade: Unknown option '--bogus'/m);
  assert.match(unknownOption.stderr, /^usage: kgrade grade LABDIR --submission DIR/m);
  const nothing = await runCli([]);
  assert.equal(nothing.code, 2, show(nothing));
  const noLab = await runCli(['verify']);
  assert.equal(noLab.code, 2, show(noLab));
});

test('exit 2: a submission folder that does not exist is a usage error with a one-line message', T, async () => {
  const r = await runCli([
    'grade',
    helloLab,
    '--submission',
    path.join(root, 'no-such-folder'),
    '--no-build',
    '--out',
    path.join(root, 'out', 'nope'),
  ]);
  assert.equal(r.code, 2, show(r));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

// ---------------------------------------------------------------- exit 3

test('exit 3: the node image does not exist (--no-build)', T, async () => {
  const out = path.join(root, 'out', 'no-image');
  const r = await runCli(['grade', helloLab, '--submission', path.join(subs, GOOD), '--no-build', '--out', out], {
    env: { KGRADE_NODE_IMAGE: 'kgrade/does-not-exist:1' },
  });
  assert.equal(r.code, 3, show(r));
  assert.match(
    r.stderr,
    /kgrade: could not grade: image kgrade\/does-not-exist:1 is not built; run scripts\/ensure-images\.sh/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  await assertNothingLeft([r.pid], GOOD);
});

test('an undefined step: validate reports it without Docker (exit 2)', T, async () => {
  const r = await runCli(['validate', brokenLab], { env: { KGRADE_DOCKER: path.join(root, 'no-docker-here') } });
  assert.equal(r.code, 2, show(r));
  assert.match(r.stdout, /^INVALID /);
  assert.ok(
    r.stdout.includes(
      `${path.join(brokenLab, 'features/moon.feature')}:3: the lab is broken: no step definition matches "When the moon is full"`,
    ),
    show(r),
  );
  assert.doesNotMatch(r.stdout, /hello\.feature/, 'the good scenarios are not reported');
});

test('an undefined step: grading makes that scenario an error, the others still count, exit 3', T, async () => {
  const { r, out } = await grade(brokenLab, path.join(subs, GOOD));
  assert.equal(r.code, 3, show(r));
  assert.match(
    r.stderr,
    /1 scenario\(s\) ended in a grader error even after a retry: this grade is incomplete, not a zero/,
  );
  const res = await results(out);
  assert.equal(res.complete, false);
  const moon = res.scenarios.find((s) => s.name === 'a step nobody defined');
  assert.equal(moon?.outcome, 'error');
  assert.equal(moon?.attempts, 2);
  assert.match(moon?.message ?? '', /the lab is broken: no step definition matches "When the moon is full"/);
  assert.equal(res.scenarios.find((s) => s.name === 'run.sh prints hello')?.outcome, 'passed');
  assert.equal(res.scenarios.find((s) => s.name === 'the node echoes')?.outcome, 'passed');
  assert.equal(res.score, 2);
  assert.equal(res.maxScore, 3);
});

// ---------------------------------------------------------------- verify

test('verify: exit 0 when reference and wrong cases score as lab.yaml says', T, async () => {
  const out = path.join(root, 'out', 'verify-ok');
  const r = await runCli(['verify', helloLab, '--no-build', '--out', out]);
  await assertNothingLeft([r.pid]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^ok +cli-hello reference: 2\/2 \(expected 2\/2\)$/m);
  assert.match(r.stdout, /^ok +cli-hello wrong\/silent: 0\/2 \(expected 0\/2\)$/m);
  assert.equal((await results(path.join(out, 'silent'))).score, 0);
});

test(
  'verify of two labs in one process: exit 1 on a mismatch, naming it; the other lab still verified',
  T,
  async () => {
    const r = await runCli([
      'verify',
      helloLab,
      mismatchLab,
      '--case',
      'silent',
      '--no-build',
      '--out',
      path.join(root, 'out', 'verify-mismatch'),
    ]);
    await assertNothingLeft([r.pid]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^ok +cli-hello wrong\/silent: 0\/2 \(expected 0\/2\)$/m);
    assert.match(
      r.stdout,
      /^MISMATCH cli-mismatch wrong\/silent: 1\/2 \(expected 1\/2\): "the node echoes" should fail but passed$/m,
    );
  },
);

test('validate: several labs in one process are each checked against the step definitions', T, async () => {
  const r = await runCli(['validate', helloLab, mismatchLab, brokenLab]);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stdout, /^ok +cli-hello: 2 scenarios, 2 points$/m);
  assert.match(r.stdout, /^ok +cli-mismatch: 2 scenarios, 2 points$/m);
  assert.match(r.stdout, /^INVALID .*cli-undefined-step$/m);
  assert.equal(r.stdout.match(/no step definition matches/g)?.length, 1, show(r));
});

// ---------------------------------------------------------------- signals

/** Private submission copies a signal left behind (removed, and remembered here for the todo test). */
const copiesLeftBySignal: string[] = [];

async function interrupted(
  signal: 'SIGINT' | 'SIGTERM',
  toGroup: boolean,
): Promise<{ r: CliRun; sandboxSeen: string[] }> {
  const out = path.join(root, 'out', `signal-${signal}`);
  let pid = 0;
  let sandboxSeen: string[] = [];
  const running = runCli(['grade', slowLab, '--submission', path.join(subs, INTERRUPTED), '--no-build', '--out', out], {
    detached: toGroup,
    timeoutMs: 120_000,
    onStart: (p) => (pid = p),
  });
  await until('kgrade to start', async () => pid > 0, 10_000, 20);
  await until(
    'the sandbox container to appear',
    async () => (sandboxSeen = await sandboxesOwnedBy([pid])).length > 0,
    60_000,
  );
  // let the slow step start on the node
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(toGroup ? -pid : pid, signal);
  const r = await running;
  copiesLeftBySignal.push(...(await workspacesOf(INTERRUPTED)));
  await assertNothingLeft([r.pid], INTERRUPTED).catch(() => undefined); // removes the copies
  return { r, sandboxSeen };
}

test('Ctrl-C (SIGINT to the process group): exit 130, no sandbox left', T, async () => {
  const started = Date.now();
  const { r, sandboxSeen } = await interrupted('SIGINT', true);
  assert.equal(sandboxSeen.length, 1);
  assert.equal(r.code, 130, show(r));
  assert.match(r.stderr, /kgrade: SIGINT: removed 1 sandbox\(es\); nothing is left running/);
  assert.deepEqual(await sandboxesOwnedBy([r.pid]), []);
  assert.ok(Date.now() - started < 90_000);
});

test('SIGTERM to kgrade alone: exit 143, no sandbox left', T, async () => {
  const { r } = await interrupted('SIGTERM', false);
  assert.equal(r.code, 143, show(r));
  assert.match(r.stderr, /kgrade: SIGTERM: removed 1 sandbox\(es\)/);
  assert.deepEqual(await sandboxesOwnedBy([r.pid]), []);
});

test('kill -9 of kgrade: its orphaned sandbox is removed by the next kgrade run', T, async () => {
  const out = path.join(root, 'out', 'sigkill');
  let pid = 0;
  const running = runCli(['grade', slowLab, '--submission', path.join(subs, INTERRUPTED), '--no-build', '--out', out], {
    timeoutMs: 120_000,
    onStart: (p) => (pid = p),
  });
  await until('kgrade to start', async () => pid > 0, 10_000, 20);
  let box = '';
  await until('the sandbox to appear', async () => (box = (await sandboxesOwnedBy([pid]))[0] ?? '') !== '', 60_000);
  // the slow step has made a cgroup and a network namespace inside before it sleeps
  await until(
    'the slow step to run',
    async () => existsSync(`/sys/fs/cgroup/memory/kgrade/${box}/node/chroot0`),
    120_000,
  );
  process.kill(pid, 'SIGKILL');
  const killed = await running;
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal((await sandboxesOwnedBy([pid])).length, 1, 'nobody removed it yet');
  assert.ok((await workspacesOf(INTERRUPTED)).length > 0, "the killed run's submission copy is still there");
  const { r } = await grade(helloLab, path.join(subs, GOOD));
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(await sandboxesOwnedBy([pid]), [], 'the next run reaped the orphan');
  assert.deepEqual(hostTracesOf(box), [], `the orphan ${box} left nothing on the host: no mount, cgroup or state`);
  assert.deepEqual(await workspacesOf(INTERRUPTED), [], "the next run removed the killed run's submission copy");
});

test('Ctrl-C also removes the private copy of the submission', T, async () => {
  assert.deepEqual(copiesLeftBySignal, []);
});
