/**
 * A hostile submission against the sandbox boundary, for each isolation. Each route is what a
 * submission running as root in the sandbox could try against the grading host; the test reads
 * the outcome on the host itself (its sysctls, sysfs, cgroup files, processes and disk), from
 * this process, not from the sandbox's word.
 *
 * - userns: every route must be harmless on the host.
 * - privileged: where a route works there, the test shows it does (so the userns test is known to
 *   be able to see it) and puts back what it changed; where it does not work even there, the
 *   test's name says so and it asserts what it sees.
 *
 * What these tests change on the host is restored in finally blocks from values saved first:
 * kernel.core_pattern (only ever a plain file name, never a | pipe), vm.swappiness,
 * fs.pipe-max-size, transparent_hugepage. No traffic is sent anywhere; the only sysrq key ever
 * written is h (help).
 *
 * node --test --test-concurrency=1 dist/test/integration/hostile.test.js
 * (--test-name-pattern '^privileged: ' for one isolation)
 */
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usernsBase } from '../../src/config.js';
import { nodeImageRef } from '../../src/env/images.js';
import { describeExec, sh, shellQuote, type ExecResult } from '../../src/node.js';
import { sandboxRuntime, startSandbox, type Isolation, type Sandbox } from '../../src/env/sandbox/index.js';
import { requireDocker, until } from '../helpers/grading.js';
import {
  attachLoop,
  bracketed,
  HostSetting,
  hostAlive,
  hostCanRead,
  hostFreeBytes,
  hostKernelLog,
  hostPidsWithArgv,
  hostRootDevice,
  hostUids,
  MiB,
  mountsOf,
  randomTag,
  readHost,
  startHostDecoy,
  writableLayerOf,
  chrootClimbScript,
} from '../helpers/hostile.js';

const MODES = ['userns', 'privileged'] as const satisfies readonly Isolation[];
const RUN_ID = `hostile-${process.pid}`;
/** Each route is meant to take well under a minute; this is the guard. */
const T = { timeout: 60_000 };
/** The first userns sandbox of a machine builds the node image's root (once, cached). */
const FIRST = { timeout: 240_000 };
/** Root inside a userns sandbox is this uid on the host (100000 unless KGRADE_USERNS_BASE says otherwise). */
const USERNS_BASE = usernsBase();

before(async () => {
  await requireDocker();
});

async function withSandbox(isolation: Isolation, body: (sb: Sandbox) => Promise<void>): Promise<void> {
  const sb = await startSandbox(isolation, { image: nodeImageRef(), runId: RUN_ID, purpose: 'hostile-test' });
  try {
    await body(sb);
  } finally {
    await sb.destroy();
  }
}

/**
 * Shell functions for the sandbox scripts. `try LABEL CMD...` runs CMD and prints one line,
 * "OK LABEL: output" or "NO LABEL: error", output flattened onto that line.
 */
const PRELUDE = `
try() { local label=$1 out; shift; if out=$("$@" 2>&1); then echo "OK $label: \${out//$'\\n'/ | }"; else echo "NO $label: \${out//$'\\n'/ | }"; fi; }
put() { printf '%s\\n' "$1" > "$2"; }
putraw() { printf '%s' "$1" > "$2"; }
`;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** What `try LABEL` printed: OK, NO, or undefined when that attempt did not run. */
function said(r: ExecResult, label: string): 'OK' | 'NO' | undefined {
  return new RegExp(`^(OK|NO) ${escapeRe(label)}:`, 'm').exec(r.stdout)?.[1] as 'OK' | 'NO' | undefined;
}

/** The script's output lines that start with one of the words. */
function linesOf(r: ExecResult, ...words: string[]): string[] {
  return r.stdout.split('\n').filter((l) => words.some((w) => l.startsWith(`${w} `)));
}

function show(t: TestContext, r: ExecResult): void {
  for (const line of r.stdout.trimEnd().split('\n')) if (line.trim()) t.diagnostic(line);
}

const seen = (r: ExecResult) => `\nin the sandbox: ${describeExec(r)}`;

// --- 1 and 3: sysctls through /proc/sys and through a fresh procfs ----------------------------

interface SysctlTry {
  via: string;
  value: string;
  r: ExecResult;
  /** What the host's own /proc/sys showed right after the sandbox's write, before restoring. */
  hostSaw: string;
}

