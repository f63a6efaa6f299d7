import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, cp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { hashFiles, kgradeVersion, labHash, submissionHash } from '../../src/batch/provenance.js';
import { loadLab } from '../../src/lab/load.js';
import { REPO_ROOT } from '../../src/paths.js';
import { script, tempRoot, writeTree } from '../helpers/labs.js';

test('hashFiles: the same files in any order give one hash; a path, kind or content change gives another', () => {
  const a = { path: 'a.sh', kind: 'executable' as const, sha256: '1' };
  const b = { path: 'dir/b', kind: 'file' as const, sha256: '2' };
  const h = hashFiles([a, b]);
  assert.equal(hashFiles([b, a]), h);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.notEqual(hashFiles([{ ...a, path: 'c.sh' }, b]), h);
  assert.notEqual(hashFiles([{ ...a, kind: 'file' }, b]), h);
  assert.notEqual(hashFiles([{ ...a, sha256: '3' }, b]), h);
  assert.notEqual(hashFiles([a]), h);
  // no ambiguity between a path holding the separator and two fields
  assert.notEqual(
    hashFiles([{ path: 'x\0file', kind: 'file', sha256: 'y' }]),
    hashFiles([{ path: 'x', kind: 'file', sha256: 'file\0y' }]),
  );
});

test('submissionHash: content and names, not where the folder is or when it was written', async (t) => {
  const root = await tempRoot('prov', t);
  const one = path.join(root, 'one');
  await writeTree(one, { 'make-root.sh': script('echo a'), 'lib/x.txt': 'x' });
  const h = await submissionHash(one);
  const two = path.join(root, 'elsewhere', 'two');
  await cp(one, two, { recursive: true });
  assert.equal(await submissionHash(two), h, 'a copy elsewhere: the same hash');
  await writeFile(path.join(two, 'lib/x.txt'), 'y');
  assert.notEqual(await submissionHash(two), h, 'another content');
  await writeFile(path.join(two, 'lib/x.txt'), 'x');
  assert.equal(await submissionHash(two), h, 'back to the same content');
  await chmod(path.join(two, 'make-root.sh'), 0o644);
  assert.notEqual(await submissionHash(two), h, 'the executable bit counts');
  await chmod(path.join(two, 'make-root.sh'), 0o755);
  await rename(path.join(two, 'lib/x.txt'), path.join(two, 'lib/y.txt'));
  assert.notEqual(await submissionHash(two), h, 'a renamed file');
});

test('submissionHash: a link is hashed by its target, never followed; a FIFO is skipped, not read (which would hang)', async (t) => {
  const root = await tempRoot('prov', t);
  const dir = path.join(root, 's');
  await writeTree(dir, { 'a.sh': 'x' });
  const before = await submissionHash(dir);
  await symlink('/etc/passwd', path.join(dir, 'link'));
  const linked = await submissionHash(dir);
  assert.notEqual(linked, before);
  execFileSync('mkfifo', [path.join(dir, 'pipe')]);
  assert.equal(await submissionHash(dir), linked);
});

test('labHash: lab.yaml, features and fixtures count; reference/ and wrong/ do not', async (t) => {
  const root = await tempRoot('prov', t);
  const dir = path.join(root, 'ch01-isolation');
  await cp(path.join(REPO_ROOT, 'labs/ch01-isolation'), dir, { recursive: true });
  const h = await labHash(await loadLab(dir));
  assert.match(h, /^[0-9a-f]{64}$/);
  await writeFile(path.join(dir, 'reference', 'extra.txt'), 'not part of the lab content');
  await writeFile(path.join(dir, 'wrong', 'same-page-twice', 'make-root.sh'), 'changed');
  assert.equal(await labHash(await loadLab(dir)), h);
  await writeFile(
    path.join(dir, 'features', 'chroot.feature'),
    `${await readFile(path.join(dir, 'features', 'chroot.feature'), 'utf8')}\n`,
  );
  const changed = await labHash(await loadLab(dir));
  assert.notEqual(changed, h, 'a feature changed');
  await writeTree(dir, { 'fixtures/web.yaml': 'kind: ConfigMap\n' });
  assert.notEqual(await labHash(await loadLab(dir)), changed, 'a fixture added');
});

test('kgradeVersion: the version in package.json', async () => {
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(await kgradeVersion(), pkg.version);
});
