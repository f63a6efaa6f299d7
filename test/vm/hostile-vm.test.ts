/**
 * The hostile routes of test/integration/hostile.test.ts, against a VM sandbox (--isolation vm).
 * Inside a VM the submission is root of a kernel of its own: most routes are open there (it may
 * write its sysctls, mount its cgroups, its disk, write /sys and sysrq). What each test shows is
 * that the route reaches the guest's kernel and the guest's own disk, never the host's: the write
 * took effect inside (read back in the guest, so a missing boundary would show on the host) and
 * the host's own file, setting, process or disk, read by this process, is unchanged.
 *
 * One VM serves every route (each route leaves the guest as it found it, or changes only what
 * no later route reads): a boot under TCG costs seconds to tens of seconds.
 *
 * What the test changes on the host only if the boundary failed is put back in finally blocks
 * (kernel.core_pattern, vm.swappiness, fs.pipe-max-size, transparent_hugepage, release_agent).
 * The only sysrq key written is h (help), in the guest.
 *
 * node --test --test-concurrency=1 dist/test/vm/hostile-vm.test.js
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stateDir, vmUid } from '../../src/config.js';
import { nodeImageRef } from '../../src/env/images.js';
import { describeExec, sh, shellQuote, type ExecResult } from '../../src/node.js';
import { startSandbox, type Sandbox } from '../../src/env/sandbox/index.js';
import { vmCgroupDirs } from '../../src/env/sandbox/vm-cgroups.js';
import { vmImages, vmImagesReady } from '../../src/env/sandbox/vm-images.js';
import {
  bracketed,
  HostSetting,
  hostAlive,
  hostKernelLog,
  hostPidsWithArgv,
  hostRootDevice,
  randomTag,
  readHost,
  startHostDecoy,
  chrootClimbScript,
} from '../helpers/hostile.js';

const T = { timeout: 120_000 };
const BOOT = { timeout: 600_000 };

let sb: Sandbox | undefined;
function vm(): Sandbox {
  if (!sb) throw new Error('the VM sandbox did not start (see the first test)');
  return sb;
}

before(() => {
  if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
});

after(async () => {
  await sb?.destroy();
});

const PRELUDE = `
try() { local label=$1 out; shift; if out=$("$@" 2>&1); then echo "OK $label: \${out//$'\\n'/ | }"; else echo "NO $label: \${out//$'\\n'/ | }"; fi; }
put() { printf '%s\\n' "$1" > "$2"; }
`;

function show(t: TestContext, r: ExecResult): void {
  for (const line of r.stdout.trimEnd().split('\n')) if (line.trim()) t.diagnostic(line);
}

const seen = (r: ExecResult) => `\nin the VM: ${describeExec(r)}`;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The line "WORD LABEL: rest" of a script's output, its rest; undefined when absent. */
function lineOf(r: ExecResult, word: string, label: string): string | undefined {
  return new RegExp(`^${word} ${escapeRe(label)}: ?(.*)$`, 'm').exec(r.stdout)?.[1];
}

function qemuPidOf(name: string): number {
  return Number(readFileSync(path.join(stateDir(), 'vm', name, 'qemu.pid'), 'utf8').trim());
}

test('vm: a VM sandbox starts and runs a command as root of its own kernel', BOOT, async (t) => {
  sb = await startSandbox('vm', { image: nodeImageRef(), runId: `hostile-vm-${process.pid}`, purpose: 'hostile-test' });
  const r = await sh(sb, 'echo alive; id -u; uname -r', { timeoutMs: 30_000 });
  t.diagnostic(`${sb.name}: ${r.stdout.replaceAll('\n', ' ')}`);
  assert.equal(r.stdout, `alive\n0\n${sb.kernel}\n`, describeExec(r));
});

// --- sysctls: kernel.core_pattern, vm.swappiness, fs.pipe-max-size ------------------------------

/** A value for the guest to write: not the host's, not what the guest has now. */
function otherThan(values: string[], candidates: string[]): string {
  const v = candidates.find((c) => !values.includes(c));
  assert.ok(v, `a test value besides ${values.join(', ')}`);
  return v;
}