/** The sandbox writes values[0] through /proc/sys, then values[1] through a procfs it mounts itself. */
async function writeSysctl(sb: Sandbox, setting: HostSetting, values: [string, string]): Promise<SysctlTry[]> {
  const rel = path.relative('/proc', setting.file);
  const routes = [
    { via: '/proc/sys', script: (v: string) => `${PRELUDE}try write put ${shellQuote(v)} /proc/${rel}` },
    {
      via: 'a fresh procfs',
      script: (v: string) => `${PRELUDE}mkdir -p /tmp/kgx-proc
try mount mount -t proc proc /tmp/kgx-proc
try write put ${shellQuote(v)} /tmp/kgx-proc/${rel}
umount /tmp/kgx-proc 2>/dev/null; true`,
    },
  ];
  const tries: SysctlTry[] = [];
  for (const [i, route] of routes.entries()) {
    const value = values[i] ?? '';
    try {
      const r = await sh(sb, route.script(value), { timeoutMs: 20_000 });
      tries.push({ via: route.via, value, r, hostSaw: setting.current() });
    } finally {
      setting.restore();
    }
  }
  return tries;
}

function assertSysctl(isolation: Isolation, key: string, setting: HostSetting, tries: SysctlTry[]): void {
  for (const x of tries) {
    const what = `after the sandbox wrote ${JSON.stringify(x.value)} to ${key} through ${x.via}, the host's ${key} was ${JSON.stringify(x.hostSaw)} (its original: ${JSON.stringify(setting.original)})${seen(x.r)}`;
    if (isolation === 'userns') assert.equal(x.hostSaw, setting.original, what);
    else assert.equal(x.hostSaw, x.value, what);
  }
  assert.equal(setting.current(), setting.original, `the host's ${key} is back to its original`);
}

async function sysctlRoute(
  isolation: Isolation,
  t: TestContext,
  file: string,
  values: [string, string],
): Promise<void> {
  const key = path.relative('/proc/sys', file).replaceAll('/', '.');
  const setting = new HostSetting(file);
  assert.ok(
    !values.includes(setting.original),
    `test values ${values.join(', ')} differ from the host's ${key} (${setting.original})`,
  );
  try {
    await withSandbox(isolation, async (sb) => {
      const tries = await writeSysctl(sb, setting, values);
      for (const x of tries) {
        t.diagnostic(`${key} via ${x.via}: host saw ${JSON.stringify(x.hostSaw)}`);
        show(t, x.r);
      }
      assertSysctl(isolation, key, setting, tries);
    });
  } finally {
    setting.restore();
  }
}

/** Two values other than the original, from a list of valid ones. */
function twoOthers(original: string, candidates: string[]): [string, string] {
  const [a = '', b = ''] = candidates.filter((c) => c !== original);
  return [a, b];
}

async function corePattern(isolation: Isolation, t: TestContext): Promise<void> {
  const file = '/proc/sys/kernel/core_pattern';
  const original = readHost(file);
  if (isolation === 'privileged' && original.startsWith('|')) {
    t.skip(`the host's core_pattern is a pipe (${original}): restoring it would mean writing a pipe pattern`);
    return;
  }
  const tag = randomTag();
  const values: [string, string] = [`core.kgrade-hostile-${tag}`, `core.kgrade-hostile-${tag}-fresh`];
  for (const v of values) assert.ok(!v.includes('|'), 'a core_pattern test value is never a pipe');
  await sysctlRoute(isolation, t, file, values);
}

async function machineSysctls(isolation: Isolation, t: TestContext): Promise<void> {
  const swappiness = readHost('/proc/sys/vm/swappiness');
  await sysctlRoute(isolation, t, '/proc/sys/vm/swappiness', twoOthers(swappiness, ['30', '40', '50']));
  const pipeMax = readHost('/proc/sys/fs/pipe-max-size');
  await sysctlRoute(isolation, t, '/proc/sys/fs/pipe-max-size', twoOthers(pipeMax, ['2097152', '524288', '4194304']));
}

// --- 2: the cgroup v1 release_agent ------------------------------------------------------------

/** The cgroup v1 hierarchies and the release agents the host has, as the host sees them. */
function cgroupHost() {
  const agents = readdirSync('/sys/fs/cgroup')
    .map((d) => `/sys/fs/cgroup/${d}/release_agent`)
    .filter((f) => existsSync(f))
    .map((f) => new HostSetting(f));
  const hierarchies = () =>
    readHost('/proc/cgroups')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.split(/\s+/).slice(0, 2).join(':'))
      .join(' ');
  const mine = () =>
    readHost('/proc/self/cgroup')
      .split('\n')
      .map((l) => l.split(':')[1])
      .join(' ');
  return { agents, hierarchies, mine };
}

