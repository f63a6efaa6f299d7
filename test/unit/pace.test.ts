/**
 * A node's pace (src/env/pace.ts, src/env/sandbox/vm-pace.ts): the clamping of a measured ratio,
 * the stretching of deadlines and how the reports say them, KGRADE_VM_PACE, and the measurement
 * kept once per process and accelerator. The measurement runs here on a node that is this host
 * (bash run locally); test/vm/vm-pace.test.ts measures a real VM and grades with the result.
 */
import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from '../../src/vendor/execa.js';
import { vmPaceSetting } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import type { ExecOptions, ExecResult, Node } from '../../src/node.js';
import {
  clampPace,
  deadlineWords,
  hostSpeedMs,
  hostTimeClock,
  hostTimeOf,
  PACE_MAX,
  PACE_MIN,
  paceFromTimings,
  paceOf,
  paced,
  paceWords,
  spentWords,
} from '../../src/env/pace.js';
import { eventually } from '../../src/eventually.js';
import { SubmissionAssertionError } from '../../src/errors.js';
import { measurePace, provisionalVmPace, vmPace } from '../../src/env/sandbox/vm-pace.js';

test('a measured ratio is clamped: never below 1, never above the cap, the cap when it is no number', () => {
  assert.equal(clampPace(0.4), PACE_MIN);
  assert.equal(clampPace(1), 1);
  assert.equal(clampPace(6.25), 6.25);
  assert.equal(clampPace(500), PACE_MAX);
  assert.equal(clampPace(Number.NaN), PACE_MAX);
  assert.equal(clampPace(Number.POSITIVE_INFINITY), PACE_MAX);
});

test('the pace from timings is the least node run over the least host run', () => {
  assert.equal(paceFromTimings([30, 31, 35], [180, 200, 190]), 6);
  // The figures of the development host under TCG (28×, see PACE_MAX): the cap decides.
  assert.equal(paceFromTimings([31.1, 31.1, 32.2, 36.8, 34.1], [1047, 1061, 874, 1189, 1091]), PACE_MAX);
  assert.equal(paceFromTimings([30, 40], [20, 25]), 1, 'a node faster than the host is still given the lab deadline');
  assert.equal(paceFromTimings([0, 0], [900]), PACE_MAX, 'a host run of 0 ms does not divide by zero');
  assert.throws(() => paceFromTimings([], [1]));
});

test('paceOf reads a node pace of 1 when absent or not above 1', () => {
  assert.equal(paceOf({}), 1);
  assert.equal(paceOf({ pace: 1 }), 1);
  assert.equal(paceOf({ pace: 0.5 }), 1);
  assert.equal(paceOf({ pace: Number.NaN }), 1);
  assert.equal(paceOf({ pace: 6 }), 6);
});

test('deadlines stretch by the pace, rounded up, and a wall-clock span goes back to the host speed', () => {
  assert.equal(paced(1, 30), 30);
  assert.equal(paced(6, 30), 180);
  assert.equal(paced(2.5, 3), 8);
  assert.equal(paced(1, 30_000), 30_000);
  assert.equal(paced(6, 30_000), 180_000);
  assert.equal(hostSpeedMs(1, 900_000), 900_000);
  assert.equal(hostSpeedMs(6, 900_000), 150_000);
  assert.ok(paced(7, hostSpeedMs(7, 120_000)) <= 120_000, 'a wall-clock span is not stretched past itself');
});

