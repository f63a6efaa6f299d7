/**
 * kgrade batch over a class that hands in folders, zips and tarballs, among them an archive for
 * each attack: path traversal, an absolute path, a link to /etc, a hard link out, a device file, a
 * FIFO, and bombs that expand past the caps (one whose header tells the truth, one that lies).
 * Each attack ends as that student's `error` with the reason; the honest students are graded in
 * the same batch with their usual scores (the real lab, labs/ch01-isolation, without its @course
 * checks, which do not look at the submission, in real sandboxes);
 * nothing is written outside the unpack folders and nothing is left behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertNothingLeft, requireDocker, workspacesOf } from '../helpers/grading.js';
import { tarGz, tarGzBomb, zip } from '../helpers/archives.js';
import {
  asFolder,
  asTarGz,
  asZip,
  batch,
  batchJson,
  CH01,
  copyLab,
  show,
  stored,
  type BatchRun,
} from '../helpers/batch.js';

const T = { timeout: 420_000 };
const TAG = `${process.pid}-${Date.now()}`;
const ESCAPED = `kgrade-escaped-${TAG}`;
const MiB = 1024 * 1024;

let root = '';
let subs = '';
let out = '';
let run: BatchRun;
const passwdBefore = createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex');

/** The student ids of the attacks and the reason each must end with. */
const ATTACKS: Record<string, { file: () => Buffer; ext: 'zip' | 'tar.gz'; reason: RegExp }> = {
  'zip-traversal': {
    ext: 'zip',
    file: () =>
      zip([
        { name: 'make-root.sh', body: 'true' },
        { name: `../../${ESCAPED}.txt`, body: 'out' },
      ]),
    reason: /invalid relative path: \.\.\/\.\.\/kgrade-escaped/,
  },
  'zip-absolute': {
    ext: 'zip',
    file: () => zip([{ name: `/tmp/${ESCAPED}-abs.txt`, body: 'out' }]),
    reason: /absolute path: \/tmp\/kgrade-escaped/,
  },
  'zip-symlink-etc': {
    ext: 'zip',
    file: () =>
      zip([
        { name: 'etc', body: '/etc', mode: 0o120777 },
        { name: `etc/${ESCAPED}`, body: 'through the link' },
      ]),
    reason: /entry "etc" is a symbolic link: only plain files and folders are accepted/,
  },
  'zip-bomb': {
    ext: 'zip',
    file: () => zip([{ name: 'zeros', body: Buffer.alloc(100 * MiB), deflate: true }]),
    reason: /entry "zeros" unpacks to 100 MiB, over the cap of 32 MiB per file/,
  },
  'zip-bomb-lying': {
    ext: 'zip',
    file: () => zip([{ name: 'zeros', body: Buffer.alloc(100 * MiB), deflate: true, declaredSize: 1000 }]),
    reason: /entry "zeros": too many bytes in the stream/,
  },
  'tgz-traversal': {
    ext: 'tar.gz',
    file: () => tarGz([{ path: `../../${ESCAPED}.txt`, body: 'out' }]),
    reason: /climbs out of the submission folder/,
  },
  'tgz-absolute': {
    ext: 'tar.gz',
    file: () => tarGz([{ path: `/tmp/${ESCAPED}-abs.txt`, body: 'out' }]),
    reason: /is an absolute path/,
  },
  'tgz-symlink-etc': {
    ext: 'tar.gz',
    file: () =>
      tarGz([
        { path: 'etc', type: 'SymbolicLink', linkpath: '/etc' },
        { path: 'etc/passwd', body: 'root::0:0::/:/bin/sh\n' },
      ]),
    reason: /entry "etc" is a symbolic link to "\/etc"/,
  },
  'tgz-hardlink-out': {
    ext: 'tar.gz',
    file: () => tarGz([{ path: 'passwd', type: 'Link', linkpath: '/etc/passwd' }]),
    reason: /entry "passwd" is a hard link to "\/etc\/passwd"/,
  },
  'tgz-device': {
    ext: 'tar.gz',
    file: () => tarGz([{ path: 'mem', type: 'CharacterDevice', devmaj: 1, devmin: 1 }]),
    reason: /entry "mem" is a character device/,
  },
  'tgz-fifo': { ext: 'tar.gz', file: () => tarGz([{ path: 'pipe', type: 'FIFO' }]), reason: /entry "pipe" is a FIFO/ },
  'tgz-bomb': {
    ext: 'tar.gz',
    file: () => tarGzBomb('zeros', 100 * MiB),
    reason: /entry "zeros" unpacks to 100 MiB, over the cap of 32 MiB per file/,
  },
};
const HONEST: Record<string, number> = { 'a-folder': 10, 'b-zip': 10, 'c-tgz-wrong': 7 };