async function releaseAgent(isolation: Isolation, t: TestContext): Promise<void> {
  const host = cgroupHost();
  const hierarchiesBefore = host.hierarchies();
  const mineBefore = host.mine();
  const agent = `/kgx-release-agent-${randomTag()}`;
  // Only a file on a cgroup file system is written to: a failed mount leaves a plain folder.
  const script = `${PRELUDE}agent=${agent}
n=0
for f in $(find /sys/fs/cgroup -maxdepth 3 -name release_agent 2>/dev/null); do
  n=$((n + 1))
  if [ "$(stat -f -c %T "$f")" = cgroupfs ]; then try "write $f" put "$agent" "$f"; else echo "SKIP $f: not on a cgroup file system"; fi
done
echo "FOUND $n release_agent file(s) under /sys/fs/cgroup"
mkdir -p /mnt/kgx-cg
for opts in rdma,none,name=kgx none,name=kgx net_cls perf_event net_prio hugetlb rdma memory pids "none,name=kgx,release_agent=$agent" "memory,release_agent=$agent"; do
  if out=$(mount -t cgroup -o "$opts" cgroup /mnt/kgx-cg 2>&1); then
    echo "MOUNTED $opts"
    if [ "$(stat -f -c %T /mnt/kgx-cg)" = cgroupfs ] && [ -e /mnt/kgx-cg/release_agent ]; then
      try "write in $opts" put "$agent" /mnt/kgx-cg/release_agent
    else
      echo "NOFILE $opts: no release_agent at the root of this mount"
    fi
    umount /mnt/kgx-cg
  else
    echo "REFUSED mount -o $opts: \${out//$'\\n'/ | }"
  fi
done
true`;
  try {
    await withSandbox(isolation, async (sb) => {
      const r = await sh(sb, script, { timeoutMs: 30_000 });
      show(t, r);
      assert.equal(r.code, 0, `the probe ran${seen(r)}`);
      assert.deepEqual(linesOf(r, 'OK'), [], `no release_agent write succeeded${seen(r)}`);
      for (const a of host.agents) {
        assert.equal(
          a.current(),
          a.original,
          `the host's ${a.file} is unchanged (it reads ${JSON.stringify(a.current())})${seen(r)}`,
        );
      }
      assert.equal(host.hierarchies(), hierarchiesBefore, `the host's /proc/cgroups shows no new hierarchy${seen(r)}`);
      assert.equal(
        host.mine(),
        mineBefore,
        `the host's processes are in no new hierarchy (/proc/self/cgroup)${seen(r)}`,
      );
    });
  } finally {
    for (const a of host.agents) a.restore();
  }
}

// --- 4 and 5: the host's block devices --------------------------------------------------------

async function mountRootDisk(isolation: Isolation, t: TestContext): Promise<void> {
  const dev = hostRootDevice();
  if (!dev) {
    t.skip("the host's / is not on a block device");
    return;
  }
  const tag = randomTag();
  const marker = `/var/tmp/kgrade-hostile-marker-${tag}`;
  // The marker's path inside the file system (/ may be a folder of it, mountinfo's root field).
  const inFs = path.posix.join(dev.root, marker);
  const MNT = '/mnt/kgx-disk';
  const script = `${PRELUDE}mkdir -p ${MNT}
look() {
  local dev=$1 out
  if out=$(mount -t ${dev.fsType} -o ro "$dev" ${MNT} 2>&1); then
    echo "MOUNTED-RO $dev"
  elif [[ $out == *"already mounted"* || $out == *busy* ]]; then
    # The kernel found the host's own, mounted superblock for this device and refuses only to make
    # it read-only. A mount without ro is that same file system (no second instance of it), made
    # read-only at once; nothing is written through it.
    echo "RO-BUSY $dev: \${out//$'\\n'/ | }"
    if out=$(mount -t ${dev.fsType} "$dev" ${MNT} 2>&1); then
      mount -o remount,bind,ro ${MNT}
      echo "MOUNTED-SHARED $dev"
    else
      echo "REFUSED $dev: \${out//$'\\n'/ | }"; return
    fi
  else
    echo "REFUSED $dev: \${out//$'\\n'/ | }"; return
  fi
  if [ -f ${MNT}${inFs} ]; then echo "SEEN $dev: $(cat ${MNT}${inFs})"; else echo "UNSEEN $dev: no ${inFs} there"; fi
  umount ${MNT}
}
for node in /tmp/kgx-blk /dev/kgx-blk /kgx-blk; do
  rm -f "$node"
  if out=$(mknod "$node" b ${dev.major} ${dev.minor} 2>&1); then echo "MKNOD-OK $node"; look "$node"; rm -f "$node"; else echo "MKNOD-REFUSED $node: $out"; fi
done
if [ -b ${dev.path} ]; then echo "PRESENT ${dev.path}"; look ${dev.path}; else echo "ABSENT ${dev.path}"; fi
true`;
  writeFileSync(marker, `kgrade-hostile-marker-${tag}\n`);
  try {
    await withSandbox(isolation, async (sb) => {
      try {
        t.diagnostic(`host root: ${dev.path} (${dev.major}:${dev.minor}, ${dev.fsType}); marker ${marker}`);
        const r = await sh(sb, script, { timeoutMs: 30_000 });
        show(t, r);
        assert.equal(r.code, 0, `the probe ran${seen(r)}`);
        if (isolation === 'userns') {
          assert.deepEqual(
            linesOf(r, 'MOUNTED-RO', 'MOUNTED-SHARED', 'SEEN'),
            [],
            `the host's disk ${dev.path} was not mounted${seen(r)}`,
          );
          assert.ok(!r.stdout.includes(`kgrade-hostile-marker-${tag}`), `the host's marker was not seen${seen(r)}`);
          assert.deepEqual(linesOf(r, 'MKNOD-OK'), [], `no block device node could be made${seen(r)}`);
        } else {
          assert.ok(
            linesOf(r, 'SEEN').some((l) => l.endsWith(`kgrade-hostile-marker-${tag}`)),
            `a read-only mount of ${dev.path} showed the marker the test wrote on the host${seen(r)}`,
          );
        }
      } finally {
        await sh(sb, `umount ${MNT} 2>/dev/null; true`, { timeoutMs: 15_000 }).catch(() => undefined);
      }
    });
  } finally {
    rmSync(marker, { force: true });
  }
}

