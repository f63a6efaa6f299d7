/**
 * `kgrade clean` removes the private submission copies of runs that died (their owner's PID is
 * gone, or they never got an owner file and are over a minute old) and keeps those of live runs;
 * and a library user's sandboxes go with its process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from '../../src/vendor/execa.js';
import { hostTracesOf, removeSandboxes, runCli, sandboxesOwnedBy } from '../helpers/grading.js';

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

test('a program using kgrade as a library that ends without removing its sandbox leaves none behind', {
  timeout: 180_000,
}, async (t) => {
  // the compiled modules this test file sits beside: dist/test/integration -> dist/src
  const src = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/')).href;
  const program = `
    const { startSandbox } = await import(${JSON.stringify(`${src}env/sandbox/index.js`)});
    const { nodeImageRef } = await import(${JSON.stringify(`${src}env/images.js`)});
    const sb = await startSandbox('userns', { image: nodeImageRef(), runId: 'libexit-' + process.pid, purpose: 'library-exit-test' });
    const r = await sb.exec(['true']);
    process.stdout.write(sb.name + ' ' + r.code + '\\n');
    // no sb.destroy(): the program just ends, as one whose assertion failed does
  `;
  const running = execa(process.execPath, ['--input-type=module', '-e', program], { reject: false, timeout: 150_000 });
  const pid = running.pid ?? -1;
  const child = await running;
  const [name = '', code] = child.stdout.trim().split(' ');
  t.after(() => removeSandboxes([name]));
  assert.equal(child.exitCode, 0, `${child.stderr}`);
  assert.equal(code, '0', child.stdout);
  assert.ok(name.length > 0, child.stdout);
  assert.deepEqual(await sandboxesOwnedBy([pid]), [], 'no sandbox of the ended program is listed');
  assert.deepEqual(hostTracesOf(name), [], 'and nothing of it is left on the host');
});
