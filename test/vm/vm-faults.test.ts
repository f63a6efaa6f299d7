/**
 * Faults of VM sandboxes, each through its real failure path with real qemu: no qemu binary, a
 * VM whose init dies (kernel panic), a VM that boots but whose agent never answers, a host cgroup
 * with no memory for the VM, and a VM that cannot be removed (set aside). Each is a GraderError,
 * an `error` scenario retried once and exit 3 for a grade, never a student's `failed`, and
 * leaves nothing on the host. The images of images/vm/build.sh must be built; the broken ones
 * here are copies with another initrd, in a KGRADE_CACHE of their own. The last tests hold the
 * guest agent to its duties as PID 1: signals it must survive, and an orphan's PID given to the
 * next command.
 *
 * flock /tmp/kgrade-heavy.lock node --test --test-concurrency=1 dist/test/vm/vm-faults.test.js
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
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import { stateDir } from '../../src/config.js';
import { GraderError } from '../../src/errors.js';
import { nodeImageRef } from '../../src/env/images.js';
import { startSandbox } from '../../src/env/sandbox/index.js';
import { vmCgroupDirs } from '../../src/env/sandbox/vm-cgroups.js';
import { vmImagesDir, vmImagesReady } from '../../src/env/sandbox/vm-images.js';
import { vmRuntime } from '../../src/env/sandbox/vm.js';
import type { GradeResult } from '../../src/grade/model.js';
import { withEnv } from '../helpers/env.js';
import { runCli } from '../helpers/grading.js';
import { script, writeLab, writeTree } from '../helpers/labs.js';

const RUN_ID = `vmfault-${process.pid}`;
const BOOT = { timeout: 600_000 };
const vmsDir = () => path.join(stateDir(), 'vm');

let root = '';
let lab = '';
let submission = '';

before(async () => {
  if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
  root = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmfault-'));
  lab = await writeLab(root, 'vm-fault', {
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
  submission = path.join(root, 'submission');
  await writeTree(submission, { 'run.sh': script('echo ran') });
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** VM folders of this process's sandboxes, or of the CLI runs it started. */
function vmFolders(prefix: string): string[] {
  return existsSync(vmsDir()) ? readdirSync(vmsDir()).filter((n) => n.startsWith(prefix)) : [];
}

/**
 * A KGRADE_CACHE whose VM images are the built ones but for the initrd, whose /init is `init`:
 * the real initrd unpacked, its /init replaced, packed again.
 */
async function cacheWithInit(init: string): Promise<string> {
  const cache = mkdtempSync(path.join(root, 'cache-'));
  const real = vmImagesDir();
  const saved = process.env['KGRADE_CACHE'];
  process.env['KGRADE_CACHE'] = cache;
  const dir = vmImagesDir();
  if (saved === undefined) delete process.env['KGRADE_CACHE'];
  else process.env['KGRADE_CACHE'] = saved;
  mkdirSync(dir, { recursive: true });
  for (const f of ['vmlinux', 'root.ext4', 'kernel.release', 'ready'])
    symlinkSync(path.join(real, f), path.join(dir, f));
  const unpacked = path.join(cache, 'initrd');
  mkdirSync(unpacked);
  await execa('bash', [
    '-c',
    'cd "$1" && gzip -dc "$2" | cpio -id --quiet',
    'x',
    unpacked,
    path.join(real, 'initrd.img'),
  ]);
  writeFileSync(path.join(unpacked, 'init'), `#!/bin/busybox sh\n${init}\n`, { mode: 0o755 });
  await execa('bash', [
    '-c',
    'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"',
    'x',
    unpacked,
    path.join(dir, 'initrd.img'),
  ]);
  return cache;
}

/** Grades the one-scenario lab with --isolation vm through the CLI; its results.json, if any. */
async function gradeCli(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; result?: GradeResult; pid: number }> {
  const out = mkdtempSync(path.join(root, 'out-'));
  const r = await runCli(
    ['grade', lab, '--submission', submission, '--isolation', 'vm', '--no-build', '--jobs', '1', '--out', out],
    { env, timeoutMs: 540_000 },
  );
  const file = path.join(out, 'results.json');
  return {
    code: r.code,
    stderr: r.stderr,
    pid: r.pid,
    ...(existsSync(file) ? { result: JSON.parse(readFileSync(file, 'utf8')) as GradeResult } : {}),
  };
}