const ROOT_DEV = hostRootDevice();
const ROOT_READ = ROOT_DEV ? hostCanRead(ROOT_DEV.path) : undefined;
/** CONFIG_DEVMEM: the mem class has a mem device. */
const HAS_DEVMEM = existsSync('/dev/mem') || existsSync('/sys/class/mem/mem');

async function readRawDisk(isolation: Isolation, t: TestContext): Promise<void> {
  const tag = randomTag();
  // A host disk the kernel does let root read: a loop device over an image that starts with a marker.
  const image = `/var/tmp/kgrade-hostile-disk-${tag}.img`;
  const marker = `kgrade-hostile-disk-${tag}`;
  const buf = Buffer.alloc(MiB);
  buf.write(`${marker}\n`);
  writeFileSync(image, buf);
  let loop: ReturnType<typeof attachLoop> | undefined;
  try {
    loop = attachLoop(image);
    const targets: { label: string; kind: 'b' | 'c'; major: number; minor: number; path?: string }[] = [
      { label: 'loop', kind: 'b', major: loop.major, minor: loop.minor, path: loop.path },
      ...(ROOT_DEV
        ? [{ label: 'root', kind: 'b' as const, major: ROOT_DEV.major, minor: ROOT_DEV.minor, path: ROOT_DEV.path }]
        : []),
      { label: 'mem', kind: 'c', major: 1, minor: 1, path: '/dev/mem' },
    ];
    const script = `${PRELUDE}readraw() {
  if head -c 512 "$2" > /tmp/kgx-read 2> /tmp/kgx-err; then
    echo "READ $1 $2: $(wc -c < /tmp/kgx-read) bytes: $(tr -c '[:alnum:]-' '.' < /tmp/kgx-read | tr -s '.' | head -c 160)"
  else
    echo "UNREADABLE $1 $2: $(tr '\\n' ' ' < /tmp/kgx-err)"
  fi
}
${targets
  .map(
    (x) => `[ -e ${x.path} ] && readraw ${x.label} ${x.path}
for node in /dev/kgx-${x.label} /kgx-${x.label}; do
  rm -f "$node"
  if out=$(mknod "$node" ${x.kind} ${x.major} ${x.minor} 2>&1); then readraw ${x.label} "$node"; rm -f "$node"; else echo "MKNOD-REFUSED ${x.label} $node: $out"; fi
done`,
  )
  .join('\n')}
true`;
    t.diagnostic(
      `host: loop ${loop.path} (${loop.major}:${loop.minor}); root ${ROOT_DEV?.path ?? '-'} host-readable: ${ROOT_READ?.ok ? 'yes' : `no (${ROOT_READ && !ROOT_READ.ok ? ROOT_READ.error : '-'})`}; /dev/mem in this kernel: ${HAS_DEVMEM}`,
    );
    await withSandbox(isolation, async (sb) => {
      const r = await sh(sb, script, { timeoutMs: 30_000 });
      show(t, r);
      assert.equal(r.code, 0, `the probe ran${seen(r)}`);
      const reads = (label: string) => linesOf(r, 'READ').filter((l) => l.startsWith(`READ ${label} `));
      if (isolation === 'userns') {
        assert.deepEqual(linesOf(r, 'READ'), [], `no host disk or /dev/mem could be read raw${seen(r)}`);
        assert.ok(!r.stdout.includes(marker), `the loop device's marker was not seen${seen(r)}`);
        return;
      }
      assert.ok(
        reads('loop').some((l) => l.includes(marker)),
        `a host loop device was read raw, its marker seen${seen(r)}`,
      );
      if (ROOT_READ?.ok) assert.ok(reads('root').length > 0, `the host's root disk was read raw${seen(r)}`);
      else
        assert.deepEqual(
          reads('root'),
          [],
          `the root disk, refused to host root itself, was refused here too${seen(r)}`,
        );
      if (!HAS_DEVMEM) assert.deepEqual(reads('mem'), [], `this kernel has no /dev/mem: nothing read${seen(r)}`);
      else t.diagnostic(`/dev/mem under privileged: ${reads('mem').length ? 'read' : 'refused'}`);
    });
  } finally {
    loop?.detach();
    rmSync(image, { force: true });
  }
}

