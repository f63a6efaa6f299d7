/**
 * VM sandboxes started from a saved booted node (src/env/sandbox/vm-snapshot.ts), with real qemu:
 * the first start saves the node, later ones take it back with `qemu -incoming`; each VM still has
 * its own disk, its clock and fresh randomness; a state qemu will not take back falls back to a
 * boot; a run killed while saving leaves nothing the next run does not remove. Each case uses a
 * KGRADE_CACHE of its own whose images are the built ones, so the saved node is made here.
 *
 * flock /tmp/kgrade-heavy.lock node --test --test-concurrency=1 dist/test/vm/vm-snapshot.test.js
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stateDir } from '../../src/config.js';
import { nodeImageRef } from '../../src/env/images.js';
import { startSandbox, type Sandbox } from '../../src/env/sandbox/index.js';
import { vmCgroupDirs } from '../../src/env/sandbox/vm-cgroups.js';
import { vmImagesDir, vmImagesReady } from '../../src/env/sandbox/vm-images.js';
import { withEnv } from '../helpers/env.js';
import { runCli } from '../helpers/grading.js';
import { script, writeLab, writeTree } from '../helpers/labs.js';

const RUN_ID = `vmsnap-${process.pid}`;
const BOOT = { timeout: 600_000 };
const vmsDir = () => path.join(stateDir(), 'vm');

let root = '';

before(() => {
  if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
  root = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmsnap-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A KGRADE_CACHE whose VM images are links to the built ones, with no saved node yet; its images folder. */
function freshCache(): { cache: string; images: string } {
  const cache = mkdtempSync(path.join(root, 'cache-'));
  const real = vmImagesDir();
  const images = path.join(cache, 'vm', path.basename(real));
  mkdirSync(images, { recursive: true });
  for (const f of ['vmlinux', 'initrd.img', 'root.ext4', 'kernel.release', 'ready'])
    symlinkSync(path.join(real, f), path.join(images, f));
  return { cache, images };
}

