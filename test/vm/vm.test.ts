/**
 * VM sandboxes (--isolation vm) booted for real: qemu with the kernel, initrd and root image of
 * images/vm/build.sh (run it first; scripts/test.sh does). Under TCG on a loaded machine a boot
 * takes from seconds to minutes, hence the long guards; nothing here is timed.
 *
 * - the Node contract over the guest agent: stdout, stderr, stdin, exit status, deadline, cap,
 *   copyIn; the VM's own kernel and the cgroup version chosen per VM;
 * - what the host sees: one qemu process, not root, in a cgroup of its own, and nothing of it
 *   once the sandbox is removed;
 * - faults: no kernel image, a guest agent that stops answering in the middle of a command, and
 *   kgrade killed with SIGKILL while its VMs run (the next `kgrade clean` removes them); the
 *   other faults are in vm-faults.test.ts.
 *
 * node --test --test-concurrency=1 dist/test/vm/
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import { stateDir, vmUid } from '../../src/config.js';
import { GraderError } from '../../src/errors.js';
import { nodeImageRef } from '../../src/env/images.js';
import { describeExec } from '../../src/node.js';
import { hostSpeedMs, paceOf } from '../../src/env/pace.js';
import { startSandbox, type Sandbox } from '../../src/env/sandbox/index.js';
import { vmCgroupDirs } from '../../src/env/sandbox/vm-cgroups.js';
import { vmImagesDir, vmImagesReady } from '../../src/env/sandbox/vm-images.js';
import { vmRuntime } from '../../src/env/sandbox/vm.js';
import { KGRADE_BIN, until } from '../helpers/grading.js';
import { REPO_ROOT } from '../../src/paths.js';

const RUN_ID = `vmtest-${process.pid}`;
const BOOT = { timeout: 600_000 };
const vmDir = (name: string) => path.join(stateDir(), 'vm', name);

before(() => {
  if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
});

const started: Sandbox[] = [];
async function vm(cgroup?: 'v1' | 'v2'): Promise<Sandbox> {
  const sb = await startSandbox('vm', {
    image: nodeImageRef(),
    runId: RUN_ID,
    purpose: 'vm-test',
    ...(cgroup ? { cgroup } : {}),
  });
  started.push(sb);
  return sb;
}

after(async () => {
  for (const sb of started) await sb.destroy().catch(() => undefined);
});

function qemuPidOf(name: string): number {
  return Number(readFileSync(path.join(vmDir(name), 'qemu.pid'), 'utf8').trim());
}

/** What a VM holds on the host while it exists: its folder, its qemu, its cgroups. Empty once it is gone. */
function hostTracesOf(name: string, pid: number): string[] {
  const traces: string[] = [];
  if (existsSync(vmDir(name))) traces.push(`folder ${vmDir(name)}`);
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name)) traces.push(`qemu ${pid}`);
  } catch {
    // gone
  }
  for (const dir of vmCgroupDirs(name)) if (existsSync(dir)) traces.push(`cgroup ${dir}`);
  return traces;
}

