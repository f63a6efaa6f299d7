/**
 * --shard I/N and kgrade merge with real grades: one batch of a class, and the same class graded
 * as two shards (one after the other, as two CI jobs would) and merged, give the same output
 * folder: the same files, batch.json with the same students, and each student's stored result
 * and reports the same apart from times and durations. The real lab, labs/ch01-isolation, without
 * its @course checks (they do not look at the submission).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertNothingLeft, requireDocker, runCli } from '../helpers/grading.js';
import {
  asFolder,
  asTarGz,
  asZip,
  batch,
  batchJson,
  CH01,
  copyLab,
  show,
  timeless,
  type BatchRun,
} from '../helpers/batch.js';

const T = { timeout: 420_000 };
const STUDENTS = ['ann', 'bob', 'cyd'];

let root = '';
let subs = '';
let lab = '';
let single: BatchRun;
let shards: BatchRun[] = [];
const dir = (name: string) => path.join(root, name);

before(async () => {
  await requireDocker();
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-bt-shard-'));
  subs = dir('submissions');
  await asFolder(CH01, 'reference', subs, 'ann');
  await asZip(CH01, 'wrong/host-root-bind-mounted', subs, 'bob');
  await asTarGz(CH01, 'reference', subs, 'cyd');
  lab = await copyLab(root, CH01, { withoutCourseChecks: true });
  single = await batch(lab, subs, dir('single'));
  shards = [
    await batch(lab, subs, dir('shard1'), ['--shard', '1/2']),
    await batch(lab, subs, dir('shard2'), ['--shard', '2/2']),
  ];
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function files(base: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(base, under), { withFileTypes: true })) {
    const rel = path.join(under, e.name);
    if (e.isDirectory()) out.push(...(await files(base, rel)));
    else out.push(rel);
  }
  return out.sort();
}

test('the single run and each shard grade; the shards split the class and record their shard', T, async () => {
  assert.equal(single.code, 0, show(single));
  for (const s of shards) assert.equal(s.code, 0, show(s));
  const [one, two] = [await batchJson(dir('shard1')), await batchJson(dir('shard2'))];
  assert.equal(one.shard, '1/2');
  assert.equal(two.shard, '2/2');
  assert.deepEqual([...one.students, ...two.students].sort(), STUDENTS);
  assert.equal(one.students.length + two.students.length, STUDENTS.length);
  assert.deepEqual(
    shards.map((s) => s.lines.map((l) => l.student).sort()),
    [one.students, two.students],
  );
  assert.equal((await batchJson(dir('single'))).shard, undefined);
  await assertNothingLeft([single.pid, ...shards.map((s) => s.pid)]);
});

test('a shard folder is not reused for another shard or a whole batch', T, async () => {
  const r = await runCli(['batch', lab, subs, '--out', dir('shard1'), '--shard', '2/2', '--no-build']);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, /holds shard 1\/2, not shard 2\/2: give each shard its own --out/);
});

test(
  'kgrade merge of the shards gives what the single run wrote: same files, same students, same grades',
  T,
  async () => {
    const m = await runCli(['merge', dir('merged'), dir('shard2'), dir('shard1')]);
    assert.equal(m.code, 0, show(m));
    assert.match(m.stderr, /3 of 3 student\(s\) graded/);
    assert.deepEqual(await files(dir('merged')), await files(dir('single')));
    const merged = await batchJson(dir('merged'));
    const one = await batchJson(dir('single'));
    assert.deepEqual(Object.keys(merged), Object.keys(one));
    assert.deepEqual(timeless(merged), timeless(one));
    // each grading plants a fresh random secret for the chroot check: the only text that differs
    const unsecret = (t: string) => t.replace(/kgrade-secret-[0-9a-f]+/g, 'kgrade-secret-X');
    for (const id of STUDENTS) {
      const a = JSON.parse(
        unsecret(await readFile(path.join(dir('merged'), 'results', `${id}.json`), 'utf8')),
      ) as unknown;
      const b = JSON.parse(
        unsecret(await readFile(path.join(dir('single'), 'results', `${id}.json`), 'utf8')),
      ) as unknown;
      assert.deepEqual(timeless(a), timeless(b), `results/${id}.json`);
      const ma = await readFile(path.join(dir('merged'), 'students', id, 'summary.md'), 'utf8');
      const mb = await readFile(path.join(dir('single'), 'students', id, 'summary.md'), 'utf8');
      const untimed = (t: string) => unsecret(t).replace(/\d+(\.\d+)? ?(s|ms)\b/g, 'T');
      assert.equal(untimed(ma), untimed(mb), `students/${id}/summary.md`);
    }
    const scores = Object.fromEntries(
      await Promise.all(
        STUDENTS.map(async (id) => [
          id,
          (
            JSON.parse(await readFile(path.join(dir('merged'), 'results', `${id}.json`), 'utf8')) as {
              result: { score: number };
            }
          ).result.score,
        ]),
      ),
    );
    assert.deepEqual(scores, { ann: 10, bob: 8, cyd: 10 });
  },
);

test('merge refuses an incomplete split', T, async () => {
  const r = await runCli(['merge', dir('merged-half'), dir('shard1')]);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, /shard\(s\) 2\/2 not given/);
});
