/**
 * kgrade merge on shard folders written here (no grading): which shards can be merged, and that a
 * merge writes what one unsharded batch writes. test/batch/shard.test.ts does the same with real
 * grades.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { mergeProblems, mergeShards } from '../../src/batch/merge.js';
import { batchRecord } from '../../src/batch/run.js';
import { studentsOfShard } from '../../src/batch/shard.js';
import { writeBatchRecord, writeStoredResult } from '../../src/batch/output-folder.js';
import type { BatchRecord, StoredResult } from '../../src/batch/records.js';
import type { GradeResult } from '../../src/grade/model.js';
import { tempRoot, writeTree } from '../helpers/labs.js';

const LAB = { id: 'ch01-isolation', title: 'chroot and namespaces', hash: 'L1', maxScore: 10 };

function record(students: string[], shard?: string, over: Partial<BatchRecord> = {}): BatchRecord {
  return batchRecord({
    lab: LAB,
    kgradeVersion: '0.1.0',
    shard,
    students,
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:05:00.000Z',
    environment: 'sandbox x',
    ...over,
  });
}

function stored(id: string, status: 'graded' | 'error' = 'graded'): StoredResult {
  return {
    schemaVersion: 1,
    student: id,
    status,
    ...(status === 'error' ? { reason: 'docker down' } : {}),
    attempts: 1,
    provenance: { kgradeVersion: '0.1.0', labHash: 'L1', environment: 'sandbox x', submissionHash: `S-${id}` },
    ...(status === 'graded' ? { result: { score: 10, maxScore: 10 } as unknown as GradeResult } : {}),
    source: `/subs/${id}`,
  };
}

async function writeBatch(dir: string, rec: BatchRecord, errors: string[] = []): Promise<void> {
  await writeBatchRecord(dir, rec);
  for (const id of rec.students) {
    await writeStoredResult(dir, stored(id, errors.includes(id) ? 'error' : 'graded'));
    await writeTree(dir, { [`students/${id}/summary.md`]: `# ${id}\n`, [`logs/${id}.log`]: `log of ${id}\n` });
  }
}

async function files(dir: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, under), { withFileTypes: true })) {
    const rel = path.join(under, e.name);
    if (e.isDirectory()) out.push(...(await files(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

const ROSTER = ['alice', 'bob', 'carol', 'dave', 'erin'];
const shardIds = (i: number, n: number) =>
  studentsOfShard(
    ROSTER.map((id) => ({ id })),
    { index: i, count: n },
  ).map((s) => s.id);

test('merge: the shards of one split make the folder one batch would have written, byte for byte', async (t) => {
  const root = await tempRoot('merge', t);
  const single = path.join(root, 'single');
  await writeBatch(single, record(ROSTER), ['dave']);
  const shards = [1, 2, 3].map((i) => path.join(root, `shard${i}`));
  for (const [i, dir] of shards.entries()) {
    await writeBatch(
      dir,
      record(shardIds(i + 1, 3), `${i + 1}/3`, {
        startedAt: `2026-01-01T10:0${i}:00.000Z`,
        finishedAt: `2026-01-01T10:1${i}:00.000Z`,
      }),
      ['dave'],
    );
  }
  const merged = path.join(root, 'merged');
  const outcome = await mergeShards(merged, [shards[2] ?? '', shards[0] ?? '', shards[1] ?? '']);
  assert.deepEqual(outcome.students, ROSTER);
  assert.deepEqual(outcome.graded, ['alice', 'bob', 'carol', 'erin']);
  assert.deepEqual(outcome.errors, [{ id: 'dave', reason: 'docker down' }]);
  assert.deepEqual(await files(merged), await files(single));
  for (const f of await files(single)) {
    if (f === 'batch.json') continue;
    assert.equal(await readFile(path.join(merged, f), 'utf8'), await readFile(path.join(single, f), 'utf8'), f);
  }
  const m = JSON.parse(await readFile(path.join(merged, 'batch.json'), 'utf8')) as BatchRecord;
  assert.deepEqual(Object.keys(m), Object.keys(record(ROSTER)), 'the same fields in the same order, no shard');
  assert.deepEqual({ ...m, startedAt: '', finishedAt: '' }, { ...record(ROSTER), startedAt: '', finishedAt: '' });
  assert.equal(m.startedAt, '2026-01-01T10:00:00.000Z', 'the earliest start');
  assert.equal(m.finishedAt, '2026-01-01T10:12:00.000Z', 'the latest end');
});

test('merge refuses shards that are not one whole split of one lab version, naming why', async (t) => {
  const root = await tempRoot('merge', t);
  const s = (dir: string, rec: BatchRecord) => ({ dir, record: rec });
  assert.deepEqual(mergeProblems([s('a', record(['alice'], '1/2')), s('b', record(['bob'], '2/2'))]), []);
  assert.match(
    mergeProblems([s('a', record(['alice'], '1/3')), s('b', record(['bob'], '2/3'))]).join('\n'),
    /shard\(s\) 3\/3 not given/,
  );
  assert.match(
    mergeProblems([s('a', record(['alice'], '1/2')), s('b', record(['bob'], '1/2'))]).join('\n'),
    /a and b are both shard 1\/2/,
  );
  assert.match(
    mergeProblems([s('a', record(['alice'], '1/2')), s('b', record(['bob'], '2/3'))]).join('\n'),
    /b is a shard of 3, a of 2/,
  );
  assert.match(
    mergeProblems([
      s('a', record(['alice'], '1/2')),
      s('b', record(['bob'], '2/2', { lab: { ...LAB, hash: 'L2' } })),
    ]).join('\n'),
    /graded different versions of lab ch01-isolation/,
  );
  assert.match(
    mergeProblems([s('a', record(['alice'], '1/2')), s('b', record(['alice'], '2/2'))]).join('\n'),
    /student alice is in both a and b/,
  );
  await writeBatch(path.join(root, 'whole'), record(['alice']));
  await assert.rejects(
    mergeShards(path.join(root, 'm1'), [path.join(root, 'whole')]),
    /holds a whole batch, not a shard/,
  );
  await assert.rejects(mergeShards(path.join(root, 'm2'), [path.join(root, 'nothing')]), /no batch\.json there/);
  await writeBatch(path.join(root, 'one'), record(['alice'], '1/1'));
  await assert.rejects(mergeShards(path.join(root, 'whole'), [path.join(root, 'one')]), /is not empty/);
});

test('merge: a student of a shard without a result is missing in the merge too (exit 3 in the CLI)', async (t) => {
  const root = await tempRoot('merge', t);
  const dir = path.join(root, 'one');
  await writeBatch(dir, record(['alice'], '1/1'));
  await writeBatchRecord(dir, record(['alice', 'bob'], '1/1'));
  const outcome = await mergeShards(path.join(root, 'merged'), [dir]);
  assert.deepEqual(outcome.missing, ['bob']);
  assert.deepEqual(outcome.graded, ['alice']);
});
