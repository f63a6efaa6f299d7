import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  lockOutput,
  readStoredResult,
  removeStaleTemps,
  resultFile,
  reuseDecision,
  writeAtomic,
  writeStoredResult,
  type StoredRead,
} from '../../src/batch/output-folder.js';
import type { StoredResult } from '../../src/batch/records.js';
import type { GradeResult } from '../../src/grade/model.js';
import { tempRoot } from '../helpers/labs.js';

/** A PID that was a process and is no more. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid ?? 999_999;
}

test('writeAtomic: the file holds the whole new text and no temporary file is left', async (t) => {
  const root = await tempRoot('store', t);
  const file = path.join(root, 'results', 'alice.json');
  await writeAtomic(file, 'one\n');
  await writeAtomic(file, 'two\n');
  assert.equal(await readFile(file, 'utf8'), 'two\n');
  assert.deepEqual(await readdir(path.dirname(file)), ['alice.json']);
});

test('removeStaleTemps: removes the temporary files of dead writers, keeps those of live ones and real files', async (t) => {
  const root = await tempRoot('store', t);
  const dead = `.alice.json.${deadPid()}.0badc0de.tmp`;
  const live = `.bob.json.${process.pid}.0badc0de.tmp`;
  for (const f of [dead, live, 'alice.json', '.keep']) await writeFile(path.join(root, f), '');
  assert.deepEqual(await removeStaleTemps(root), [dead]);
  assert.deepEqual(
    (await readdir(root)).sort(),
    ['.bob.json.' + process.pid + '.0badc0de.tmp', '.keep', 'alice.json'].sort(),
  );
});

const RESULT = { score: 10, maxScore: 10, complete: true } as unknown as GradeResult;
const stored = (over: Partial<StoredResult> = {}): StoredResult => ({
  schemaVersion: 1,
  student: 'alice',
  status: 'graded',
  attempts: 1,
  provenance: { kgradeVersion: '0.1.0', labHash: 'L1', environment: 'sandbox', submissionHash: 'S1' },
  result: RESULT,
  ...over,
});
const now = { student: 'alice', labHash: 'L1', submissionHash: 'S1' };

test('reuse: only a graded result of the same student, lab content and submission content; --regrade reuses nothing', () => {
  const cases: Array<[string, StoredRead, boolean, boolean | RegExp]> = [
    ['the same everything', { stored: stored() }, false, true],
    ['--regrade', { stored: stored() }, true, /--regrade/],
    ['nothing stored', { missing: true }, false, /not graded yet/],
    ['an unreadable file', { unreadable: 'not valid JSON' }, false, /cannot be used: not valid JSON/],
    [
      'an older lab',
      { stored: stored({ provenance: { ...stored().provenance, labHash: 'L0' } }) },
      false,
      /the lab changed/,
    ],
    [
      'a changed submission',
      { stored: stored({ provenance: { ...stored().provenance, submissionHash: 'S0' } }) },
      false,
      /the submission changed/,
    ],
    ['an error', { stored: stored({ status: 'error', reason: 'docker down' }) }, false, /an error \(docker down\)/],
    ['graded but without a result', { stored: { ...stored(), result: undefined } as StoredResult }, false, /an error/],
    ["another student's file", { stored: stored({ student: 'bob' }) }, false, /of "bob"/],
    [
      'another kgrade version or environment (recorded, not a reason to regrade)',
      { stored: stored({ provenance: { ...stored().provenance, kgradeVersion: '0.0.9', environment: 'x' } }) },
      false,
      true,
    ],
  ];
  for (const [name, read, regrade, want] of cases) {
    const d = reuseDecision(read, now, regrade);
    if (want === true) assert.deepEqual(d, { reuse: true }, name);
    else {
      assert.equal(d.reuse, false, name);
      if (!d.reuse) assert.match(d.why, want as RegExp, name);
    }
  }
});

test('readStoredResult: missing, unreadable (half a file, not a stored result) or the stored result', async (t) => {
  const root = await tempRoot('store', t);
  assert.deepEqual(await readStoredResult(root, 'alice'), { missing: true });
  await writeStoredResult(root, stored());
  assert.deepEqual(await readStoredResult(root, 'alice'), { stored: stored() });
  await writeFile(resultFile(root, 'bob'), '{"schemaVersion": 1, "stud');
  assert.match(((await readStoredResult(root, 'bob')) as { unreadable: string }).unreadable, /not valid JSON/);
  await writeFile(resultFile(root, 'carol'), '{"hello": 1}');
  assert.match(((await readStoredResult(root, 'carol')) as { unreadable: string }).unreadable, /not a stored result/);
});

test('lockOutput: one batch per folder; a lock of a dead process is taken over', async (t) => {
  const root = await tempRoot('store', t);
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, '.lock'), `${process.ppid}\n`);
  assert.throws(
    () => lockOutput(root),
    new RegExp(`another kgrade batch \\(PID ${process.ppid}\\) is writing this folder`),
  );
  await writeFile(path.join(root, '.lock'), `${deadPid()}\n`);
  const release = lockOutput(root);
  assert.equal((await readFile(path.join(root, '.lock'), 'utf8')).trim(), String(process.pid));
  release();
  assert.deepEqual(await readdir(root), []);
});