// --- 6 and 7: /sys and sysrq -------------------------------------------------------------------

const SYSFS_CHOICE = ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/kernel/mm/transparent_hugepage/defrag'].find(
  (f) => existsSync(f),
);

async function writeSys(isolation: Isolation, t: TestContext): Promise<void> {
  if (!SYSFS_CHOICE) {
    t.skip('the host has no transparent_hugepage settings in /sys');
    return;
  }
  const file = SYSFS_CHOICE;
  const setting = new HostSetting(file, bracketed);
  const choices = readHost(file).replace(/[[\]]/g, '').split(/\s+/).filter(Boolean);
  const other =
    choices.find((c) => c !== setting.original && c !== 'always') ?? choices.find((c) => c !== setting.original);
  assert.ok(other, `${file} offers another value than ${setting.original}: ${choices.join(' ')}`);
  try {
    await withSandbox(isolation, async (sb) => {
      let r: ExecResult;
      let hostSaw: string;
      try {
        r = await sh(sb, `${PRELUDE}try write put ${other} ${file}`, { timeoutMs: 15_000 });
        hostSaw = setting.current();
      } finally {
        setting.restore();
      }
      show(t, r);
      t.diagnostic(`host ${file}: ${setting.original} -> ${hostSaw} while the sandbox wrote ${other}`);
      const what = `the sandbox wrote ${other} to ${file}; the host then read ${hostSaw} (original ${setting.original})${seen(r)}`;
      if (isolation === 'userns') {
        assert.equal(said(r, 'write'), 'NO', what);
        assert.equal(hostSaw, setting.original, what);
      } else {
        assert.equal(said(r, 'write'), 'OK', what);
        assert.equal(hostSaw, other, what);
      }
      assert.equal(setting.current(), setting.original, `${file} is back to ${setting.original}`);
    });
  } finally {
    setting.restore();
  }
}

const HAS_SYSRQ = existsSync('/proc/sysrq-trigger');

async function sysrq(isolation: Isolation, t: TestContext): Promise<void> {
  // h (help) only: it prints the list of keys to the kernel log and does nothing else.
  const script = `${PRELUDE}if [ -e /proc/sysrq-trigger ]; then echo "PRESENT /proc/sysrq-trigger"; try sysrq putraw h /proc/sysrq-trigger; else echo "ABSENT /proc/sysrq-trigger"; fi
mkdir -p /tmp/kgx-proc
if out=$(mount -t proc proc /tmp/kgx-proc 2>&1); then
  if [ -e /tmp/kgx-proc/sysrq-trigger ]; then try fresh-sysrq putraw h /tmp/kgx-proc/sysrq-trigger; else echo "ABSENT a fresh procfs's sysrq-trigger"; fi
  umount /tmp/kgx-proc
else
  echo "REFUSED mount of a fresh procfs: $out"
fi
true`;
  const helps = () => {
    const log = hostKernelLog();
    return log === undefined ? undefined : (log.match(/sysrq: HELP/gi)?.length ?? 0);
  };
  const before = helps();
  await withSandbox(isolation, async (sb) => {
    const r = await sh(sb, script, { timeoutMs: 15_000 });
    show(t, r);
    const after = helps();
    t.diagnostic(`host kernel log "sysrq: HELP" lines: ${before ?? '?'} -> ${after ?? '?'}`);
    if (isolation === 'userns' || !HAS_SYSRQ) {
      assert.deepEqual(linesOf(r, 'OK'), [], `no sysrq write succeeded${seen(r)}`);
      if (before !== undefined) assert.equal(after, before, `the host's kernel log shows no new sysrq help${seen(r)}`);
    } else {
      assert.equal(said(r, 'sysrq'), 'OK', `writing h to /proc/sysrq-trigger succeeded${seen(r)}`);
    }
  });
}

// --- 8: a host process ---------------------------------------------------------------------------