before(async () => {
  await requireDocker();
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-bt-unpack-'));
  subs = path.join(root, 'deep', 'er', 'submissions');
  out = path.join(root, 'out');
  await asFolder(CH01, 'reference', subs, 'a-folder');
  await asZip(CH01, 'reference', subs, 'b-zip');
  await asTarGz(CH01, 'wrong/same-page-twice', subs, 'c-tgz-wrong');
  for (const [id, a] of Object.entries(ATTACKS)) {
    const data = a.file();
    if (id.includes('bomb')) assert.ok(data.length < 200 * 1024, `${id} is a small archive (${data.length} bytes)`);
    await writeFile(path.join(subs, `${id}.${a.ext}`), data);
  }
  run = await batch(await copyLab(root, CH01, { withoutCourseChecks: true }), subs, out);
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test(
  'the batch ends with exit 3 (some students have no grade), one JSON line per student on stdout, the bad archives listed at the end',
  T,
  async () => {
    assert.equal(run.code, 3, show(run));
    const students = [...Object.keys(HONEST), ...Object.keys(ATTACKS)].sort();
    assert.deepEqual(run.lines.map((l) => l.student).sort(), students, show(run));
    assert.deepEqual((await batchJson(out)).students, students);
    assert.match(run.stderr, new RegExp(`${Object.keys(ATTACKS).length} student\\(s\\) without a final grade`));
    for (const id of Object.keys(ATTACKS)) assert.match(run.stderr, new RegExp(`^  ${id}: .*was not unpacked`, 'm'));
  },
);

test('each attack: that student is an error with the reason, never retried, no report folder', T, async () => {
  for (const [id, a] of Object.entries(ATTACKS)) {
    const s = await stored(out, id);
    assert.equal(s.status, 'error', `${id}: ${JSON.stringify(s)}`);
    assert.match(s.reason ?? '', new RegExp(`^${id}\\.${a.ext.replace('.', '\\.')} was not unpacked: `), id);
    assert.match(s.reason ?? '', a.reason, id);
    assert.equal(s.attempts, 1, `${id}: a refused archive is not retried`);
    assert.equal(s.result, undefined);
    assert.equal(existsSync(path.join(out, 'students', id)), false, id);
    const line = run.lines.find((l) => l.student === id);
    assert.equal(line?.status, 'error');
    assert.equal(line?.reason, s.reason);
  }
});

test(
  'the honest students of the same batch are graded as usual: folder, zip (one folder inside) and tar.gz',
  T,
  async () => {
    for (const [id, score] of Object.entries(HONEST)) {
      const s = await stored(out, id);
      assert.equal(s.status, 'graded', `${id}: ${JSON.stringify({ ...s, result: undefined })}\n${show(run)}`);
      assert.equal(s.result?.score, score, id);
      assert.equal(s.result?.complete, true);
      assert.equal(s.result?.submission.name, id);
      assert.equal(s.attempts, 1);
      assert.match(s.provenance.submissionHash, /^[0-9a-f]{64}$/);
      for (const f of ['results.json', 'junit.xml', 'gradescope/results.json', 'summary.md'])
        assert.ok(existsSync(path.join(out, 'students', id, f)), `${id}/${f}`);
    }
    assert.equal(
      (await stored(out, 'b-zip')).provenance.submissionHash,
      (await stored(out, 'a-folder')).provenance.submissionHash,
      'the zipped reference has the same content hash as the folder',
    );
  },
);

test('nothing landed outside the unpack folders, /etc is untouched, and nothing is left behind', T, async () => {
  const look = [root, path.join(root, 'deep'), path.join(root, 'deep', 'er'), os.tmpdir(), '/'];
  for (const dir of look) {
    const names = await readdir(dir).catch(() => [] as string[]);
    assert.deepEqual(
      names.filter((n) => n.includes(ESCAPED)),
      [],
      `no escaped file in ${dir}`,
    );
  }
  assert.equal(existsSync(`/etc/${ESCAPED}`), false);
  assert.equal(
    createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex'),
    passwdBefore,
    '/etc/passwd unchanged',
  );
  assert.deepEqual(
    (await readdir(os.tmpdir())).filter((n) => n.startsWith(`kgrade-unpack-${run.pid}-`)),
    [],
    'unpacked submissions removed',
  );
  await assertNothingLeft([run.pid]);
  for (const id of Object.keys(HONEST)) assert.deepEqual(await workspacesOf(id), [], `no private copy of ${id} left`);
});
