import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { usernsBase } from '../../src/config.js';
import { leaseSlot, slotBase, slotOf } from '../../src/env/sandbox/userns-ids.js';

const root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-unit-slots-'));
// A base of its own: the lock is named after it, so no running kgrade on this machine is disturbed.
const env = { KGRADE_USERNS_BASE: '3000000000', KGRADE_USERNS_SLOTS: '4' };
const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
Object.assign(process.env, env);

after(async () => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  await rm(root, { recursive: true, force: true });
});

async function bundle(dir: string, name: string): Promise<string> {
  const b = path.join(dir, name);
  await mkdir(b, { recursive: true });
  return b;
}

test('sandboxes started at once each lease a slot of their own, lowest first, 65536 ids apart', async () => {
  const dir = path.join(root, 'at-once');
  const bundles = await Promise.all(['a', 'b', 'c'].map((n) => bundle(dir, n)));
  const bases = await Promise.all(bundles.map((b) => leaseSlot(dir, b)));
  assert.deepEqual([...bases].sort(), [3000000000, 3000065536, 3000131072]);
  assert.deepEqual(bundles.map((b) => slotOf(b)).sort(), [0, 1, 2]);
});

test('a slot is free again once its sandbox folder is gone; with every slot held, the error says what to do', async () => {
  const dir = path.join(root, 'full');
  const bundles = await Promise.all(['a', 'b', 'c', 'd'].map((n) => bundle(dir, n)));
  for (const b of bundles) await leaseSlot(dir, b);
  await assert.rejects(leaseSlot(dir, await bundle(dir, 'e')), /all 4 uid slots .* in use \(KGRADE_USERNS_SLOTS\)/);
  await rm(bundles[1] ?? '', { recursive: true });
  assert.equal(await leaseSlot(dir, path.join(dir, 'e')), slotBase(1));
});

test('KGRADE_USERNS_BASE leaves room for every slot below the highest id', () => {
  process.env.KGRADE_USERNS_BASE = String(2 ** 32 - 2 - 4 * 65536 + 2);
  assert.throws(() => usernsBase(), /KGRADE_USERNS_BASE=\d+: must be a whole number from 1 to \d+/);
  process.env.KGRADE_USERNS_BASE = env.KGRADE_USERNS_BASE;
  assert.equal(slotBase(3), 3000000000 + 3 * 65536);
});
