/**
 * dockerd stopped in the middle of a grade: the grade must end, in bounded
 * time, as an incomplete grade (exit 3) whose scenarios are `error`, never a
 * student's `failed`; and once dockerd is back, the next kgrade run removes
 * what the stopped one could not.
 *
 * This stops the machine's Docker daemon, so scripts/test.sh runs it alone,
 * after the sandbox stages and before the cluster exists. It needs root and
 * restarts dockerd with scripts/setup-docker.sh.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import { REPO_ROOT } from '../../src/paths.js';
import { KGRADE_BIN, sandboxesOwnedBy } from '../helpers/grading.js';
import { labYaml, script, writeLab, writeTree } from '../helpers/labs.js';

const LAB = path.join(REPO_ROOT, 'labs/ch01-isolation');
const REFERENCE = path.join(LAB, 'reference');

let restarted = false;
/** Whether systemd ran dockerd before the test stopped it; then systemd starts it again. */
let viaSystemd = false;

/** How this machine's dockerd was started: by systemd, or by hand (scripts/setup-docker.sh). */
async function systemdManaged(): Promise<boolean> {
  const r = await execa('systemctl', ['is-active', '--quiet', 'docker'], { reject: false, timeout: 10_000 });
  return r.exitCode === 0;
}

function dockerdPid(): number | undefined {
  try {
    const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
    if (pid > 0 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd') return pid;
  } catch {
    // no pid file or no such process
  }
  return undefined;
}

async function stopDockerd(): Promise<void> {
  viaSystemd = await systemdManaged();
  if (viaSystemd) {
    const r = await execa('systemctl', ['stop', 'docker.socket', 'docker'], { reject: false, timeout: 120_000 });
    assert.equal(r.exitCode, 0, `systemctl stop docker: ${r.stderr}`);
    return;
  }
  const pid = dockerdPid();
  assert.ok(pid, 'no dockerd to stop: /var/run/docker.pid names no running dockerd');
  process.kill(pid, 'SIGTERM');
  const end = Date.now() + 60_000;
  while (existsSync(`/proc/${pid}`) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  assert.ok(!existsSync(`/proc/${pid}`), `dockerd (pid ${pid}) did not stop within 60 s`);
}

async function startDockerd(): Promise<void> {
  if (viaSystemd) {
    const s = await execa('systemctl', ['start', 'docker.socket', 'docker'], { reject: false, timeout: 120_000 });
    assert.equal(s.exitCode, 0, `systemctl start docker: ${s.stderr}`);
  }
  // Starts dockerd by hand where systemd does not; either way, waits until Docker answers.
  const r = await execa('bash', [path.join(REPO_ROOT, 'scripts/setup-docker.sh')], { reject: false, timeout: 600_000 });
  assert.equal(r.exitCode, 0, `scripts/setup-docker.sh could not bring dockerd back:\n${r.stdout}\n${r.stderr}`);
  restarted = true;
}

after(async () => {
  // Whatever happened above, leave the machine with a working Docker.
  if (!restarted) await startDockerd();
});

/** A command that is still running on the node when dockerd stops. */
const IN_FLIGHT = 'sleep 47; echo done';

test('dockerd stopped mid-grade: exit 3, every unfinished scenario an error naming Docker, nothing failed; the next run cleans up', {
  timeout: 900_000,
}, async (t) => {
  if (process.getuid?.() !== 0) throw new Error('this test stops and restarts dockerd: run it as root');
  const out = await mkdtemp(path.join(os.tmpdir(), 'kgrade-dockerd-stop-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const lab = await writeLab(out, 'in-flight', {
    yaml: labYaml('in-flight', { timeouts: { command: 120 } }),
    features: {
      'slow.feature': `Feature: a slow command, then more
  @points:2
  Scenario: a slow command on the node
    Nothing to do.

    When the node runs "${IN_FLIGHT}"
    Then its output is "done"

  @points:1
  Scenario: a later scenario
    Nothing to do.

    When the node runs "echo later"
    Then its output is "later"
`,
    },
  });
  const submission = path.join(out, 'submission');
  await writeTree(submission, { 'run.sh': script('true') });
  // Privileged sandboxes run their commands through docker exec: the route that dockerd's stop cuts.
  // (userns sandboxes are runc containers of kgrade's own, which dockerd's stop does not touch.)
  // One scenario at a time: the later scenario must still be waiting when dockerd stops.
  const child = spawn(
    'node',
    [
      KGRADE_BIN,
      'grade',
      lab,
      '--submission',
      submission,
      '--isolation',
      'privileged',
      '--jobs',
      '1',
      '--out',
      path.join(out, 'reports'),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = child.pid ?? 0;

  // Wait until the slow command runs on the grade's sandbox: dockerd stops under a live docker exec.
  const seenBy = Date.now() + 120_000;
  let inFlight = false;
  let ended = false;
  void exited.then(() => (ended = true));
  while (!inFlight && !ended && Date.now() < seenBy) {
    await new Promise((r) => setTimeout(r, 300));
    for (const box of await sandboxesOwnedBy([pid])) {
      const top = await execa('docker', ['top', box], { reject: false, timeout: 30_000 });
      if (top.stdout.includes('sleep 47')) inFlight = true;
    }
  }
  assert.ok(
    inFlight,
    `the slow command never ran on a sandbox (kgrade ${ended ? 'ended' : 'still runs'}):\n${stdout}\n${stderr}`,
  );

  await stopDockerd();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 600_000)))]);
  clearTimeout(timer);
  if (code === 'hung') child.kill('SIGKILL');
  await startDockerd();

  const log = `\nstdout:\n${stdout}\nstderr:\n${stderr}`;
  assert.notEqual(code, 'hung', `kgrade did not end within 10 min of dockerd stopping${log}`);
  assert.equal(code, 3, `exit code${log}`);
  assert.match(stderr + stdout, /Docker daemon is not reachable|dockerd/i, `the message names Docker${log}`);
  const results = JSON.parse(await readFile(path.join(out, 'reports', 'results.json'), 'utf8')) as {
    complete: boolean;
    scenarios: { name: string; outcome: string; message: string }[];
  };
  assert.equal(results.complete, false, log);
  for (const s of results.scenarios)
    t.diagnostic(`${s.outcome}: ${s.name}${s.message ? ` (${s.message.split('\n')[0]})` : ''}`);
  const failed = results.scenarios.filter((s) => s.outcome === 'failed');
  assert.deepEqual(failed, [], `a scenario was marked the student's failure while Docker was down${log}`);
  const errors = results.scenarios.filter((s) => s.outcome === 'error');
  assert.deepEqual(
    errors.map((s) => s.name),
    ['a slow command on the node', 'a later scenario'],
    log,
  );
  for (const s of errors)
    assert.match(s.message, /Docker daemon is not reachable|stopped|went away/, `${s.name}: ${s.message}`);

  // kgrade could not remove its sandbox while dockerd was down; the next run reaps it.
  const leftBefore = await sandboxesOwnedBy([pid]);
  const grade = await execa(
    'node',
    [KGRADE_BIN, 'grade', LAB, '--submission', REFERENCE, '--out', path.join(out, 'again')],
    { reject: false, timeout: 600_000 },
  );
  assert.equal(grade.exitCode, 0, `a grade after dockerd came back:\n${grade.stdout}\n${grade.stderr}`);
  assert.deepEqual(
    await sandboxesOwnedBy([pid]),
    [],
    `left by the stopped run (before the next run: ${leftBefore.join(', ') || 'none'})`,
  );
});
