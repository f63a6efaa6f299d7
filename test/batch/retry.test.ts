/**
 * A grader error from the infrastructure is retried by the batch (after 5 s, then 15 s), and one
 * that outlasts the retries is stored as an error, listed at the end, and retried by the next run.
 *
 * The fault is real, not mocked: kgrade runs the docker CLI named by KGRADE_DOCKER, here a wrapper
 * that answers "Cannot connect to the Docker daemon" (what the CLI prints while dockerd is down)
 * for the first LIMIT `docker run` calls, and then runs the real docker. With --isolation
 * privileged every sandbox is a `docker run`, so the first LIMIT sandboxes fail to start, as they
 * would while dockerd restarts; other docker calls (the image check at start, listing and
 * removing sandboxes) go through. The first test finds how many sandboxes one attempt at a
 * student starts (all failing, three attempts); the second fails exactly one attempt's worth.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertNothingLeft, requireDocker } from '../helpers/grading.js';
import { asFolder, batch, CH01, copyLab, show, stored } from '../helpers/batch.js';

const T = { timeout: 300_000 };

let root = '';
let subs = '';
let out = '';
let wrapper = '';
let perAttempt = 0;
let lab = '';

async function sandboxStarts(): Promise<number> {
  return Number((await readFile(path.join(root, 'runs'), 'utf8').catch(() => '0')).trim() || '0');
}

async function failFirst(limit: number): Promise<void> {
  await writeFile(path.join(root, 'runs'), '0\n');
  await writeFile(path.join(root, 'limit'), `${limit}\n`);
}

before(async () => {
  await requireDocker();
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-bt-retry-'));
  subs = path.join(root, 'submissions');
  out = path.join(root, 'out');
  // labs/ch01-isolation without its @course checks (4 graded scenarios, each its own sandbox)
  lab = await copyLab(root, CH01, { withoutCourseChecks: true });
  await asFolder(CH01, 'reference', subs, 'dora');
  wrapper = path.join(root, 'docker');
  await writeFile(
    wrapper,
    `#!/bin/bash
# docker, except that the first $(cat limit) "docker run" calls fail as when dockerd is down
if [ "$1" = run ]; then
  exec 9>>"${root}/runs.lock"
  flock 9
  n=$(( $(cat "${root}/runs" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "${root}/runs"
  flock -u 9
  exec 9>&-
  if [ "$n" -le "$(cat "${root}/limit")" ]; then
    echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
    exit 1
  fi
fi
exec docker "$@"
`,
  );
  await chmod(wrapper, 0o755);
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const privileged = ['--isolation', 'privileged'];

test(
  'docker down for longer than the retries: the student is stored as an error after 3 attempts, listed at the end, exit 3',
  T,
  async () => {
    await failFirst(1_000_000);
    const started = Date.now();
    const r = await batch(lab, subs, out, privileged, { env: { KGRADE_DOCKER: wrapper } });
    const wall = Date.now() - started;
    assert.equal(r.code, 3, show(r));
    const s = await stored(out, 'dora');
    assert.equal(s.status, 'error');
    assert.equal(s.attempts, 3);
    assert.match(
      s.reason ?? '',
      /scenario\(s\) ended in a grader error even after a retry: .*the Docker daemon is not reachable: Cannot connect to the Docker daemon.* \(after 3 attempts\)$/,
    );
    assert.equal(s.result?.complete, false, 'the incomplete grade is kept, never a zero');
    assert.match(r.stderr, /kgrade: dora: attempt 1 ended in an error \(.*\); grading again in 5 s/);
    assert.match(r.stderr, /kgrade: dora: attempt 2 ended in an error \(.*\); grading again in 15 s/);
    assert.match(r.stderr, /1 student\(s\) without a final grade .*:\n {2}dora: /);
    assert.deepEqual(
      r.lines.map((l) => [l.student, l.status, l.attempts]),
      [['dora', 'error', 3]],
    );
    assert.ok(wall >= 20_000, `the backoff (5 s + 15 s) was waited: ${wall} ms`);
    const starts = await sandboxStarts();
    assert.equal(starts % 3, 0, `three attempts start the same number of sandboxes: ${starts}`);
    perAttempt = starts / 3;
    assert.equal(
      perAttempt,
      8,
      `each attempt tried each of the 4 scenarios' sandboxes twice (the grade's own retry): ${perAttempt}`,
    );
    await assertNothingLeft([r.pid], 'dora');
  },
);

test(
  'docker down for one attempt: the batch grades the student again and it ends graded, attempts 2 (the stored error is not reused)',
  T,
  async () => {
    assert.ok(perAttempt > 0, 'needs the first test');
    await failFirst(perAttempt);
    const r = await batch(lab, subs, out, privileged, { env: { KGRADE_DOCKER: wrapper } });
    assert.equal(r.code, 0, show(r));
    assert.ok((await sandboxStarts()) > perAttempt, 'the fault was really injected, then docker worked');
    const s = await stored(out, 'dora');
    assert.equal(s.status, 'graded', JSON.stringify({ ...s, result: undefined }));
    assert.equal(s.attempts, 2);
    assert.equal(s.result?.score, 10);
    assert.equal(s.result?.complete, true);
    assert.match(s.provenance.environment, /isolation privileged/);
    assert.match(
      r.stderr,
      /kgrade: dora: attempt 1 ended in an error \(.*Docker daemon is not reachable.*\); grading again in 5 s/,
    );
    assert.doesNotMatch(r.stderr, /attempt 2 ended/);
    assert.deepEqual(
      r.lines.map((l) => [l.student, l.status, l.attempts, l.reused]),
      [['dora', 'graded', 2, false]],
    );
    const log = await readFile(path.join(out, 'logs', 'dora.log'), 'utf8');
    assert.match(log, /attempt 1\n[\s\S]*== \S+ incomplete: 0\/10\n[\s\S]*attempt 2\n[\s\S]*== \S+ graded: 10\/10\n$/);
    await assertNothingLeft([r.pid], 'dora');
  },
);
