/** The userns root kgrade finds in its cache when Docker cannot answer (userns-rootfs.ts). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasPreparedRootfs, preparedRootfs } from '../../src/env/sandbox/userns-rootfs.js';

const cache = mkdtempSync(path.join(os.tmpdir(), 'kgrade-unit-rootfs-'));
const saved = process.env.KGRADE_CACHE;
process.env.KGRADE_CACHE = cache;
after(() => {
  if (saved === undefined) delete process.env.KGRADE_CACHE;
  else process.env.KGRADE_CACHE = saved;
  rmSync(cache, { recursive: true, force: true });
});

function entry(name: string, image: string, env?: string[], mtime = Date.now() / 1000): string {
  const dir = path.join(cache, 'userns-rootfs', name);
  mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
  writeFileSync(path.join(dir, 'complete'), `${image} sha256:${name}\n`);
  if (env) writeFileSync(path.join(dir, 'env.json'), JSON.stringify(env));
  utimesSync(dir, mtime, mtime);
  return dir;
}

test('a prepared root is found by image and id base, the newest first; one without its environment is not', () => {
  assert.equal(preparedRootfs('kgrade/node:a', 100000), undefined);
  assert.equal(hasPreparedRootfs('kgrade/node:a'), false);
  entry('0000000000000001-100000', 'kgrade/node:a', ['PATH=/old'], 1_000_000);
  const newer = entry('0000000000000002-100000', 'kgrade/node:a', ['PATH=/new']);
  entry('0000000000000003-165536', 'kgrade/node:a');
  entry('0000000000000004-100000', 'kgrade/node:b', ['PATH=/b']);
  assert.deepEqual(preparedRootfs('kgrade/node:a', 100000), { dir: path.join(newer, 'rootfs'), env: ['PATH=/new'] });
  assert.equal(preparedRootfs('kgrade/node:a', 165536), undefined, 'an entry without env.json was taken');
  assert.equal(preparedRootfs('kgrade/node:c', 100000), undefined);
  assert.equal(preparedRootfs('kgrade/node:a', 10000), undefined, 'a base was matched as a suffix of another');
  assert.equal(hasPreparedRootfs('kgrade/node:a'), true);
  assert.equal(hasPreparedRootfs('kgrade/node:c'), false);
});
