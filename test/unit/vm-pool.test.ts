/**
 * VmPool's bookkeeping with a stand-in boot function (no qemu here: test/vm/vm.test.ts boots real
 * VMs through the pool): a spare serves one start only, spares are made only when asked for and
 * per kind, a spare that did not boot is replaced by a boot whose error is reported, and what no
 * start took is named for removal at exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sandbox, SandboxOptions } from '../../src/env/sandbox/index.js';
import { VmPool } from '../../src/env/sandbox/vm-pool.js';

function fakes(failAt = new Set<number>()) {
  let n = 0;
  const booted: string[] = [];
  const destroyed: string[] = [];
  /** The VMs booted for a start that would not wait for its pace (a spare follows them). */
  const early: string[] = [];
  const boot = async (_opts: SandboxOptions, named?: (name: string) => void, isEarly?: boolean): Promise<Sandbox> => {
    n += 1;
    const name = `vm-${n}`;
    named?.(name);
    booted.push(name);
    if (isEarly) early.push(name);
    await new Promise((r) => setTimeout(r, 5));
    if (failAt.has(n)) throw new Error(`${name} did not boot`);
    return {
      name,
      isolation: 'vm',
      exec: () => Promise.reject(new Error('not here')),
      copyIn: () => Promise.resolve(),
      destroy: async () => {
        destroyed.push(name);
      },
    } as Sandbox;
  };
  return { boot, booted, destroyed, early };
}

/** A pool over the stand-in boot, of one flavour, that removes nothing at exit. */
const poolOf = (f: ReturnType<typeof fakes>) =>
  new VmPool(
    f.boot,
    () => undefined,
    () => 'x',
  );

const OPTS: SandboxOptions = { image: 'node:1', runId: 'r1', purpose: 'lab-a', cgroup: 'v1' };
const settle = () => new Promise((r) => setTimeout(r, 30));

test('without ahead no spare is booted', async () => {
  const f = fakes();
  const pool = poolOf(f);
  const a = await pool.take(OPTS);
  await settle();
  assert.deepEqual(f.booted, [a.name]);
});

test('a spare serves the next start and only that one; each start leaves one spare behind', async () => {
  const f = fakes();
  const pool = poolOf(f);
  const a = await pool.take({ ...OPTS, ahead: 1 });
  await settle();
  assert.deepEqual(f.booted, ['vm-1', 'vm-2'], 'the spare was not booted while the first VM was in use');
  const b = await pool.take({ ...OPTS, runId: 'r2', ahead: 1 });
  const c = await pool.take({ ...OPTS, ahead: 1 });
  const names = [a.name, b.name, c.name];
  assert.equal(new Set(names).size, 3, `a VM served two starts: ${names.join(' ')}`);
  assert.equal(b.name, 'vm-2', 'the spare was not used (another submission of the same lab may take it)');
});

test('spares are kept per kind: another cgroup version or lab does not take them', async () => {
  const f = fakes();
  const pool = poolOf(f);
  await pool.take({ ...OPTS, ahead: 1 });
  await settle();
  const v2 = await pool.take({ ...OPTS, cgroup: 'v2', ahead: 1 });
  const other = await pool.take({ ...OPTS, purpose: 'lab-b' });
  assert.notEqual(v2.name, 'vm-2');
  assert.notEqual(other.name, 'vm-2');
});

test('a spare that did not boot is replaced by a fresh boot, whose own error is what a start sees', async () => {
  const f = fakes(new Set([2, 3]));
  const pool = poolOf(f);
  await pool.take({ ...OPTS, ahead: 1 });
  await settle();
  await assert.rejects(pool.take({ ...OPTS, ahead: 1 }), /vm-3 did not boot/);
  const d = await pool.take({ ...OPTS, ahead: 1 });
  assert.ok(['vm-4', 'vm-5'].includes(d.name), d.name);
});

test('the spares no start has taken are what is removed at exit', async () => {
  const f = fakes();
  const removed: string[] = [];
  const pool = new VmPool(
    f.boot,
    (name) => removed.push(name),
    () => 'x',
  );
  const a = await pool.take({ ...OPTS, ahead: 2 });
  await settle();
  const b = await pool.take({ ...OPTS, ahead: 2 });
  await settle();
  pool.removeUntakenSync();
  assert.ok(!removed.includes(a.name) && !removed.includes(b.name), `a VM in use was removed: ${removed.join(' ')}`);
  assert.deepEqual(removed.sort(), f.booted.filter((n) => n !== a.name && n !== b.name).sort());
});

test('a start with no spare to take is booted early when a spare will follow it; spares never are', async () => {
  const f = fakes();
  const pool = poolOf(f);
  const lone = await pool.take(OPTS);
  assert.deepEqual(f.early, [], 'no spare follows a start without ahead: it measures its own pace');
  const a = await pool.take({ ...OPTS, purpose: 'lab-b', ahead: 1 });
  await settle();
  const b = await pool.take({ ...OPTS, purpose: 'lab-b', ahead: 1 });
  await settle();
  assert.deepEqual(f.early, [a.name], 'the first start of a kind with spares is early, the spares it takes are not');
  assert.notEqual(b.name, a.name);
  assert.notEqual(lone.name, a.name);
});