/** The saved nodes under an images folder: finished ones, and those being made (`.new-*`). */
function snapshots(images: string): string[] {
  const dir = path.join(images, 'snapshots');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** The command line qemu of a VM sandbox runs with, read from /proc while it runs. */
function qemuCommandLine(name: string): string[] {
  const pid = readFileSync(path.join(vmsDir(), name, 'qemu.pid'), 'utf8').trim();
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

async function sh(node: Sandbox, command: string): Promise<string> {
  const r = await node.exec(['bash', '-c', command]);
  assert.equal(r.code, 0, `${command}: ${r.stderr}`);
  return r.stdout.trim();
}

function vmFolders(prefix: string): string[] {
  return existsSync(vmsDir()) ? readdirSync(vmsDir()).filter((n) => n.startsWith(prefix)) : [];
}

function saveFolders(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith('kgrade-vm-save-'));
}

test(
  'the first VM saves the booted node; the next start from it, each with its own disk, clock and randomness',
  BOOT,
  async () => {
    const { cache, images } = freshCache();
    const savesBefore = saveFolders();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersBefore = timers();
    await withEnv({ KGRADE_CACHE: cache }, async () => {
      const opts = { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-snapshot test' };
      const a = await startSandbox('vm', opts);
      let b: Sandbox | undefined;
      try {
        const saved = snapshots(images);
        assert.equal(saved.length, 1, `one saved node in ${images}/snapshots: ${saved.join(', ')}`);
        for (const f of ['ready', 'state', 'overlay.qcow2'])
          assert.ok(existsSync(path.join(images, 'snapshots', saved[0] ?? '', f)), `the saved node has its ${f}`);
        assert.ok(qemuCommandLine(a.name).includes('-incoming'), 'the first VM was started from the node it saved');

        await sh(a, 'echo from-a > /root/mark');
        const aUuid = await sh(a, 'cat /proc/sys/kernel/random/uuid');
        const aBytes = await sh(a, 'head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"');

        b = await startSandbox('vm', opts);
        assert.ok(qemuCommandLine(b.name).includes('-incoming'), 'the second VM was started from the saved node');
        assert.deepEqual(snapshots(images), saved, 'the node was saved once');
        // Its own disk: what another VM wrote is not there.
        assert.equal(await sh(b, 'cat /root/mark 2>/dev/null || echo none'), 'none');
        // The node as kgrade sets it up: its network was set up before it was saved.
        assert.match(await sh(b, 'ip -br link show eth0; ip netns list'), /eth0@\S+\s+UP[\s\S]*kgrade-lan/);
        // The host's clock, not the one the node was saved with.
        const guestNow = Number(await sh(b, 'date +%s'));
        assert.ok(Math.abs(guestNow - Date.now() / 1000) < 120, `the guest's clock (${guestNow}) is the host's`);
        // Randomness of its own: two VMs from one saved state would otherwise draw the same bytes.
        assert.notEqual(await sh(b, 'cat /proc/sys/kernel/random/uuid'), aUuid);
        assert.notEqual(await sh(b, 'head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"'), aBytes);
        assert.equal(b.kernel, a.kernel);
        assert.equal(b.cgroup, a.cgroup);
      } finally {
        await a.destroy();
        await b?.destroy();
      }
    });
    assert.deepEqual(vmFolders(`kgrade-${RUN_ID}-`), [], 'no VM folder left');
    assert.deepEqual(vmFolders(`kgrade-snapshot-${process.pid}-`), [], 'the VM that saved the node is gone');
    // A timer left armed keeps the process running: a grade that made the snapshot once ended two minutes late.
    assert.ok(timers() <= timersBefore, `no timer is left armed (${timersBefore} before, ${timers()} after)`);
    assert.deepEqual(
      snapshots(images).filter((n) => n.startsWith('.new-')),
      [],
      'no half-made saved node',
    );
    assert.deepEqual(
      saveFolders().filter((f) => !savesBefore.includes(f)),
      [],
      'no socket folder of the save left in /tmp',
    );
  },
);

test('a run killed while it saves the node leaves nothing that the next run does not remove', BOOT, async () => {
  const { cache, images } = freshCache();
  const lab = await writeLab(root, 'vm-snapshot', {
    features: {
      'run.feature': `Feature: one scenario in a VM
  @points:1
  Scenario: the script runs
    run.sh prints ran.

    When the submission's "run.sh" runs
    Then its output is "ran"
`,
    },
  });
  const submission = path.join(root, 'submission');
  await writeTree(submission, { 'run.sh': script('echo ran') });
  const args = ['grade', lab, '--submission', submission, '--isolation', 'vm', '--no-build', '--jobs', '1'];
  const env = { ...process.env, KGRADE_CACHE: cache };
  const child = spawn(process.execPath, [path.resolve('bin/kgrade.js'), ...args, '--out', path.join(root, 'killed')], {
    env,
    stdio: 'ignore',
  });
  const pid = child.pid ?? 0;
  // Killed once the node is being saved: the VM that saves it runs and its folder of the save exists.
  const until = Date.now() + 300_000;
  while (!snapshots(images).some((n) => n.startsWith(`.new-${pid}-`)) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  const making = snapshots(images).filter((n) => n.startsWith(`.new-${pid}-`));
  assert.equal(making.length, 1, `the run started saving a node within 300 s (saw ${snapshots(images).join(', ')})`);
  while (vmFolders(`kgrade-snapshot-${pid}-`).length === 0 && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  const vm = vmFolders(`kgrade-snapshot-${pid}-`);
  assert.equal(vm.length, 1, 'the VM that saves the node was started');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const out = path.join(root, 'next');
  const r = await runCli([...args, '--out', out], { env: { KGRADE_CACHE: cache }, timeoutMs: 540_000 });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as { score: number };
  assert.equal(result.score, 1);
  assert.deepEqual(vmFolders(`kgrade-snapshot-${pid}-`), [], 'the killed run’s VM was reaped');
  for (const dir of vmCgroupDirs(vm[0] ?? '')) assert.equal(existsSync(dir), false, `${dir} was removed`);
  const left = snapshots(images);
  assert.ok(!left.includes(making[0] ?? ''), `the killed run's half-made node was removed (left: ${left.join(', ')})`);
  assert.equal(left.filter((n) => !n.startsWith('.')).length, 1, 'the next run saved the node');
});

test('a saved state that qemu will not take back: the VM boots instead, says so, and works', BOOT, async () => {
  const { cache, images } = freshCache();
  await withEnv({ KGRADE_CACHE: cache }, async () => {
    const opts = { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-snapshot test' };
    const first = await startSandbox('vm', opts);
    await first.destroy();
    const [saved] = snapshots(images);
    truncateSync(path.join(images, 'snapshots', saved ?? '', 'state'), 4096);
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      said.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    let node: Sandbox | undefined;
    try {
      node = await startSandbox('vm', opts);
      assert.ok(!qemuCommandLine(node.name).includes('-incoming'), 'the VM was booted');
      assert.equal(await sh(node, 'echo ok; ip netns list | grep -c kgrade-lan'), 'ok\n1');
    } finally {
      process.stderr.write = write;
      await node?.destroy();
    }
    assert.ok(
      said.some((l) =>
        /VM sandboxes boot their kernel each time, slower: no saved node to start them from \(VM \S+ did not boot/.test(
          l,
        ),
      ),
      `kgrade said why: ${said.join('')}`,
    );
  });
  assert.deepEqual(vmFolders(`kgrade-${RUN_ID}-`), [], 'no VM folder left');
});