test('a deadline reads as the lab wrote it at pace 1, and says what it was stretched to and why above 1', () => {
  assert.equal(deadlineWords(1, 30), '30 s');
  assert.equal(
    deadlineWords(6, 30),
    "30 s (180 s here: the sandbox runs commands about 6× slower than the grading host, so the lab's deadlines are stretched by as much)",
  );
  assert.match(deadlineWords(11.6, 60), /^60 s \(696 s here: .* about 12× slower/);
  assert.equal(paceWords(2.46), '2.5');
});

test('a span on a node counts its busy part at the pace and its idle part as it is; busy never above the span', () => {
  assert.equal(hostTimeOf(10, 20_000, 0), 20_000, 'idle: the whole span');
  assert.equal(hostTimeOf(10, 20_000, 20_000), 2_000, 'busy: a tenth of it');
  assert.equal(hostTimeOf(10, 20_000, 5_000), 15_500);
  assert.equal(hostTimeOf(10, 20_000, 60_000), 2_000, 'three threads busy at once count as one');
  assert.equal(hostTimeOf(10, 20_000, -5), 20_000);
});

test('hostTimeClock: wall time at pace 1; a node that cannot say how busy it was counts all its time busy', async () => {
  // Bounds from the wall time actually spent, so that a loaded host's late timer changes nothing.
  const t0 = Date.now();
  let busy: number | undefined = 1_000;
  const idle = hostTimeClock({ pace: 8, busyMs: () => busy });
  const plain = hostTimeClock({});
  const blind = hostTimeClock({ pace: 8 });
  await new Promise((r) => setTimeout(r, 200));
  const [idleSpent, plainSpent, blindSpent] = [idle(), plain(), blind()];
  const wall = Date.now() - t0;
  assert.ok(idleSpent >= 195 && idleSpent <= wall, `an idle node's time counts as such (${idleSpent} of ${wall} ms)`);
  assert.ok(plainSpent >= 195 && plainSpent <= wall, `pace 1: wall time (${plainSpent} of ${wall} ms)`);
  assert.ok(blindSpent <= wall / 8, `without a busy clock, wall / pace (${blindSpent} of ${wall} ms)`);
  busy = 1_000 + 1e9;
  const busySpent = idle();
  assert.ok(busySpent <= (Date.now() - t0) / 8, `a node busy for the whole span counts span / pace (${busySpent})`);
  busy = undefined;
  const goneSpent = idle();
  assert.ok(goneSpent <= (Date.now() - t0) / 8, `a busy clock that stops answering counts all busy (${goneSpent})`);
});

test("a wait on a paced node ends once the lab's deadline is spent in host time, and says so; busy, it runs to the stretched deadline", async () => {
  const probe = async () => ({ ok: false, value: 0, seen: 'exit 4, no output' });
  let spentMs = 0;
  const t0 = Date.now();
  await assert.rejects(
    eventually(probe, {
      what: '"wget" to print "web1"',
      timeoutMs: 60_000,
      deadline: 'the stretched one',
      intervalMs: 20,
      budget: {
        ms: 100,
        spent: () => {
          spentMs += 20;
          return spentMs;
        },
        words: (wallMs) => spentWords(12, 20, wallMs),
      },
    }),
    (err: Error) =>
      err instanceof SubmissionAssertionError &&
      /within 20 s of the node's time \(\d+ s here: .* 12× slower .* busy counts that much less, its idle time as it is\)/.test(
        err.message,
      ),
  );
  assert.ok(Date.now() - t0 < 5_000, 'ended on the budget, not at the 60 s deadline');
  await assert.rejects(
    eventually(probe, {
      what: 'x',
      timeoutMs: 300,
      deadline: 'the stretched one',
      intervalMs: 20,
      budget: { ms: 100, spent: () => 0, words: () => 'never used' },
    }),
    /within the stretched one \(\d+ tries\)/,
  );
});

/** Unsets KGRADE_VM_PACE for one test and puts back what it was once the test ends. */
function withoutPaceSetting(t: TestContext): void {
  const before = process.env.KGRADE_VM_PACE;
  t.after(() => {
    if (before === undefined) delete process.env.KGRADE_VM_PACE;
    else process.env.KGRADE_VM_PACE = before;
  });
  delete process.env.KGRADE_VM_PACE;
}

