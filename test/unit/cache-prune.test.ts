/** Pruning of the reused cache folders (src/env/cache-prune.ts): saved VM nodes, userns roots. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markUsed, pruneCache, type CacheRule } from '../../src/env/cache-prune.js';

// the userns roots' naming: <image id>-<uid base>, made in <that>.tmp-<pid>, stamped by `complete`
const RULE: CacheRule = { making: /\.tmp-(\d+)$/, stamp: 'complete', unusedDays: 7 };
const DAY = 86_400_000;

function entry(root: string, name: string, stampAgeDays?: number, folderAgeDays = 0): void {
  const dir = path.join(root, name);
  mkdirSync(dir);
  if (stampAgeDays !== undefined) {
    writeFileSync(path.join(dir, RULE.stamp), 'img id\n');
    const t = new Date(Date.now() - stampAgeDays * DAY);
    utimesSync(path.join(dir, RULE.stamp), t, t);
  }
  const f = new Date(Date.now() - folderAgeDays * DAY);
  utimesSync(dir, f, f);
}

test("dead runs' half-made copies and entries unused for a week go; live copies, recent and kept entries stay", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kgrade-unit-prune-'));
  try {
    entry(root, 'aaaa-100000.tmp-999999999'); // its run is gone
    entry(root, `aaaa-165536.tmp-${process.pid}`); // its run is this one, still making it
    entry(root, 'old-100000', 8); // a root of an image rebuilt since
    entry(root, 'recent-100000', 2);
    entry(root, 'mine-100000', 30); // the caller's own: kept whatever its age
    entry(root, 'nostamp-old', undefined, 9); // cut short some other way, long ago
    entry(root, 'nostamp-new', undefined, 0);
    const removed = pruneCache(root, RULE, ['mine-100000']);
    assert.deepEqual(removed.sort(), ['aaaa-100000.tmp-999999999', 'nostamp-old', 'old-100000']);
    assert.deepEqual(
      readdirSync(root).sort(),
      [`aaaa-165536.tmp-${process.pid}`, 'mine-100000', 'nostamp-new', 'recent-100000'].sort(),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a use stamps the entry, so that the week counts from its last use, not from when it was made', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kgrade-unit-prune-'));
  try {
    entry(root, 'used-100000', 10);
    markUsed(path.join(root, 'used-100000'), RULE);
    assert.ok(Date.now() - statSync(path.join(root, 'used-100000', RULE.stamp)).mtimeMs < DAY);
    assert.deepEqual(pruneCache(root, RULE), []);
    assert.deepEqual(readdirSync(root), ['used-100000']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a cache folder that does not exist yet prunes nothing', () => {
  assert.deepEqual(pruneCache(path.join(os.tmpdir(), 'kgrade-unit-prune-none', 'x'), RULE), []);
});
