import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatShard, parseShard, studentsOfShard } from '../../src/batch/shard.js';
import { UsageError } from '../../src/errors.js';

test('--shard I/N: 1 <= I <= N', () => {
  assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
  assert.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
  assert.equal(formatShard(parseShard(' 2/10 ')), '2/10');
  for (const bad of ['0/2', '3/2', '1/0', '1', '1/2/3', 'a/b', '-1/2', '1.5/2', '']) {
    assert.throws(
      () => parseShard(bad),
      (e: Error) => e instanceof UsageError && /--shard must be I\/N/.test(e.message),
      bad,
    );
  }
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${String(i).padStart(3, '0')}` }));

test('shards split the roster: every student in exactly one shard, sizes within one of each other', () => {
  for (const [size, count] of [
    [0, 3],
    [1, 3],
    [7, 3],
    [30, 4],
    [31, 1],
    [5, 5],
    [3, 8],
  ] as const) {
    const roster = ids(size);
    const shards = Array.from({ length: count }, (_, i) => studentsOfShard(roster, { index: i + 1, count }));
    const all = shards
      .flat()
      .map((s) => s.id)
      .sort();
    assert.deepEqual(
      all,
      roster.map((s) => s.id),
      `${size} students in ${count} shards`,
    );
    const sizes = shards.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
  }
});

test('the split does not depend on the order the roster was read in', () => {
  const roster = ids(11);
  const shuffled = [...roster].reverse();
  for (let i = 1; i <= 3; i += 1) {
    assert.deepEqual(
      studentsOfShard(shuffled, { index: i, count: 3 }),
      studentsOfShard(roster, { index: i, count: 3 }),
    );
  }
  assert.deepEqual(
    studentsOfShard([{ id: 'b' }, { id: 'B' }, { id: 'a' }], undefined).map((s) => s.id),
    ['B', 'a', 'b'],
    'by code point, not by locale',
  );
  assert.deepEqual(
    studentsOfShard(ids(5), { index: 2, count: 2 }).map((s) => s.id),
    ['s001', 's003'],
  );
});