function assertErrorRetried(g: { code: number | null; stderr: string; result?: GradeResult }, cause: RegExp): void {
  assert.equal(g.code, 3, g.stderr);
  assert.match(g.stderr, /retrying 1 scenario\(s\) that ended in a grader error/, g.stderr);
  const s = g.result?.scenarios[0] ?? assert.fail(`no results.json:\n${g.stderr}`);
  assert.equal(s.outcome, 'error', JSON.stringify(s));
  assert.equal(s.attempts, 2, 'the error was not retried');
  assert.match(s.message ?? '', cause, JSON.stringify(s));
  assert.match(s.notes.join('\n'), /first attempt: /, 'the first attempt is not noted');
}

test(
  'no qemu: KGRADE_QEMU names a binary that does not exist; the scenario is an error, retried, exit 3',
  BOOT,
  async () => {
    const g = await gradeCli({ KGRADE_QEMU: '/nonexistent/qemu-system-x86_64' });
    assertErrorRetried(
      g,
      /cannot start a VM sandbox: KGRADE_QEMU=\/nonexistent\/qemu-system-x86_64 cannot be run \(ENOENT\)/,
    );
    assert.deepEqual(
      vmFolders(`kgrade-`).filter((n) => readOwner(n) === g.pid),
      [],
    );
  },
);

function readOwner(name: string): number {
  try {
    return Number(readFileSync(path.join(vmsDir(), name, 'owner'), 'utf8'));
  } catch {
    return 0;
  }
}

test(
  'a VM whose init dies (kernel panic) is an error naming the panic, retried, exit 3, and leaves nothing',
  BOOT,
  async () => {
    const cache = await cacheWithInit('echo "kgrade-test: this init gives up"; exit 1');
    const g = await gradeCli({ KGRADE_CACHE: cache });
    assertErrorRetried(
      g,
      /did not boot: qemu ended \((exit \d+|SIG\w+)\)[\s\S]*Kernel panic - not syncing: Attempted to kill init/,
    );
    assert.deepEqual(
      vmFolders('kgrade-').filter((n) => readOwner(n) === g.pid),
      [],
    );
    assert.deepEqual(strayVmCgroups(), []);
  },
);

/** VM cgroups whose VM folder is gone: none may be left by a run. */
function strayVmCgroups(): string[] {
  const left: string[] = [];
  for (const dir of vmCgroupDirs('x')) {
    const parent = path.dirname(dir);
    if (!existsSync(parent)) continue;
    for (const e of readdirSync(parent, { withFileTypes: true }))
      if (e.isDirectory() && !existsSync(path.join(vmsDir(), e.name))) left.push(path.join(parent, e.name));
  }
  return left;
}