async function hostProcess(isolation: Isolation, t: TestContext): Promise<void> {
  const { pid, arg, secret, stop } = await startHostDecoy();
  try {
    // The secret's tag is in no script: only reading the process's environment can show it.
    const script = `${PRELUDE}try kill kill -9 ${pid}
try environ grep -a -o 'KGRADE_HOSTILE_SECRET=[[:alnum:]-]*' /proc/${pid}/environ
for p in /proc/[0-9]*; do
  if grep -qa 'kgrade-hostile-secret-' "$p/environ" 2>/dev/null; then echo "SECRET-SEEN $p: $(grep -a -o 'KGRADE_HOSTILE_SECRET=[[:alnum:]-]*' "$p/environ")"; fi
  if [ "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null)" = "sleep ${arg} " ]; then echo "FOUND $p"; kill -9 "\${p#/proc/}" && echo "KILLED $p"; fi
done
try nsenter nsenter -t 1 -m -u -i -n -p hostname
true`;
    await withSandbox(isolation, async (sb) => {
      const r = await sh(sb, script, { timeoutMs: 20_000 });
      show(t, r);
      await new Promise((res) => setTimeout(res, 300));
      assert.ok(hostAlive(pid), `the host's sleep ${arg} (PID ${pid}) is still alive${seen(r)}`);
      assert.ok(!r.stdout.includes(secret), `the host process's environment was not read${seen(r)}`);
      assert.deepEqual(linesOf(r, 'FOUND', 'KILLED', 'SECRET-SEEN'), [], `the sandbox saw no host process${seen(r)}`);
      if (said(r, 'nsenter') === 'OK' && os.hostname() !== 'node') {
        assert.match(
          r.stdout,
          /^OK nsenter: node$/m,
          `nsenter -t 1 stayed in the sandbox (hostname node, the host is ${os.hostname()})${seen(r)}`,
        );
      }
    });
    assert.ok(hostAlive(pid), `the host's sleep ${arg} (PID ${pid}) is alive after the sandbox is gone`);
  } finally {
    stop();
  }
}

// --- 9: a second chroot -------------------------------------------------------------------------

async function chrootClimb(isolation: Isolation, t: TestContext): Promise<void> {
  const tag = randomTag();
  const marker = `/var/tmp/kgrade-hostile-chroot-${tag}`;
  // The content differs from the name: an error message naming the file shows the name only.
  const content = `host-only-${randomTag()}`;
  const py = chrootClimbScript('sandbox');
  writeFileSync(marker, `${content}\n`);
  try {
    await withSandbox(isolation, async (sb) => {
      const r = await sh(sb, `python3 -c ${shellQuote(py)} ${marker}`, { timeoutMs: 20_000 });
      show(t, r);
      assert.equal(r.code, 0, `the climb ran${seen(r)}`);
      assert.match(r.stdout, /^JAILED sees the sandbox root: False$/m, `the jail hid the sandbox's root${seen(r)}`);
      assert.match(
        r.stdout,
        /^CLIMBED sees the sandbox root: True$/m,
        `the second chroot climbed out of a jail (the technique works)${seen(r)}`,
      );
      assert.match(r.stdout, /^NO-HOST-MARKER /m, `the host's ${marker} was not readable${seen(r)}`);
      assert.ok(!r.stdout.includes(content), `the host marker's content (${content}) was not seen${seen(r)}`);
    });
  } finally {
    rmSync(marker, { force: true });
  }
}

// --- 10: the host's disk --------------------------------------------------------------------------

/**
 * Starts `sleep ARG` in the sandbox (its output going nowhere, so the exec returns) and finds it
 * among the host's processes: a way into the sandbox's namespaces from the host's side.
 */