async function sysctlRoute(t: TestContext, file: string, candidates: string[]): Promise<void> {
  const key = path.relative('/proc/sys', file).replaceAll('/', '.');
  const setting = new HostSetting(file);
  try {
    const guestNow = (await sh(vm(), `cat ${file}`, { timeoutMs: 20_000 })).stdout.trim();
    const a = otherThan([setting.original, guestNow], candidates);
    const b = otherThan([setting.original, guestNow, a], candidates);
    const rel = path.relative('/proc', file);
    const script = `${PRELUDE}try sys put ${shellQuote(a)} /proc/${rel}
echo "READ sys: $(cat /proc/${rel})"
mkdir -p /tmp/kgx-proc
try mount mount -t proc proc /tmp/kgx-proc
try fresh put ${shellQuote(b)} /tmp/kgx-proc/${rel}
echo "READ fresh: $(cat /tmp/kgx-proc/${rel})"
umount /tmp/kgx-proc
put ${shellQuote(guestNow)} /proc/${rel}`;
    const r = await sh(vm(), script, { timeoutMs: 30_000 });
    const hostSaw = setting.current();
    show(t, r);
    t.diagnostic(`host ${key}: ${JSON.stringify(setting.original)} -> ${JSON.stringify(hostSaw)}`);
    // The route is open inside: the guest's kernel took both writes.
    assert.ok(lineOf(r, 'OK', 'sys') !== undefined, `the guest wrote its ${key} through /proc/sys${seen(r)}`);
    assert.equal(lineOf(r, 'READ', 'sys'), a, `the guest's ${key} read back as written${seen(r)}`);
    assert.ok(lineOf(r, 'OK', 'fresh') !== undefined, `the guest wrote its ${key} through a fresh procfs${seen(r)}`);
    assert.equal(lineOf(r, 'READ', 'fresh'), b, `the guest's ${key} read back as written${seen(r)}`);
    // ...and it is the guest's own: the host's is what it was.
    assert.equal(hostSaw, setting.original, `the host's ${key} is unchanged${seen(r)}`);
  } finally {
    setting.restore();
  }
}

test(
  "vm: kernel.core_pattern written in the guest (through /proc/sys and a fresh procfs) is the guest's; the host's is unchanged",
  T,
  (t) => {
    const tag = randomTag();
    return sysctlRoute(t, '/proc/sys/kernel/core_pattern', [`kgx-core-${tag}`, `kgx-core-${tag}-b`]);
  },
);

test(
  "vm: vm.swappiness and fs.pipe-max-size written in the guest are the guest's; the host's are unchanged",
  T,
  async (t) => {
    await sysctlRoute(t, '/proc/sys/vm/swappiness', ['17', '23', '29', '31']);
    await sysctlRoute(t, '/proc/sys/fs/pipe-max-size', ['2097152', '4194304', '8388608']);
  },
);

// --- the cgroup v1 release_agent ------------------------------------------------------------

test(
  "vm: the guest mounts a cgroup v1 hierarchy and writes its release_agent; the host's release agents and hierarchies are unchanged",
  T,
  async (t) => {
    const agents = readdirSync('/sys/fs/cgroup')
      .map((d) => `/sys/fs/cgroup/${d}/release_agent`)
      .filter((f) => existsSync(f))
      .map((f) => new HostSetting(f));
    // Each controller's hierarchy and whether it is enabled; not its count of cgroups, which the
    // host's own cgroups (a VM's removed beside this test, a dying memory cgroup freed) change.
    const hierarchies = () =>
      readHost('/proc/cgroups')
        .split('\n')
        .map((line) => {
          const [name, hierarchy, , enabled] = line.split('\t');
          return `${name}\t${hierarchy}\t${enabled}`;
        })
        .join('\n');
    const before = hierarchies();
    const agent = `/kgx-release-agent-${randomTag()}`;
    const script = `${PRELUDE}mkdir -p /mnt/kgx-cg
try mount mount -t cgroup -o none,name=kgx cgroup /mnt/kgx-cg
try write put ${agent} /mnt/kgx-cg/release_agent
echo "READ agent: $(cat /mnt/kgx-cg/release_agent)"
try notify put 1 /mnt/kgx-cg/notify_on_release
put '' /mnt/kgx-cg/release_agent
umount /mnt/kgx-cg
true`;
    try {
      const r = await sh(vm(), script, { timeoutMs: 30_000 });
      show(t, r);
      assert.ok(lineOf(r, 'OK', 'mount') !== undefined, `the guest mounted a cgroup v1 hierarchy of its own${seen(r)}`);
      assert.equal(lineOf(r, 'READ', 'agent'), agent, `the guest's release_agent took the write${seen(r)}`);
      for (const a of agents) assert.equal(a.current(), a.original, `the host's ${a.file} is unchanged${seen(r)}`);
      assert.ok(!hierarchies().includes('kgx'), `the host has no hierarchy named kgx${seen(r)}`);
      assert.equal(hierarchies(), before, `the host's /proc/cgroups is unchanged${seen(r)}`);
    } finally {
      for (const a of agents) a.restore();
    }
  },
);