test(
  'a VM that boots but whose agent never answers: a GraderError at the boot deadline with its console, nothing left',
  BOOT,
  async () => {
    const cache = await cacheWithInit('echo "kgrade-test: no agent here"; exec /bin/busybox sleep 100000');
    await withEnv({ KGRADE_CACHE: cache, KGRADE_VM_BOOT_SECONDS: '20' }, async () => {
      await assert.rejects(
        startSandbox('vm', { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-fault no agent' }),
        (err: Error) =>
          err instanceof GraderError &&
          /did not boot: the guest agent of VM \S+ stopped answering: no reply to its hello within \d+ s; its console's last lines:[\s\S]*kgrade-test: no agent here/.test(
            err.message,
          ),
      );
    });
    assert.deepEqual(vmFolders(`kgrade-${RUN_ID}-`), []);
    assert.deepEqual(strayVmCgroups(), []);
  },
);

test(
  'the host out of memory for a VM (a cgroup above it refuses qemu the memory): an error that says so',
  BOOT,
  async (t) => {
    // kgrade-vm/ is the parent of every VM's cgroup: a limit there is a host with no memory left for VMs.
    const memoryParent = path.dirname(vmCgroupDirs('x')[0] ?? assert.fail('no memory cgroup for VMs'));
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const limitFile = path.join(memoryParent, v2 ? 'memory.max' : 'memory.limit_in_bytes');
    const existed = existsSync(memoryParent);
    mkdirSync(memoryParent, { recursive: true });
    const before = readFileSync(limitFile, 'utf8').trim();
    writeFileSync(limitFile, String(64 * 1024 ** 2));
    t.after(() => {
      if (!existsSync(memoryParent)) return;
      writeFileSync(limitFile, v2 ? before : '-1');
      if (!existed) {
        try {
          rmdirSync(memoryParent);
        } catch {
          // a VM of another run is in it
        }
      }
    });
    await assert.rejects(
      startSandbox('vm', { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-fault memory' }),
      (err: Error) => {
        t.diagnostic(err.message.split('\n')[0] ?? '');
        return (
          err instanceof GraderError &&
          /the host is out of memory for this VM: its qemu was killed by the out-of-memory killer in its cgroup \(.*kgrade-vm, limit 64 MiB\)/.test(
            err.message,
          )
        );
      },
    );
    assert.deepEqual(vmFolders(`kgrade-${RUN_ID}-`), []);
  },
);

test(
  'a VM that cannot be removed (its cgroup held by another process) is set aside, and `kgrade clean` removes it later',
  BOOT,
  async () => {
    const sb = await startSandbox('vm', { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-fault set aside' });
    const holder = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const memory = vmCgroupDirs(sb.name)[0] ?? assert.fail('no cgroup');
      writeFileSync(path.join(memory, 'cgroup.procs'), String(holder.pid));
      await assert.rejects(
        sb.destroy(),
        (err: Error) =>
          err instanceof GraderError &&
          /could not be removed .*it is set aside .*`kgrade clean` tries again/s.test(err.message),
      );
      assert.deepEqual(
        (await vmRuntime.setAside()).map((s) => s.name),
        [sb.name],
      );
      assert.ok(!(await vmRuntime.list()).some((s) => s.name === sb.name), 'list() still shows the VM set aside');
      assert.ok(!existsSync(path.join(vmsDir(), sb.name)), 'its folder (overlay, socket) was not removed');
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      const clean = await runCli(['clean'], { timeoutMs: 180_000 });
      assert.equal(clean.code, 0, clean.stderr);
      assert.match(clean.stdout, new RegExp(sb.name));
      assert.deepEqual(await vmRuntime.setAside(), []);
      for (const dir of vmCgroupDirs(sb.name)) assert.ok(!existsSync(dir), `${dir} left`);
    } finally {
      if (holder.exitCode === null) holder.kill('SIGKILL');
      await vmRuntime.remove(sb.name).catch(() => undefined);
    }
  },
);

test(
  'a command cannot stop the guest agent (PID 1) with a signal, and gets the default signal actions itself',
  BOOT,
  async (t) => {
    const sb = await startSandbox('vm', { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-fault signals' });
    try {
      // Before the agent kept the default action for SIGINT, `kill -INT 1` ended it, and the VM with it.
      for (const sig of ['INT', 'TERM', 'HUP', 'QUIT', 'USR1', 'USR2', 'PIPE', 'ALRM']) {
        const r = await sb.exec(['bash', '-c', `kill -${sig} 1; sleep 0.5; echo sent ${sig}`]);
        assert.equal(r.stdout, `sent ${sig}\n`, JSON.stringify(r));
      }
      const alive = await sb.exec(['echo', 'alive']);
      assert.equal(alive.stdout, 'alive\n');
      // A writer to a closed pipe dies of SIGPIPE, as on any other node (the agent's Python ignores it).
      const pipe = await sb.exec(['bash', '-c', 'yes | head -n 1; echo "${PIPESTATUS[0]}"']);
      t.diagnostic(JSON.stringify(pipe));
      assert.equal(pipe.stdout, 'y\n141\n', JSON.stringify(pipe));
      assert.equal(pipe.stderr, '');
    } finally {
      await sb.destroy();
    }
  },
);

test(
  "an orphan's exit status is never a later command's, when that command is given the orphan's PID",
  BOOT,
  async (t) => {
    const sb = await startSandbox('vm', { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-fault orphan pid' });
    try {
      let reused = 0;
      // PIDs taken between the write and the command's spawn: the agent's thread for the request
      // takes one (CI saw the command get the orphan's PID + 1 with none allowed for); learnt anew
      // from each round that misses.
      let between = 1;
      for (let round = 0; round < 6 && reused < 2; round++) {
        // A background subshell outlives its script: the agent (PID 1) reaps it, exit status 7.
        const start = await sb.exec(['bash', '-c', '(sleep 0.3; exit 7) & echo $!']);
        const orphan = Number(start.stdout.trim());
        assert.ok(orphan > 1, JSON.stringify(start));
        await sb.exec(['sleep', '1']);
        // The orphan's PID is free again: the next command is given it.
        const set = await sb.exec(['bash', '-c', `echo ${orphan - 1 - between} > /proc/sys/kernel/ns_last_pid`]);
        assert.equal(set.code, 0, JSON.stringify(set));
        const later = await sb.exec(['bash', '-c', 'echo $$; exit 3']);
        t.diagnostic(`round ${round}: orphan ${orphan}, later command ${later.stdout.trim()} exit ${later.code}`);
        // Before the agent kept only its commands' statuses, this command was handed the orphan's 7.
        assert.equal(later.code, 3, JSON.stringify(later));
        const got = Number(later.stdout.trim());
        if (got === orphan) reused++;
        else if (Number.isInteger(got) && Math.abs(got - orphan) < 8) between += got - orphan;
      }
      assert.ok(reused > 0, "no round gave the later command the orphan's PID: the test showed nothing");
    } finally {
      await sb.destroy();
    }
  },
);