async function sandboxProcessOnHost(sb: Sandbox, extra = ''): Promise<{ pid: number; arg: string; r: ExecResult }> {
  const arg = `1234.${parseInt(randomTag(), 16) % 1_000_000}`;
  const r = await sh(sb, `sleep ${arg} </dev/null >/dev/null 2>&1 & echo "pid in the sandbox: $!"\n${extra}`, {
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `the sandbox started sleep ${arg}${seen(r)}`);
  let pids: number[] = [];
  await until(`a host process sleep ${arg}`, async () => (pids = hostPidsWithArgv(['sleep', arg])).length > 0, 10_000);
  assert.equal(pids.length, 1, `one host process runs sleep ${arg}: ${pids.join(', ')}`);
  return { pid: pids[0] ?? 0, arg, r };
}

async function fillDisk(isolation: Isolation, t: TestContext): Promise<void> {
  const count = isolation === 'userns' ? 2048 : 1200;
  const hostRoot = mountsOf('self')
    .reverse()
    .find((m) => m.mountPoint === '/');
  await withSandbox(isolation, async (sb) => {
    // Where the sandbox's writes land, read on the host from a sandbox process's mount table.
    const { pid } = await sandboxProcessOnHost(sb);
    const { root, layer, upperdir } = writableLayerOf(pid);
    t.diagnostic(
      `the sandbox's /: ${root.fsType} ${root.source}; its writes go to ${upperdir ?? '/'} on the host's ${layer?.fsType} ${layer?.source} (${layer?.majMin}) at ${layer?.mountPoint}; the host's / is ${hostRoot?.fsType} ${hostRoot?.source} (${hostRoot?.majMin})`,
    );
    // Other work on the host moves its free space too: a write that really lands on the host's disk
    // shows in every attempt, a burst of someone else's only in some.
    const attempts = isolation === 'userns' ? 3 : 1;
    let best: { dropMiB: number; what: string } | undefined;
    for (let i = 1; i <= attempts; i++) {
      try {
        const free0 = hostFreeBytes('/');
        const r = await sh(
          sb,
          `dd if=/dev/zero of=/big bs=1M count=${count} conv=fsync 2>&1; echo "dd-exit=$?"; ls -l /big; df -B1 / | tail -1`,
          { timeoutMs: 40_000 },
        );
        const free1 = hostFreeBytes('/');
        show(t, r);
        const copied = Number(/^(\d+) bytes/m.exec(r.stdout)?.[1] ?? NaN);
        const dropMiB = Math.round((free0 - free1) / MiB);
        t.diagnostic(
          `attempt ${i}: dd copied ${Math.round(copied / MiB)} MiB; host free on /: ${Math.round(free0 / MiB)} -> ${Math.round(free1 / MiB)} MiB (drop ${dropMiB} MiB)`,
        );
        const what = `dd of ${count} MiB copied ${Math.round(copied / MiB)} MiB; the host's free disk went ${Math.round(free0 / MiB)} -> ${Math.round(free1 / MiB)} MiB (drop ${dropMiB} MiB)${seen(r)}`;
        if (isolation === 'userns') {
          assert.match(r.stdout, /No space left on device/, what);
          assert.ok(copied < 2000 * MiB, `the sandbox's writable layer stopped well before 2048 MiB: ${what}`);
        } else {
          assert.match(r.stdout, /^dd-exit=0$/m, what);
          assert.equal(copied, count * MiB, what);
        }
        if (!best || (isolation === 'userns' ? dropMiB < best.dropMiB : dropMiB > best.dropMiB))
          best = { dropMiB, what };
        if (isolation === 'userns' && dropMiB <= 100) break;
      } finally {
        await sh(sb, 'rm -f /big', { timeoutMs: 30_000 }).catch(() => undefined);
      }
    }
    assert.ok(best, 'dd ran');
    if (isolation === 'userns') {
      assert.ok(
        best.dropMiB <= 100,
        `the host's free disk dropped by at most 100 MiB (the least of ${attempts} attempts): ${best.what}`,
      );
      assert.notEqual(
        layer?.majMin,
        hostRoot?.majMin,
        `the sandbox's writable layer (${upperdir}) is not on the host's root disk (${hostRoot?.source})`,
      );
    } else {
      assert.ok(best.dropMiB >= 1000, `1200 MiB in the sandbox came off the host's disk: ${best.what}`);
    }
  });
}

// --- 11: who root is on the host -----------------------------------------------------------------

async function rootOnHost(isolation: Isolation, t: TestContext): Promise<void> {
  const file = `/kgx-owned-${randomTag()}`;
  await withSandbox(isolation, async (sb) => {
    const { pid, arg, r } = await sandboxProcessOnHost(sb, `touch ${file}; stat -c 'inside: %u' ${file}; id`);
    show(t, r);
    const uids = hostUids(pid);
    t.diagnostic(`host PID ${pid} (sleep ${arg}) Uid: ${uids.join(' ')}`);
    if (isolation === 'userns')
      assert.ok(
        uids.length === 4 && uids.every((u) => u >= USERNS_BASE),
        `root's process in the sandbox is uid >= ${USERNS_BASE} on the host; Uid: ${uids.join(' ')}`,
      );
    else
      assert.deepEqual(
        uids,
        [0, 0, 0, 0],
        `root's process in a privileged sandbox is root on the host; Uid: ${uids.join(' ')}`,
      );
    // The file on the host: in the overlay's upper folder, where it is stored, or else through
    // that process's root.
    const { upperdir } = writableLayerOf(pid);
    const candidates = [...(upperdir ? [path.join(upperdir, file)] : []), `/proc/${pid}/root${file}`];
    const hostPath = candidates.find((c) => existsSync(c));
    if (!hostPath) {
      t.skip(
        `the process part passed; the file part cannot run: the host finds the file at none of ${candidates.join(', ')}`,
      );
      return;
    }
    const owner = statSync(hostPath).uid;
    t.diagnostic(`host ${hostPath}: uid ${owner}`);
    if (isolation === 'userns')
      assert.ok(
        owner >= USERNS_BASE,
        `a file root made in the sandbox is owned on the host (${hostPath}) by uid ${owner}, expected >= ${USERNS_BASE}`,
      );
    else
      assert.equal(
        owner,
        0,
        `a file root made in a privileged sandbox is owned on the host (${hostPath}) by uid ${owner}`,
      );
  });
}

// --- the tests ------------------------------------------------------------------------------------

interface Route {
  name: Record<(typeof MODES)[number], string>;
  run: (isolation: Isolation, t: TestContext) => Promise<void>;
}

const ROUTES: Route[] = [
  {
    name: {
      userns: "userns: neither /proc/sys nor a fresh procfs can change the host's kernel.core_pattern",
      privileged:
        'privileged: kernel.core_pattern written through /proc/sys and through a fresh procfs reaches the host (restored)',
    },
    run: corePattern,
  },
  {
    name: {
      userns:
        "userns: no cgroup v1 release_agent can be written (mounted or newly mounted hierarchies); the host's are unchanged",
      privileged:
        "privileged: even here no cgroup v1 release_agent can be written (the private cgroup namespace hides and refuses it); the host's are unchanged",
    },
    run: releaseAgent,
  },
  {
    name: {
      userns:
        'userns: vm.swappiness and fs.pipe-max-size cannot be changed on the host through /proc/sys or a fresh procfs',
      privileged:
        'privileged: vm.swappiness and fs.pipe-max-size written through /proc/sys and through a fresh procfs reach the host (restored)',
    },
    run: machineSysctls,
  },
  {
    name: {
      userns: `userns: the host's root block device (${ROOT_DEV?.path ?? 'none'}) can be neither made with mknod nor mounted`,
      privileged: `privileged: the host's root block device (${ROOT_DEV?.path ?? 'none'}) mounts read-only and shows a marker the test wrote on the host`,
    },
    run: mountRootDisk,
  },
  {
    name: {
      userns: 'userns: neither a host disk (a host loop device, the root disk) nor /dev/mem can be read raw',
      privileged: `privileged: a host disk can be read raw (a host loop device${
        ROOT_READ?.ok
          ? ` and ${ROOT_DEV?.path}`
          : `; ${ROOT_DEV?.path ?? 'the root disk'} is refused here too, this kernel refuses it even to host root`
      }${HAS_DEVMEM ? '; /dev/mem as the kernel allows' : '; this kernel has no /dev/mem'})`,
    },
    run: readRawDisk,
  },
  {
    name: {
      userns: `userns: writing ${SYSFS_CHOICE ?? '/sys'} is refused and the host's value is unchanged`,
      privileged: `privileged: a write to ${SYSFS_CHOICE ?? '/sys'} reaches the host (restored)`,
    },
    run: writeSys,
  },
  {
    name: {
      userns: "userns: writing h to /proc/sysrq-trigger (or a fresh procfs's) is refused or it is absent",
      privileged: HAS_SYSRQ
        ? 'privileged: writing h to /proc/sysrq-trigger succeeds'
        : 'privileged: this kernel has no /proc/sysrq-trigger (no magic SysRq), so writing h fails here too',
    },
    run: sysrq,
  },
  {
    name: {
      userns:
        'userns: a host process can be neither killed nor read (kill -9, /proc/PID/environ), and nsenter -t 1 stays in the sandbox',
      privileged:
        'privileged: even here a host process can be neither killed nor read, and nsenter -t 1 stays in the sandbox (private PID namespace)',
    },
    run: hostProcess,
  },
  {
    name: {
      userns: "userns: a second chroot does not climb out of the sandbox's root to the host's files",
      privileged:
        "privileged: even here a second chroot does not climb out of the sandbox's root (it only escapes a chroot inside the sandbox)",
    },
    run: chrootClimb,
  },
  {
    name: {
      userns:
        "userns: filling / stops with No space left on device before 2048 MiB, on a layer off the host's disk, and the host's free disk does not drop",
      privileged: "privileged: 1200 MiB written to / come off the host's free disk",
    },
    run: fillDisk,
  },
  {
    name: {
      userns: `userns: root in the sandbox is uid >= ${USERNS_BASE} on the host (its process and its file)`,
      privileged: 'privileged: root in the sandbox is uid 0 on the host (its process and its file)',
    },
    run: rootOnHost,
  },
];

for (const isolation of MODES) {
  test(
    `${isolation}: a sandbox starts and runs a command (the first userns one builds the node's root)`,
    FIRST,
    async () => {
      await withSandbox(isolation, async (sb) => {
        const r = await sh(sb, 'echo alive; id -u', { timeoutMs: 15_000 });
        assert.equal(r.stdout, 'alive\n0\n', describeExec(r));
      });
    },
  );

  for (const route of ROUTES) test(route.name[isolation], T, (t) => route.run(isolation, t));

  test(`${isolation}: no sandbox of this process is left`, T, async () => {
    const runtime = await sandboxRuntime(isolation);
    const mine = (await runtime.list()).filter((s) => s.ownerPid === process.pid).map((s) => s.name);
    assert.deepEqual(mine, []);
  });
}
