/**
 * `kgrade clean` removes the private submission copies of runs that died (their owner's PID is
 * gone, or they never got an owner file and are over a minute old) and keeps those of live runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/grading.js';

async function copy(name: string, owner?: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `kgrade-sub-${name}-`));
  await mkdir(path.join(dir, 'files'));
  await writeFile(path.join(dir, 'files', 'run.sh'), 'echo hello\n', { mode: 0o444 });
  if (owner !== undefined) await writeFile(path.join(dir, 'owner'), `${owner}\n`);
  return dir;
}

test('kgrade clean removes the submission copies of dead runs and keeps the live ones', {
  timeout: 120_000,
}, async (t) => {
  const gone = spawnSync('true').pid;
  assert.ok(gone > 0);
  const dead = await copy('clean-dead', gone);
  const ownerless = await copy('clean-ownerless');
  const past = new Date(Date.now() - 120_000);
  await utimes(ownerless, past, past);
  const fresh = await copy('clean-fresh');
  const live = await copy('clean-live', process.pid);
  t.after(() => Promise.all([dead, ownerless, fresh, live].map((d) => rm(d, { recursive: true, force: true }))));

  const r = await runCli(['clean'], { timeoutMs: 100_000 });
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.includes('submission copy(ies) of dead runs')) ?? '';
  assert.ok(line.includes(dead) && line.includes(ownerless), r.stdout);
  assert.equal(existsSync(dead), false, 'the copy of a dead run is removed');
  assert.equal(existsSync(ownerless), false, 'an ownerless copy over a minute old is removed');
  assert.equal(existsSync(fresh), true, 'an ownerless copy just made (its run may be writing its owner) stays');
  assert.equal(existsSync(live), true, 'the copy of a live run stays');
});
