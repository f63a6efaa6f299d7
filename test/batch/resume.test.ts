/**
 * A batch killed with SIGKILL in the middle and run again: every student ends graded, each graded
 * exactly once over both runs (a stored result is reused, never graded twice, and the killed run's
 * results are kept as they were); then a stored result from an older version of the lab (its
 * features changed) is graded again, not reused. The real lab (a copy of labs/ch01-isolation
 * without its @course checks, so that its features can change) in real sandboxes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertNothingLeft, requireDocker, sandboxesOwnedBy, until, workspacesOf } from '../helpers/grading.js';
import { asFolder, batch, batchJson, copyLab, parseLines, show, stored, type BatchRun } from '../helpers/batch.js';

const T = { timeout: 420_000 };
const STUDENTS = ['amy', 'ben', 'cat'];
const SCORES: Record<string, number> = { amy: 10, ben: 7, cat: 10 };

let root = '';
let lab = '';
let subs = '';
let out = '';
let killed: BatchRun;
/** results/*.json as the killed run left them. */
const leftByKill = new Map<string, string>();
let resumed: BatchRun;

async function resultFiles(): Promise<string[]> {
  return (await readdir(path.join(out, 'results')).catch(() => [] as string[])).filter(
    (f) => f.endsWith('.json') && !f.startsWith('.'),
  );
}

before(async () => {
  await requireDocker();
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-bt-resume-'));
  lab = await copyLab(root, undefined, { withoutCourseChecks: true });
  subs = path.join(root, 'submissions');
  out = path.join(root, 'out');
  await asFolder(lab, 'reference', subs, 'amy');
  await asFolder(lab, 'wrong/one-namespace-two-ports', subs, 'ben');
  await asFolder(lab, 'reference', subs, 'cat');

  let pid = 0;
  const running = batch(lab, subs, out, [], { onStart: (p) => (pid = p) });
  await until('the first stored result', async () => (await resultFiles()).length >= 1, 300_000, 50);
  const atKill = await resultFiles();
  process.kill(pid, 'SIGKILL');
  killed = await running;
  assert.ok(atKill.length < STUDENTS.length, `killed before every student was done (done: ${atKill.join(', ')})`);
  for (const f of await resultFiles()) leftByKill.set(f, await readFile(path.join(out, 'results', f), 'utf8'));
  resumed = await batch(lab, subs, out);
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('the killed run stopped midway, with whole result files only', T, async () => {
  assert.equal(killed.signal, 'SIGKILL', show(killed));
  assert.ok(leftByKill.size >= 1 && leftByKill.size < STUDENTS.length, `left: ${[...leftByKill.keys()].join(', ')}`);
  for (const [f, text] of leftByKill) assert.doesNotThrow(() => JSON.parse(text), `${f} is whole JSON`);
  // a line is printed once its result is stored: every line names a stored result (the kill may
  // fall between the last store and its line)
  for (const l of killed.lines) assert.ok(leftByKill.has(`${l.student}.json`), `${l.student} printed but not stored`);
});

test(
  "run again: every student graded, each exactly once over both runs; the killed run's results kept byte for byte",
  T,
  async () => {
    assert.equal(resumed.code, 0, show(resumed));
    const gradedBefore = [...leftByKill.keys()].map((f) => f.replace(/\.json$/, ''));
    const gradedNow = resumed.lines.filter((l) => !l.reused).map((l) => l.student);
    const reusedNow = resumed.lines.filter((l) => l.reused).map((l) => l.student);
    assert.deepEqual(
      [...gradedBefore, ...gradedNow].sort(),
      STUDENTS,
      `graded before: ${gradedBefore.join(', ')}; now: ${gradedNow.join(', ')}`,
    );
    assert.deepEqual(reusedNow.sort(), gradedBefore.sort(), 'what the killed run stored is reused');
    for (const [f, text] of leftByKill)
      assert.equal(await readFile(path.join(out, 'results', f), 'utf8'), text, `${f} untouched`);
    for (const id of STUDENTS) {
      const s = await stored(out, id);
      assert.equal(s.status, 'graded', id);
      assert.equal(s.result?.score, SCORES[id], id);
      assert.equal(s.attempts, 1, id);
    }
    assert.deepEqual(
      (await readdir(path.join(out, 'results'))).filter((f) => f.includes('.tmp')),
      [],
      'no temporary file left',
    );
    assert.deepEqual((await batchJson(out)).students, STUDENTS);
  },
);

test("nothing left behind: the killed run's sandboxes were reaped by the next run", T, async () => {
  assert.deepEqual(await sandboxesOwnedBy([killed.pid]), []);
  await assertNothingLeft([resumed.pid]);
  assert.deepEqual(
    (await readdir(os.tmpdir())).filter((n) => n.startsWith(`kgrade-unpack-${killed.pid}-`)),
    [],
  );
  // A private copy of a submission that the killed process was grading stays in the temp folder
  // (the grader cannot tell whose it is once its owner is gone): only of a student it had not
  // stored. assertNothingLeft removes it and says so; anything else it finds fails the test.
  for (const id of STUDENTS) {
    if (leftByKill.has(`${id}.json`) || (await workspacesOf(id)).length === 0) {
      await assertNothingLeft([], id);
      continue;
    }
    await assert.rejects(
      assertNothingLeft([], id),
      /^Error: submission workspace\(s\) left in /,
      `${id}: only its copy is left`,
    );
    assert.deepEqual(await workspacesOf(id), [], `${id}'s copy removed`);
  }
});

test('a third run reuses everything; --regrade is not needed to see the stored results', T, async () => {
  const again = await batch(lab, subs, out);
  assert.equal(again.code, 0, show(again));
  assert.deepEqual(
    again.lines.map((l) => [l.student, l.reused]).sort(),
    STUDENTS.map((id) => [id, true]),
  );
});

test('a stored result from an older version of the lab is graded again, not reused', T, async () => {
  const oldHash = (await stored(out, 'ben')).provenance.labHash;
  const oldBen = await readFile(path.join(out, 'results', 'ben.json'), 'utf8');
  await appendFile(path.join(lab, 'features', 'same-port.feature'), '\n# the lab changed after the first grades\n');
  // only ben, through a CSV roster (one grading is enough to show it)
  await writeFile(path.join(root, 'ben.csv'), `id,path\nben,${path.join(subs, 'ben')}\n`);
  const r = await batch(lab, path.join(root, 'ben.csv'), out);
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(
    parseLines(r.stdout).map((l) => [l.student, l.reused]),
    [['ben', false]],
  );
  const ben = await stored(out, 'ben');
  assert.notEqual(ben.provenance.labHash, oldHash);
  assert.equal((await batchJson(out)).lab.hash, ben.provenance.labHash);
  assert.equal(ben.result?.score, 7);
  assert.notEqual(await readFile(path.join(out, 'results', 'ben.json'), 'utf8'), oldBen);
  assert.match(
    await readFile(path.join(out, 'logs', 'ben.log'), 'utf8'),
    /grading: the lab changed since \(another lab hash\)/,
  );
  await assertNothingLeft([r.pid], 'ben');
  assert.ok(existsSync(path.join(out, 'students', 'ben', 'results.json')));
});