test('KGRADE_VM_PACE: unset is measured; a number from 1 to 100 is taken; anything else is a usage error', (t) => {
  withoutPaceSetting(t);
  assert.equal(vmPaceSetting(), undefined);
  process.env.KGRADE_VM_PACE = '';
  assert.equal(vmPaceSetting(), undefined);
  process.env.KGRADE_VM_PACE = '1';
  assert.equal(vmPaceSetting(), 1);
  process.env.KGRADE_VM_PACE = '6.5';
  assert.equal(vmPaceSetting(), 6.5);
  for (const bad of ['0.5', '0', '101', 'fast', '-2', '1e3']) {
    process.env.KGRADE_VM_PACE = bad;
    assert.throws(
      () => vmPaceSetting(),
      (err: Error) => err instanceof UsageError && /KGRADE_VM_PACE/.test(err.message),
    );
  }
});

/** A node that is this host: commands run here through bash, counted. */
function localNode(name: string, fail = false): Node & { runs: number } {
  const node = {
    name,
    runs: 0,
    async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
      node.runs += 1;
      const started = Date.now();
      const r = await execa(fail ? 'false' : (argv[0] ?? 'false'), fail ? [] : argv.slice(1), {
        reject: false,
        timeout: options.timeoutMs ?? 30_000,
      });
      return {
        argv,
        code: r.exitCode ?? null,
        stdout: String(r.stdout),
        stderr: String(r.stderr),
        timedOut: r.timedOut,
        truncated: false,
        durationMs: Date.now() - started,
      };
    },
    copyIn: () => Promise.reject(new Error('no copies here')),
  };
  return node;
}

test('measurePace times the same workload on the host and the node; the pace is within the clamp', async () => {
  const node = localNode('here');
  const m = await measurePace(node);
  assert.equal(m.hostMs.length, 5);
  assert.equal(m.nodeMs.length, 3);
  assert.equal(node.runs, 3);
  for (const ms of [...m.hostMs, ...m.nodeMs]) assert.ok(ms > 0, `a run of ${ms} ms`);
  assert.ok(m.pace >= PACE_MIN && m.pace <= PACE_MAX, `pace ${m.pace}`);
});

test('vmPace measures once per accelerator and process; a setting is taken without measuring', async (t) => {
  withoutPaceSetting(t);
  const first = localNode('first');
  const second = localNode('second');
  const [a, b] = await Promise.all([vmPace(first, 'unit-a'), vmPace(second, 'unit-a')]);
  assert.equal(a, b);
  assert.equal(first.runs + second.runs, 3, 'two VMs booted together share one measurement');
  const third = localNode('third');
  assert.equal(await vmPace(third, 'unit-a'), a);
  assert.equal(third.runs, 0);
  const other = localNode('other kind');
  await vmPace(other, 'unit-b');
  assert.equal(other.runs, 3, 'another accelerator is measured apart');

  process.env.KGRADE_VM_PACE = '7';
  const set = localNode('set');
  assert.equal(await vmPace(set, 'unit-c'), 7);
  assert.equal(set.runs, 0);
});

test('a VM that does not wait for the measurement starts at the cap, or at the pace measured, or at the setting', async (t) => {
  withoutPaceSetting(t);
  assert.equal(provisionalVmPace('unit-early'), PACE_MAX, 'nothing measured yet: the longest deadlines');
  const measuring = vmPace(localNode('spare'), 'unit-early');
  assert.equal(provisionalVmPace('unit-early'), PACE_MAX, 'a measurement under way is not waited for');
  const measured = await measuring;
  assert.equal(provisionalVmPace('unit-early'), measured, 'once measured, the next early VM has that pace');
  assert.equal(provisionalVmPace('unit-early-other'), PACE_MAX, 'another accelerator has its own');
  process.env.KGRADE_VM_PACE = '3';
  assert.equal(provisionalVmPace('unit-early'), 3);
});

test('a measurement that fails is the failing VM’s error; a VM waiting on it measures itself', async (t) => {
  withoutPaceSetting(t);
  const broken = localNode('broken', true);
  const waiting = localNode('waiting');
  const [x, y] = await Promise.allSettled([vmPace(broken, 'unit-d'), vmPace(waiting, 'unit-d')]);
  assert.equal(x.status, 'rejected');
  assert.match(String((x as PromiseRejectedResult).reason), /could not time the pace workload on broken/);
  assert.equal(y.status, 'fulfilled');
  assert.equal(waiting.runs, 3);
});