// --- disks: mounting the root disk, reading disks raw ------------------------------------------

/** An ext4 image's UUID, or a block device's (blkid -o value -s UUID). */
function uuidOf(file: string): string {
  return execFileSync('blkid', ['-o', 'value', '-s', 'UUID', file], { encoding: 'utf8', timeout: 30_000 }).trim();
}

test(
  "vm: the guest's disks are its own image: it mounts and reads its root disk raw, which is not the host's disk and shows no host file",
  T,
  async (t) => {
    const tag = randomTag();
    const marker = `/var/tmp/kgrade-hostile-marker-${tag}`;
    const content = `host-only-${randomTag()}`;
    const imageUuid = uuidOf(vmImages().root);
    const hostDev = hostRootDevice();
    const hostUuid = hostDev ? uuidOf(hostDev.path) : undefined;
    t.diagnostic(
      `the VM's root image ${vmImages().root}: UUID ${imageUuid}; the host's / ${hostDev?.path}: UUID ${hostUuid}`,
    );
    const script = `${PRELUDE}echo "DISKS: $(ls /sys/block | tr '\\n' ' ')"
root=$(findmnt -no SOURCE /)
echo "ROOTDEV: $root"
echo "UUID: $(blkid -o value -s UUID "$root")"
try raw sh -c "head -c 1M $root | wc -c"
mkdir -p /mnt/kgx-disk
# Mounted already as /: the kernel gives the same file system again, made read-only at once.
if out=$(mount -o ro "$root" /mnt/kgx-disk 2>&1) ||
  { [[ $out == *"already mounted"* ]] && out=$(mount "$root" /mnt/kgx-disk 2>&1) && mount -o remount,bind,ro /mnt/kgx-disk; }; then
  echo "OK mount: $root"
else
  echo "NO mount: \${out//$'\\n'/ | }"
fi
if [ -e /mnt/kgx-disk/sbin/kgrade-init ]; then echo "GUEST-FILES: /sbin/kgrade-init"; fi
if [ -f /mnt/kgx-disk${marker} ]; then echo "SEEN: $(cat /mnt/kgx-disk${marker})"; else echo "UNSEEN: no ${marker}"; fi
umount /mnt/kgx-disk 2>/dev/null
true`;
    writeFileSync(marker, `${content}\n`);
    try {
      const r = await sh(vm(), script, { timeoutMs: 60_000 });
      show(t, r);
      const disks = (/^DISKS: (.*)$/m.exec(r.stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
      assert.ok(
        disks.length > 0 && disks.every((d) => /^vd[a-z]+$/.test(d)),
        `the guest's only disks are virtio disks: ${disks.join(' ')}${seen(r)}`,
      );
      assert.equal(/^UUID: (.*)$/m.exec(r.stdout)?.[1], imageUuid, `the guest's root disk is its root image${seen(r)}`);
      if (hostUuid) assert.notEqual(imageUuid, hostUuid, "the VM's root image is not the host's root disk");
      assert.match(r.stdout, /^OK raw: 1048576$/m, `the guest read its root disk raw${seen(r)}`);
      assert.ok(lineOf(r, 'OK', 'mount') !== undefined, `the guest mounted its root disk${seen(r)}`);
      assert.match(r.stdout, /^GUEST-FILES: /m, `what it mounted is the guest's own root${seen(r)}`);
      assert.doesNotMatch(r.stdout, /^SEEN/m, `the host's marker was not seen${seen(r)}`);
      assert.ok(!r.stdout.includes(content), `the host marker's content was not seen${seen(r)}`);
    } finally {
      rmSync(marker, { force: true });
    }
  },
);

// --- /sys and sysrq -------------------------------------------------------------------------

const THP = '/sys/kernel/mm/transparent_hugepage/enabled';

test("vm: transparent_hugepage written in the guest's /sys is the guest's; the host's is unchanged", T, async (t) => {
  if (!existsSync(THP)) {
    t.skip('the host has no transparent_hugepage settings in /sys');
    return;
  }
  const setting = new HostSetting(THP, bracketed);
  try {
    const guestNow = bracketed((await sh(vm(), `cat ${THP}`, { timeoutMs: 20_000 })).stdout.trim());
    const choice = otherThan([setting.original, guestNow], ['never', 'madvise', 'always']);
    const r = await sh(
      vm(),
      `${PRELUDE}try write put ${choice} ${THP}\necho "READ thp: $(cat ${THP})"\nput ${guestNow} ${THP}`,
      {
        timeoutMs: 20_000,
      },
    );
    const hostSaw = setting.current();
    show(t, r);
    assert.ok(lineOf(r, 'OK', 'write') !== undefined, `the guest wrote its ${THP}${seen(r)}`);
    assert.equal(bracketed(lineOf(r, 'READ', 'thp') ?? ''), choice, `the guest's setting took the write${seen(r)}`);
    assert.equal(hostSaw, setting.original, `the host's ${THP} is unchanged${seen(r)}`);
  } finally {
    setting.restore();
  }
});

test("vm: sysrq h written in the guest reaches the guest's kernel log, not the host's", T, async (t) => {
  const helps = (log: string | undefined) =>
    log === undefined ? undefined : (log.match(/sysrq: HELP/gi)?.length ?? 0);
  const before = helps(hostKernelLog());
  const r = await sh(
    vm(),
    `${PRELUDE}echo "BEFORE: $(dmesg | grep -ci 'sysrq: HELP')"
try sysrq sh -c "printf h > /proc/sysrq-trigger"
echo "AFTER: $(dmesg | grep -ci 'sysrq: HELP')"`,
    { timeoutMs: 20_000 },
  );
  const after = helps(hostKernelLog());
  show(t, r);
  t.diagnostic(`host kernel log "sysrq: HELP" lines: ${before ?? '?'} -> ${after ?? '?'}`);
  assert.ok(lineOf(r, 'OK', 'sysrq') !== undefined, `the guest wrote h to its /proc/sysrq-trigger${seen(r)}`);
  const [b, a] = ['BEFORE', 'AFTER'].map((w) => Number(new RegExp(`^${w}: (\\d+)$`, 'm').exec(r.stdout)?.[1]));
  assert.ok((a ?? 0) > (b ?? 0), `the guest's kernel log shows the help${seen(r)}`);
  assert.ok(before !== undefined, "the host's kernel log can be read (dmesg)");
  assert.equal(after, before, `the host's kernel log shows no new sysrq help${seen(r)}`);
});

// --- processes: the host's, and the guest's on the host ---------------------------------------

test(
  'vm: a host process can be neither seen, killed nor read from the guest, and nsenter -t 1 stays in the guest',
  T,
  async (t) => {
    const { pid, arg, secret, stop } = await startHostDecoy();
    try {
      const script = `${PRELUDE}try kill kill -9 ${pid}
for p in /proc/[0-9]*; do
  if grep -qa 'kgrade-hostile-secret-' "$p/environ" 2>/dev/null; then echo "SECRET-SEEN $p"; fi
  if [ "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null)" = "sleep ${arg} " ]; then echo "FOUND $p"; fi
done
try nsenter nsenter -t 1 -m -u -i -n -p hostname
true`;
      const r = await sh(vm(), script, { timeoutMs: 60_000 });
      show(t, r);
      await new Promise((res) => setTimeout(res, 300));
      assert.ok(hostAlive(pid), `the host's sleep ${arg} (PID ${pid}) is alive${seen(r)}`);
      assert.ok(!r.stdout.includes(secret), `the host process's environment was not read${seen(r)}`);
      assert.doesNotMatch(r.stdout, /^(FOUND|SECRET-SEEN) /m, `the guest saw no host process${seen(r)}`);
      // nsenter into PID 1's namespaces works in the guest (the route is open there) and reaches the guest's.
      assert.equal(lineOf(r, 'OK', 'nsenter'), 'node', `nsenter -t 1 ran and found the guest (node)${seen(r)}`);
      assert.notEqual(os.hostname(), 'node', 'the host is not called node (else the check above proves nothing)');
    } finally {
      stop();
    }
  },
);

test(
  "vm: root in the guest is, on the host, only its VM's qemu: not root, no new privileges, in the VM's own cgroup; the guest's processes are no host processes",
  T,
  async (t) => {
    const arg = `1234.${parseInt(randomTag(), 16) % 1_000_000}`;
    const r = await sh(
      vm(),
      `sleep ${arg} </dev/null >/dev/null 2>&1 &\necho "PID: $!"; id -u; pgrep -fx "sleep ${arg}"`,
      {
        timeoutMs: 20_000,
      },
    );
    show(t, r);
    assert.match(r.stdout, /^0$/m, `root in the guest${seen(r)}`);
    const guestPid = /^PID: (\d+)$/m.exec(r.stdout)?.[1];
    assert.ok(guestPid && r.stdout.includes(`\n${guestPid}\n`), `the guest runs sleep ${arg}${seen(r)}`);
    assert.deepEqual(hostPidsWithArgv(['sleep', arg]), [], `no host process runs the guest's sleep ${arg}`);
    const pid = qemuPidOf(vm().name);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    t.diagnostic(`qemu PID ${pid}: Uid ${uids.join(' ')}`);
    assert.deepEqual(uids, [vmUid(), vmUid(), vmUid(), vmUid()], `the VM's qemu runs as uid ${vmUid()}, not root`);
    assert.match(status, /^NoNewPrivs:\s+1$/m, 'qemu cannot gain privileges through exec');
    assert.match(status, /^CapEff:\s+0+$/m, 'qemu holds no capabilities');
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.ok(cgroups.includes(`/kgrade-vm/${vm().name}`), `qemu is in the VM's own cgroup:\n${cgroups}`);
    for (const dir of vmCgroupDirs(vm().name)) {
      const procs = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n');
      assert.deepEqual(procs, [String(pid)], `${dir} holds qemu alone`);
    }
    await sh(vm(), `pkill -fx "sleep ${arg}"; true`, { timeoutMs: 20_000 });
  },
);

// --- a second chroot ------------------------------------------------------------------------------

test(
  "vm: a second chroot climbs out of a jail in the guest to the guest's root, not to the host's files",
  T,
  async (t) => {
    const marker = `/var/tmp/kgrade-hostile-chroot-${randomTag()}`;
    const content = `host-only-${randomTag()}`;
    const py = chrootClimbScript('guest');
    writeFileSync(marker, `${content}\n`);
    try {
      const r = await sh(vm(), `python3 -c ${shellQuote(py)} ${marker}`, { timeoutMs: 30_000 });
      show(t, r);
      assert.equal(r.code, 0, `the climb ran${seen(r)}`);
      assert.match(r.stdout, /^JAILED sees the guest root: False$/m, `the jail hid the guest's root${seen(r)}`);
      assert.match(r.stdout, /^CLIMBED sees the guest root: True$/m, `the climb works (out of the jail)${seen(r)}`);
      assert.match(r.stdout, /^NO-HOST-MARKER /m, `the host's ${marker} was not readable${seen(r)}`);
      assert.ok(!r.stdout.includes(content), `the host marker's content was not seen${seen(r)}`);
    } finally {
      rmSync(marker, { force: true });
    }
  },
);