test(
  'a VM sandbox keeps the Node contract: stdout, stderr, stdin, exit status, deadline, output cap, copyIn',
  BOOT,
  async (t) => {
    const sb = await vm();
    t.diagnostic(`${sb.name}: kernel ${sb.kernel}, cgroup ${sb.cgroup}`);

    const r = await sb.exec(['bash', '-c', 'read line; echo "out:$line"; echo "err:$line" >&2; exit 7'], {
      stdin: 'hello\n',
    });
    assert.equal(r.code, 7, describeExec(r));
    assert.equal(r.stdout, 'out:hello\n');
    assert.equal(r.stderr, 'err:hello\n');
    assert.equal(r.timedOut, false);

    // 2 s of wall-clock time, whatever the VM's pace stretches a deadline to.
    const slow = await sb.exec(['bash', '-c', 'echo started; sleep 600'], { timeoutMs: hostSpeedMs(paceOf(sb), 2000) });
    assert.equal(slow.timedOut, true, describeExec(slow));
    assert.equal(slow.code, 124);
    assert.equal(slow.stdout, 'started\n');
    const left = await sb.exec(['bash', '-c', 'pgrep -x sleep || true']);
    assert.equal(left.stdout.trim(), '', `the command's session was not killed at its deadline: ${left.stdout}`);

    const big = await sb.exec(['bash', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x']);
    assert.equal(big.truncated, true);
    assert.equal(big.stdout.length, 1024 * 1024);

    const missing = await sb.exec(['bash', '-c', 'no-such-command']);
    assert.equal(missing.code, 127, describeExec(missing));

    // The guest's kernel is Debian's cloud kernel, not the host's.
    const uname = await sb.exec(['uname', '-r']);
    assert.equal(uname.stdout.trim(), sb.kernel);
    assert.notEqual(uname.stdout.trim(), os.release());

    // Booted with norandmaps: two processes map libc at one address, so that code TCG translated
    // for one serves the next (README: an exec costs a quarter of what it did).
    const maps = await sb.exec(['bash', '-c', 'for i in 1 2; do grep -m1 libc /proc/self/maps | cut -d- -f1; done']);
    const [first, second] = maps.stdout.trim().split('\n');
    assert.ok(first && first === second, `libc mapped at different addresses: ${describeExec(maps)}`);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmtest-'));
    try {
      await execa('bash', ['-c', `mkdir -p "$1/sub" && echo 'echo copied' > "$1/sub/run.sh"`, 'x', dir]);
      await sb.exec(['mkdir', '-p', '/submission']);
      await sb.copyIn(`${dir}/.`, '/submission');
      const ran = await sb.exec(['bash', '/submission/sub/run.sh']);
      assert.equal(ran.stdout, 'copied\n', describeExec(ran));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'on the host a VM is one qemu process, not root, in a cgroup of its own; removal leaves nothing',
  BOOT,
  async () => {
    const sb = await vm();
    const pid = qemuPidOf(sb.name);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    assert.deepEqual(uids, [vmUid(), vmUid(), vmUid(), vmUid()], `qemu runs as uids ${uids.join(' ')}`);
    assert.match(status, /^Seccomp:\s+2$/m, 'qemu runs without its seccomp filter');
    // Debian's qemu 7.2 dies of SIGSYS with -runas under elevateprivileges=deny (setuid comes after
    // the filter): what keeps it from regaining root is an unprivileged uid, no capabilities, no_new_privs.
    assert.match(status, /^NoNewPrivs:\s+1$/m, 'qemu can gain privileges through exec');
    assert.match(status, /^CapEff:\s+0+$/m, 'qemu holds capabilities');
    // Nothing of the host is shared into the VM: no shared folder, no network.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const shared of ['-virtfs', '-fsdev', '-netdev', '-net']) assert.ok(!argv.includes(shared), argv.join(' '));
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.ok(cgroups.includes(`/kgrade-vm/${sb.name}`), `qemu is not in its own cgroup:\n${cgroups}`);
    for (const dir of vmCgroupDirs(sb.name)) assert.ok(existsSync(dir), `${dir} missing`);
    assert.ok(hostTracesOf(sb.name, pid).length > 0);
    await sb.destroy();
    assert.deepEqual(hostTracesOf(sb.name, pid), []);
  },
);

test('cgroup v1 or v2 is chosen per VM on its kernel command line', BOOT, async () => {
  const [v1, v2] = await Promise.all([vm('v1'), vm('v2')]);
  assert.equal(v1.cgroup, 'v1');
  assert.equal(v2.cgroup, 'v2');
  const a = await v1.exec(['bash', '-c', 'test -e /sys/fs/cgroup/memory/memory.limit_in_bytes && echo v1']);
  assert.equal(a.stdout.trim(), 'v1', describeExec(a));
  const b = await v2.exec(['bash', '-c', 'cat /sys/fs/cgroup/cgroup.controllers']);
  assert.match(b.stdout, /memory/, describeExec(b));
  await Promise.all([v1.destroy(), v2.destroy()]);
});

test('a guest agent that stops answering in the middle of a command is a GraderError, not a result', BOOT, async () => {
  const sb = await vm();
  const pid = qemuPidOf(sb.name);
  const pending = sb.exec(['bash', '-c', 'sleep 3; echo late'], { timeoutMs: hostSpeedMs(paceOf(sb), 5000) });
  // The whole VM stops (as a hung guest would): the agent never answers.
  process.kill(pid, 'SIGSTOP');
  try {
    await assert.rejects(pending, (err: Error) => err instanceof GraderError && /stopped answering/.test(err.message));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // And a VM that dies under a command: the port closes, the command fails at once.
  const second = sb.exec(['sleep', '20']);
  process.kill(pid, 'SIGKILL');
  await assert.rejects(second, (err: Error) => err instanceof GraderError && /stopped answering/.test(err.message));
  await sb.destroy();
});

test('no kernel image: kgrade refuses with exit 3 and names what is missing and how to build it', BOOT, async () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmtest-cache-'));
  try {
    const r = await execa(
      'node',
      [
        KGRADE_BIN,
        'grade',
        path.join(REPO_ROOT, 'labs/ch01-isolation'),
        '--submission',
        path.join(REPO_ROOT, 'labs/ch01-isolation/reference'),
        '--isolation',
        'vm',
        '--no-build',
        '--out',
        path.join(empty, 'out'),
      ],
      {
        reject: false,
        env: { KGRADE_CACHE: empty },
        timeout: 300_000,
      },
    );
    assert.equal(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, /no VM kernel image: .*vmlinux.* missing; build them with images\/vm\/build\.sh/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test(
  'after SIGKILL of kgrade, `kgrade clean` removes its qemu processes, overlays, sockets and cgroups',
  BOOT,
  async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmtest-out-'));
    const child = spawn(
      'node',
      [
        KGRADE_BIN,
        'grade',
        path.join(REPO_ROOT, 'labs/ch01-isolation'),
        '--submission',
        path.join(REPO_ROOT, 'labs/ch01-isolation/reference'),
        '--isolation',
        'vm',
        '--no-build',
        '--jobs',
        '1',
        '--out',
        out,
      ],
      {
        stdio: 'ignore',
      },
    );
    const owned = () =>
      existsSync(path.join(stateDir(), 'vm'))
        ? readdirSync(path.join(stateDir(), 'vm')).filter((n) => {
            try {
              return Number(readFileSync(path.join(vmDir(n), 'owner'), 'utf8')) === child.pid;
            } catch {
              return false;
            }
          })
        : [];
    try {
      let names: string[] = [];
      await until(
        'a VM of the kgrade process',
        async () => {
          names = owned().filter((name) => existsSync(path.join(vmDir(name), 'qemu.pid')));
          return names.length > 0;
        },
        300_000,
      );
      const pids = names.map(qemuPidOf);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // The VM outlives its owner: that is what the reaper is for.
      assert.ok(
        names.some((name, i) => hostTracesOf(name, pids[i] ?? 0).some((tr) => tr.startsWith('qemu'))),
        'qemu died with kgrade: the test shows nothing',
      );
      const clean = await execa('node', [KGRADE_BIN, 'clean'], { reject: false, timeout: 120_000 });
      assert.equal(clean.exitCode, 0, clean.stderr);
      for (const name of names) assert.match(clean.stdout, new RegExp(name));
      names.forEach((name, i) => assert.deepEqual(hostTracesOf(name, pids[i] ?? 0), [], `${name} left traces`));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const name of owned()) await vmRuntime.remove(name);
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test(
  'a lab pinned to the cgroup version the host lacks is refused under --isolation userns with exit 3, naming --isolation vm',
  BOOT,
  async () => {
    const host = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
    const other = host === 'v1' ? 'v2' : 'v1';
    const parent = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmtest-lab-'));
    const dir = path.join(parent, 'ch01-isolation');
    try {
      cpSync(path.join(REPO_ROOT, 'labs/ch01-isolation'), dir, { recursive: true });
      // The lab's own pin (either) becomes the version this host lacks.
      const yaml = readFileSync(path.join(dir, 'lab.yaml'), 'utf8').replace(
        /^kernel:\n {2}cgroup: either$/m,
        `kernel:\n  cgroup: ${other}`,
      );
      assert.match(yaml, new RegExp(`^kernel:\\n {2}cgroup: ${other}$`, 'm'), 'the copied lab.yaml is not pinned');
      writeFileSync(path.join(dir, 'lab.yaml'), yaml);
      const r = await execa(
        'node',
        [
          KGRADE_BIN,
          'grade',
          dir,
          '--submission',
          path.join(dir, 'reference'),
          '--isolation',
          'userns',
          '--no-build',
          '--out',
          path.join(dir, 'out'),
        ],
        {
          reject: false,
          timeout: 300_000,
        },
      );
      assert.equal(r.exitCode, 3, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `assumes cgroup ${other} \\(lab.yaml kernel.cgroup\\) and this host runs cgroup ${host}: --isolation userns would grade it on the host's kernel, the wrong one; grade it with --isolation vm`,
        ),
      );
      assert.ok(!existsSync(path.join(dir, 'out', 'results.json')), 'it was graded all the same');
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  },
);

test(
  'a VM whose kernel panics (no usable initrd) is a GraderError naming qemu and the console, and leaves nothing',
  BOOT,
  async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vmtest-panic-'));
    const real = vmImagesDir();
    const saved = process.env['KGRADE_CACHE'];
    try {
      process.env['KGRADE_CACHE'] = cache;
      const dir = vmImagesDir();
      mkdirSync(dir, { recursive: true });
      for (const f of ['vmlinux', 'root.ext4', 'kernel.release', 'ready'])
        symlinkSync(path.join(real, f), path.join(dir, f));
      writeFileSync(path.join(dir, 'initrd.img'), 'not an initrd\n');
      const before = new Set(existsSync(path.join(stateDir(), 'vm')) ? readdirSync(path.join(stateDir(), 'vm')) : []);
      await assert.rejects(
        startSandbox('vm', { image: nodeImageRef(), runId: RUN_ID, purpose: 'vm-test panic' }),
        (err: Error) =>
          err instanceof GraderError &&
          /did not boot: qemu ended .*console:[\s\S]*(panic|Kernel panic|VFS)/i.test(err.message),
      );
      const after = readdirSync(path.join(stateDir(), 'vm')).filter(
        (n) => !before.has(n) && n.startsWith(`kgrade-${RUN_ID}-`),
      );
      assert.deepEqual(after, [], 'the VM that did not boot left its folder');
    } finally {
      if (saved === undefined) delete process.env['KGRADE_CACHE'];
      else process.env['KGRADE_CACHE'] = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  },
);
