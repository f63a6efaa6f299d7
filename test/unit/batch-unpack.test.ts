/**
 * Safe unpacking of students' archives (src/batch/unpack.ts), on small archives made byte by byte:
 * each attack is refused with its reason and nothing lands outside the target. The caps are tested
 * here with small limits; test/batch/unpack.test.ts runs the real caps in a real batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  entryPath,
  unpackArchive,
  UNPACK_LIMITS,
  type UnpackLimits,
  type UnpackResult,
} from '../../src/batch/unpack.js';
import { tarGz, tarGzBomb, zip, type TarEntry, type ZipEntry } from '../helpers/archives.js';
import { tempRoot } from '../helpers/labs.js';

test('entryPath: names that stay inside, normalised; names that climb out or are absolute, refused', () => {
  const ok: Array<[string, string]> = [
    ['a.sh', 'a.sh'],
    ['dir/a.sh', 'dir/a.sh'],
    ['./dir//a.sh', 'dir/a.sh'],
    ['dir/', 'dir'],
    ['./', ''],
    ['a..b/c..', 'a..b/c..'],
  ];
  for (const [name, want] of ok) assert.deepEqual(entryPath(name), { path: want }, name);
  const bad: Array<[string, RegExp]> = [
    ['../x', /climbs out/],
    ['a/../../x', /climbs out/],
    ['a/..', /climbs out/],
    ['/etc/passwd', /absolute/],
    ['C:/x', /absolute/],
    ['a\\..\\x', /backslash/],
    ['a\0b', /NUL/],
    ['', /empty/],
    [`${'d/'.repeat(70)}x`, /deep/],
    [`${'n'.repeat(256)}`, /longer than 255/],
  ];
  for (const [name, want] of bad) {
    const r = entryPath(name);
    assert.ok('problem' in r, `${JSON.stringify(name)} should be refused, got ${JSON.stringify(r)}`);
    assert.match(r.problem, want);
  }
});

interface Unpacked {
  r: UnpackResult;
  root: string;
  target: string;
}

let n = 0;
async function unpack(
  root: string,
  kind: 'zip' | 'tar.gz',
  data: Buffer,
  limits: UnpackLimits = UNPACK_LIMITS,
): Promise<Unpacked> {
  n += 1;
  const work = path.join(root, `case${n}`);
  const target = path.join(work, 'a', 'target');
  await mkdir(target, { recursive: true });
  const file = path.join(work, `student.${kind === 'zip' ? 'zip' : 'tar.gz'}`);
  await writeFile(file, data);
  return { r: await unpackArchive(file, kind, target, limits), root: work, target };
}

/** Every path below dir (relative), to show nothing was written beside the target. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    out.push(e.name);
    if (e.isDirectory()) out.push(...(await tree(path.join(dir, e.name))).map((p) => `${e.name}/${p}`));
  }
  return out.sort();
}

function refused(u: Unpacked, reason: RegExp): void {
  assert.equal(u.r.ok, false, `expected a refusal, got ${JSON.stringify(u.r)}`);
  if (!u.r.ok) assert.match(u.r.reason, reason);
}

test('a good zip: files and folders unpacked, the executable bit kept, the one top folder taken as the submission', async (t) => {
  const root = await tempRoot('unpack', t);
  const u = await unpack(
    root,
    'zip',
    zip([
      { name: 'alice/' },
      { name: 'alice/make-root.sh', body: '#!/bin/bash\necho hi\n', mode: 0o100755, deflate: true },
      { name: 'alice/notes/readme.txt', body: 'text' },
    ]),
  );
  assert.ok(u.r.ok, JSON.stringify(u.r));
  if (!u.r.ok) return;
  assert.equal(u.r.root, path.join(u.target, 'alice'));
  assert.equal(u.r.files, 2);
  assert.equal(await readFile(path.join(u.r.root, 'make-root.sh'), 'utf8'), '#!/bin/bash\necho hi\n');
  assert.equal((await stat(path.join(u.r.root, 'make-root.sh'))).mode & 0o777, 0o755);
  assert.equal((await stat(path.join(u.r.root, 'notes/readme.txt'))).mode & 0o777, 0o644);
});

test('a good tar.gz with files at its root (an empty one too): the target is the submission', async (t) => {
  const root = await tempRoot('unpack', t);
  const u = await unpack(
    root,
    'tar.gz',
    tarGz([
      { path: './', type: 'Directory' },
      { path: './make-root.sh', body: 'echo one\n', mode: 0o755 },
      { path: './same-port.sh', body: 'echo two\n', mode: 0o644 },
      { path: './notes/empty.txt' },
    ]),
  );
  assert.ok(u.r.ok, JSON.stringify(u.r));
  if (!u.r.ok) return;
  assert.equal(u.r.root, u.target);
  assert.deepEqual(await tree(u.target), ['make-root.sh', 'notes', 'notes/empty.txt', 'same-port.sh']);
  assert.equal((await stat(path.join(u.target, 'make-root.sh'))).mode & 0o111, 0o111);
});

const ATTACKS: Array<{ name: string; zip?: ZipEntry[]; tar?: TarEntry[]; reason: RegExp }> = [
  {
    name: 'zip: path traversal ../x',
    zip: [{ name: '../../escaped.txt', body: 'x' }],
    reason: /invalid relative path|climbs out/,
  },
  { name: 'zip: an absolute path', zip: [{ name: '/tmp/escaped.txt', body: 'x' }], reason: /absolute/ },
  {
    name: 'zip: a symbolic link to /etc',
    zip: [
      { name: 'etc', body: '/etc', mode: 0o120777 },
      { name: 'etc/passwd', body: 'x' },
    ],
    reason: /"etc" is a symbolic link/,
  },
  {
    name: 'zip: a symbolic link inside the submission (all links are refused)',
    zip: [
      { name: 'a.sh', body: 'x' },
      { name: 'b.sh', body: 'a.sh', mode: 0o120777 },
    ],
    reason: /symbolic link/,
  },
  { name: 'zip: a FIFO', zip: [{ name: 'pipe', mode: 0o010644 }], reason: /FIFO/ },
  { name: 'zip: a character device', zip: [{ name: 'mem', mode: 0o020644 }], reason: /character device/ },
  {
    name: 'zip: a backslash path',
    zip: [{ name: '..\\escaped.txt', body: 'x' }],
    reason: /invalid relative path|backslash|climbs out/,
  },
  {
    name: 'zip: an entry twice',
    zip: [
      { name: 'a.sh', body: 'x' },
      { name: 'a.sh', body: 'y' },
    ],
    reason: /twice/,
  },
  { name: 'tar: path traversal ../x', tar: [{ path: '../../escaped.txt', body: 'x' }], reason: /climbs out/ },
  { name: 'tar: traversal inside a path', tar: [{ path: 'a/../../escaped.txt', body: 'x' }], reason: /climbs out/ },
  { name: 'tar: an absolute path', tar: [{ path: '/tmp/escaped.txt', body: 'x' }], reason: /absolute/ },
  {
    name: 'tar: a symbolic link to /etc',
    tar: [
      { path: 'etc', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'etc/passwd', body: 'x' },
    ],
    reason: /"etc" is a symbolic link to "\/etc"/,
  },
  {
    name: 'tar: a hard link out',
    tar: [{ path: 'passwd', type: 'Link', linkpath: '/etc/passwd' }],
    reason: /hard link to "\/etc\/passwd"/,
  },
  {
    name: 'tar: a hard link inside (all links are refused)',
    tar: [
      { path: 'a', body: 'x' },
      { path: 'b', type: 'Link', linkpath: 'a' },
    ],
    reason: /hard link/,
  },
  {
    name: 'tar: a character device',
    tar: [{ path: 'mem', type: 'CharacterDevice', devmaj: 1, devmin: 1 }],
    reason: /character device/,
  },
  {
    name: 'tar: a block device',
    tar: [{ path: 'disk', type: 'BlockDevice', devmaj: 8, devmin: 0 }],
    reason: /block device/,
  },
  { name: 'tar: a FIFO', tar: [{ path: 'pipe', type: 'FIFO' }], reason: /FIFO/ },
  {
    name: 'tar: a file under a name that is already a file',
    tar: [
      { path: 'a', body: 'x' },
      { path: 'a/b', body: 'y' },
    ],
    reason: /twice|also a file/,
  },
];

for (const a of ATTACKS) {
  test(`refused: ${a.name}; nothing written outside the target`, async (t) => {
    const root = await tempRoot('unpack', t);
    const u = a.zip ? await unpack(root, 'zip', zip(a.zip)) : await unpack(root, 'tar.gz', tarGz(a.tar ?? []));
    refused(u, a.reason);
    // beside the target only the archive itself; no escaped file anywhere
    assert.deepEqual(
      (await tree(u.root)).filter((p) => !p.startsWith('a/target/') && p !== 'a/target'),
      ['a', path.basename((await readdir(u.root)).find((f) => f.startsWith('student')) ?? '')].sort(),
    );
    assert.equal(existsSync('/tmp/escaped.txt'), false);
    if (!u.r.ok) assert.match(u.r.reason, /^student\.(zip|tar\.gz) was not unpacked: /);
  });
}

const SMALL: UnpackLimits = { archiveBytes: 64 * 1024, entries: 5, fileBytes: 1000, totalBytes: 1500 };

test('caps: a zip whose entry announces more than the per-file cap is refused before unpacking', async (t) => {
  const root = await tempRoot('unpack', t);
  refused(
    await unpack(root, 'zip', zip([{ name: 'big', body: Buffer.alloc(2000), deflate: true }]), SMALL),
    /unpacks to 2 KiB, over the cap of 1 KiB per file/,
  );
});

test('caps: a zip whose header understates the size (a lying bomb) is stopped by the bytes really unpacked', async (t) => {
  const root = await tempRoot('unpack', t);
  const u = await unpack(
    root,
    'zip',
    zip([{ name: 'big', body: Buffer.alloc(200_000), deflate: true, declaredSize: 10 }]),
    SMALL,
  );
  refused(u, /too many bytes|more than 1 KiB, the cap per file/);
  const left = await stat(path.join(u.target, 'big')).catch(() => undefined);
  assert.ok(!left || left.size <= 64 * 1024, `at most a buffer's worth was written, not ${left?.size}`);
});

test('caps: the total unpacked size, over several files each under the per-file cap', async (t) => {
  const root = await tempRoot('unpack', t);
  refused(
    await unpack(
      root,
      'zip',
      zip([1, 2, 3].map((i) => ({ name: `f${i}`, body: Buffer.alloc(900), deflate: true }))),
      SMALL,
    ),
    /more than 2 KiB, the cap/,
  );
  refused(
    await unpack(root, 'tar.gz', tarGz([1, 2, 3].map((i) => ({ path: `f${i}`, body: Buffer.alloc(900) }))), SMALL),
    /more than 2 KiB, the cap/,
  );
});

test('caps: the number of entries', async (t) => {
  const root = await tempRoot('unpack', t);
  const many = Array.from({ length: 6 }, (_, i) => i);
  refused(
    await unpack(root, 'zip', zip(many.map((i) => ({ name: `f${i}`, body: 'x' }))), SMALL),
    /holds 6 files and folders, over the cap of 5/,
  );
  refused(
    await unpack(root, 'tar.gz', tarGz(many.map((i) => ({ path: `f${i}`, body: 'x' }))), SMALL),
    /more than 5 files and folders/,
  );
});

test('caps: the archive file itself', async (t) => {
  const root = await tempRoot('unpack', t);
  refused(await unpack(root, 'zip', Buffer.alloc(100 * 1024), SMALL), /the archive is 100 KiB, over the cap of 64 KiB/);
});

test('caps: a tar.gz bomb (a small gzip of a large tar) is refused', async (t) => {
  const root = await tempRoot('unpack', t);
  const bomb = tarGzBomb('zeros', 4 * 1024 * 1024);
  assert.ok(bomb.length < 64 * 1024, `the bomb is small: ${bomb.length} bytes`);
  refused(
    await unpack(root, 'tar.gz', bomb, SMALL),
    /unpacks to 4 MiB, over the cap|decompression ratio|more than 2 KiB/,
  );
});

test('not an archive: a clear reason, no crash', async (t) => {
  const root = await tempRoot('unpack', t);
  refused(
    await unpack(root, 'zip', Buffer.from('this is no zip file at all, just text that is long enough')),
    /not a readable \.zip archive/,
  );
  refused(await unpack(root, 'tar.gz', Buffer.from('this is no gzip file')), /not a gzip-compressed archive/);
  refused(await unpack(root, 'tar.gz', tarGz([]).subarray(0, 15)), /gzip|tar|end/i);
});
