/** The store of saved VM nodes (src/env/sandbox/vm-snapshot.ts): made once, raced, failed, pruned. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshotFor, snapshotKey } from '../../src/env/sandbox/vm-snapshot.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'kgrade-unit-snap-'));
const fill = (into: string) => {
  writeFileSync(path.join(into, 'state'), 'state');
  writeFileSync(path.join(into, 'overlay.qcow2'), 'disk');
};

test('a key names everything qemu must find the same to take a state back', () => {
  assert.equal(snapshotKey(['qemu', '-m', '2048M']), snapshotKey(['qemu', '-m', '2048M']));
  assert.notEqual(snapshotKey(['qemu', '-m', '2048M']), snapshotKey(['qemu', '-m', '1024M']));
  assert.notEqual(snapshotKey(['a', 'bc']), snapshotKey(['ab', 'c']));
});

test('runs asking at once make the node once, and find it in its folder', async () => {
  const root = tmp();
  try {
    let made = 0;
    const make = async (into: string) => {
      made++;
      await new Promise((r) => setTimeout(r, 20));
      fill(into);
    };
    const [a, b] = await Promise.all([snapshotFor(root, 'k-once', make), snapshotFor(root, 'k-once', make)]);
    assert.equal(made, 1);
    assert.deepEqual(a, b);
    assert.equal(a.dir, path.join(root, 'k-once'));
    assert.ok(existsSync(a.state) && existsSync(a.overlay) && existsSync(path.join(a.dir, 'ready')));
    assert.deepEqual(readdirSync(root), ['k-once'], 'nothing half-made is left');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a node saved by an earlier run is used as it is', async () => {
  const root = tmp();
  try {
    mkdirSync(path.join(root, 'k-earlier'), { recursive: true });
    fill(path.join(root, 'k-earlier'));
    writeFileSync(path.join(root, 'k-earlier', 'ready'), 'x');
    const s = await snapshotFor(root, 'k-earlier', () => Promise.reject(new Error('must not be made again')));
    assert.equal(s.dir, path.join(root, 'k-earlier'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a save that fails leaves nothing, and the next ask tries again', async () => {
  const root = tmp();
  try {
    await assert.rejects(
      snapshotFor(root, 'k-fail', async (into) => {
        fill(into);
        throw new Error('qemu said no');
      }),
      /qemu said no/,
    );
    assert.deepEqual(readdirSync(root), []);
    const s = await snapshotFor(root, 'k-fail', async (into) => fill(into));
    assert.ok(existsSync(s.state));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('when another run finished the same node first, its node is kept and this one dropped', async () => {
  const root = tmp();
  try {
    const s = await snapshotFor(root, 'k-race', async (into) => {
      fill(into);
      // the other run renames its node into place while this one still saves
      mkdirSync(path.join(root, 'k-race'));
      writeFileSync(path.join(root, 'k-race', 'state'), 'theirs');
      writeFileSync(path.join(root, 'k-race', 'ready'), 'x');
    });
    assert.equal(s.dir, path.join(root, 'k-race'));
    assert.deepEqual(readdirSync(root), ['k-race']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('making a node removes half-made ones of dead runs and nodes unused for a week, nothing else', async () => {
  const root = tmp();
  try {
    const dead = path.join(root, '.new-999999999-aa');
    const live = path.join(root, `.new-${process.pid}-bb`);
    const old = path.join(root, 'k-old');
    const recent = path.join(root, 'k-recent');
    for (const d of [dead, live, old, recent]) mkdirSync(d);
    for (const d of [old, recent]) writeFileSync(path.join(d, 'ready'), 'x');
    const weekAgo = new Date(Date.now() - 8 * 86_400_000);
    utimesSync(path.join(old, 'ready'), weekAgo, weekAgo);
    await snapshotFor(root, 'k-prune', async (into) => fill(into));
    assert.deepEqual(readdirSync(root).sort(), [`.new-${process.pid}-bb`, 'k-prune', 'k-recent'].sort());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
