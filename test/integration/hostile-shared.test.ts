/**
 * Hostile submissions against what sandboxes share on the grading host: the cgroup tree the
 * reaper walks, the host uid that owns kernel keys and per-user counts, and memory the kernel
 * spends for a sandbox. Each route is read on the host, from this process.
 *
 * - a chain of 20 nested cgroups with 250-character names in each delegated hierarchy, longer
 *   than PATH_MAX: the sandbox is removed, by its owner and by `kgrade clean` when the owner died;
 * - a cgroup that cannot be emptied (a frozen process): the sandbox is set aside, later runs go
 *   on, `kgrade clean` says so (exit 4) until it can be removed;
 * - two sandboxes at once: neither sees nor touches the other's keys (a host process with one
 *   sandbox's uid, as every other sandbox had before slots, does see them);
 * - inotify instances: a sandbox's are charged to its own uid, not host root's (under
 *   privileged they are root's, which this test shows too);
 * - unix socket buffers are charged to the sandbox's memory limit, which holds.
 *
 * node --test --test-concurrency=1 dist/test/integration/hostile-shared.test.js
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../../src/config.js';
import { nodeImageRef } from '../../src/env/images.js';
import { describeExec } from '../../src/node.js';
import { untrack } from '../../src/env/cleanup.js';
import { startSandbox, type Isolation, type Sandbox } from '../../src/env/sandbox/index.js';
import { LIMITS } from '../../src/env/sandbox/node-setup.js';
import { hostTracesOf, requireDocker, runCli, until } from '../helpers/grading.js';
import { MiB, randomTag } from '../helpers/hostile.js';

const mib = (bytes: number) => Math.round(bytes / MiB);

const RUN_ID = `hshared-${process.pid}`;
const T = { timeout: 240_000 };
const DELEGATED = ['memory', 'pids', 'cpu'];

before(async () => {
  await requireDocker();
});

const start = (isolation: Isolation = 'userns') =>
  startSandbox(isolation, { image: nodeImageRef(), runId: RUN_ID, purpose: 'hostile-shared-test' });

async function run(sb: Sandbox, script: string, timeoutMs = 60_000): Promise<string> {
  const r = await sb.exec(['bash', '-c', script], { timeoutMs });
  assert.equal(r.code, 0, describeExec(r));
  return r.stdout;
}

/** The host uid that is root in the sandbox. */
async function hostRootUid(sb: Sandbox): Promise<number> {
  return Number((await run(sb, 'cat /proc/self/uid_map')).trim().split(/\s+/)[1]);
}

/** Every cgroup kgrade/<name> in any hierarchy, the deepest cgroup the chain reached included. */
function cgroupsOf(name: string): string[] {
  return readdirSync('/sys/fs/cgroup')
    .map((h) => path.join('/sys/fs/cgroup', h, 'kgrade', name))
    .filter((d) => existsSync(d));
}

/** Builds, in every delegated hierarchy, 20 nested cgroups with 250-character names and leaves a process in the deepest. */
const DEEP_CHAIN = `n=$(printf 'd%.0s' $(seq 250))
for c in ${DELEGATED.join(' ')}; do
  cd /sys/fs/cgroup/$c || exit 1
  for i in $(seq 20); do mkdir "$n" && cd "$n" || exit 2; done
done
sleep 100000 >/dev/null 2>&1 </dev/null &
for c in ${DELEGATED.join(' ')}; do
  cd /sys/fs/cgroup/$c; for i in $(seq 20); do cd "$n"; done; echo $! > cgroup.procs || exit 3
done
echo "depth $(pwd | wc -c)"`;

test(
  'a chain of cgroups longer than PATH_MAX is removed with its sandbox, and nothing is left in any hierarchy',
  T,
  async () => {
    const sb = await start();
    const out = await run(sb, DEEP_CHAIN);
    const depth = Number(/depth (\d+)/.exec(out)?.[1]);
    assert.ok(depth > 4096, `the chain's path in the sandbox is ${depth} bytes, past PATH_MAX`);
    await sb.destroy();
    assert.deepEqual(cgroupsOf(sb.name), []);
    assert.deepEqual(hostTracesOf(sb.name), []);
  },
);

test(
  'the same chain left by a run that died is removed by `kgrade clean`, which exits 0, and the next sandbox works',
  T,
  async () => {
    const sb = await start();
    await run(sb, DEEP_CHAIN);
    // The owner dies: its pid becomes one that no longer runs.
    const dead = spawnSync('true').pid;
    writeFileSync(path.join(stateDir(), 'sandboxes', sb.name, 'owner'), `${dead}\n`);
    untrack(sb.name);
    const clean = await runCli(['clean'], { timeoutMs: 120_000 });
    assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr}`);
    assert.match(clean.stdout, new RegExp(`removed 1 orphaned sandbox\\(es\\): .*${sb.name}`));
    assert.deepEqual(cgroupsOf(sb.name), []);
    assert.deepEqual(hostTracesOf(sb.name), []);
    const next = await start();
    try {
      assert.equal((await run(next, 'mkdir /sys/fs/cgroup/memory/ok && echo fine')).trim(), 'fine');
    } finally {
      await next.destroy();
    }
  },
);

test(
  'a sandbox whose cgroup cannot be emptied is set aside: later runs go on, `kgrade clean` says so (exit 4) until it is removed',
  T,
  async () => {
    const freezer = `/sys/fs/cgroup/freezer/kgrade-test-${randomTag()}`;
    const sb = await start();
    let stuck: number | undefined;
    try {
      await run(sb, 'mkdir /sys/fs/cgroup/memory/stuck');
      // A host process in the sandbox's cgroup that SIGKILL cannot end while it is frozen.
      const sleeper = spawnSync('sh', ['-c', 'sleep 100000 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
      stuck = Number(sleeper.stdout.trim());
      writeFileSync(`/sys/fs/cgroup/memory/kgrade/${sb.name}/node/stuck/cgroup.procs`, String(stuck));
      mkdirSync(freezer);
      writeFileSync(path.join(freezer, 'cgroup.procs'), String(stuck));
      writeFileSync(path.join(freezer, 'freezer.state'), 'FROZEN');
      await until(
        'the process frozen',
        async () => readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN',
        10_000,
      );

      await assert.rejects(
        sb.destroy(),
        (err: Error) => /set aside/.test(err.message) && err.message.includes(sb.name),
      );
      const other = await runCli(['clean'], { timeoutMs: 120_000 });
      assert.equal(other.code, 4, `${other.stdout}\n${other.stderr}`);
      assert.match(other.stdout, new RegExp(`set aside since .*: ${sb.name}: could not remove the cgroup`));
      const next = await start();
      try {
        assert.equal((await run(next, 'echo fine')).trim(), 'fine', 'a sandbox starts while another is set aside');
      } finally {
        await next.destroy();
      }

      writeFileSync(path.join(freezer, 'freezer.state'), 'THAWED');
      const clean = await runCli(['clean'], { timeoutMs: 120_000 });
      assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr}`);
      assert.match(clean.stdout, new RegExp(`removed 1 orphaned sandbox\\(es\\): .*${sb.name}`));
      assert.deepEqual(cgroupsOf(sb.name), []);
      assert.deepEqual(hostTracesOf(sb.name), []);
    } finally {
      if (existsSync(freezer)) {
        writeFileSync(path.join(freezer, 'freezer.state'), 'THAWED');
        if (stuck) spawnSync('kill', ['-9', String(stuck)]);
        await until(
          'the frozen process gone',
          async () => readFileSync(path.join(freezer, 'cgroup.procs'), 'utf8').trim() === '',
          10_000,
        ).catch(() => undefined);
        rmdirSync(freezer);
      }
      await runCli(['clean'], { timeoutMs: 120_000 });
    }
  },
);

/** Python in the sandbox: the key syscalls of x86_64 and arm64, by number (no keyctl tool in the node image). */
const KEYS_PY = `import ctypes, os, platform, sys
libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, KEYCTL = (217, 219) if platform.machine() == 'aarch64' else (248, 250)
def add(desc, ring):
    r = libc.syscall(ADD_KEY, b'user', desc.encode(), b'secret', 6, ctypes.c_int(ring))
    return r if r >= 0 else -ctypes.get_errno()
def read(key):
    buf = ctypes.create_string_buffer(256)
    r = libc.syscall(KEYCTL, 11, ctypes.c_int(key), buf, 256)
    return buf.raw[:r].decode() if r >= 0 else 'errno %d' % ctypes.get_errno()
def session():
    return libc.syscall(KEYCTL, 0, ctypes.c_int(-3), 1)
`;

test("two sandboxes at once have host uids apart: neither sees, reads or writes the other's keys", T, async (t) => {
  const tag = randomTag();
  const [a, b] = await Promise.all([start(), start()]);
  try {
    const [uidA, uidB] = [await hostRootUid(a), await hostRootUid(b)];
    t.diagnostic(`root is host uid ${uidA} in one sandbox, ${uidB} in the other`);
    assert.ok(Math.abs(uidA - uidB) >= 65536, 'the id ranges do not overlap');
    // Each exec has a session keyring of its own: A keeps its marker alive in the background.
    const aOut = await run(
      a,
      `python3 - > /run/a.out 2>&1 <<'EOF' &
${KEYS_PY}
k = add('KGRADE-MARK-a-${tag}', -3)
print(k, session(), flush=True)
import time; time.sleep(60)
EOF
sleep 1; cat /run/a.out; grep -c KGRADE-MARK-a-${tag} /proc/keys`,
    );
    const [keyA = -1, ringA = -1] = aOut.trim().split(/\s+/).map(Number);
    assert.ok(keyA > 0 && ringA > 0, `A made its key: ${aOut}`);
    assert.match(aOut, /^1$/m, 'A sees its own key in /proc/keys');

    const bOut = await run(
      b,
      `python3 - <<'EOF'
${KEYS_PY}
print('SEES', open('/proc/keys').read().count('KGRADE-MARK-a-${tag}'))
print('READ', read(${keyA}))
print('WRITE', add('KGRADE-MARK-b-${tag}', ${ringA}))
EOF`,
    );
    t.diagnostic(bOut.trim().replace(/\n/g, ' | '));
    assert.match(bOut, /^SEES 0$/m, "B does not see A's key in /proc/keys");
    assert.match(bOut, /^READ errno \d+$/m, "B cannot read A's key");
    assert.match(bOut, /^WRITE -\d+$/m, "B cannot add a key to A's keyring");
    assert.equal(await run(a, `grep -c KGRADE-MARK-b-${tag} /proc/keys || true`), '0\n');

    // What every sandbox saw when all of them were the same host uid: a process with A's uid sees A's key.
    const sameUid = execFileSync(
      'setpriv',
      [`--reuid=${uidA}`, `--regid=${uidA}`, '--clear-groups', 'cat', '/proc/keys'],
      { encoding: 'utf8' },
    );
    assert.ok(sameUid.includes(`KGRADE-MARK-a-${tag}`), `a process with A's host uid sees A's key:\n${sameUid}`);
    // Key quotas are counted per host uid: each sandbox has its own line.
    const users = readFileSync('/proc/key-users', 'utf8');
    assert.match(users, new RegExp(`^\\s*${uidA}:`, 'm'), users);
    assert.match(users, new RegExp(`^\\s*${uidB}:`, 'm'), users);
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
});

const INOTIFY_PY = `import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fds = [fd for fd in (libc.inotify_init1(0) for _ in range(int(sys.argv[1]))) if fd >= 0]
print('made', len(fds), flush=True)
time.sleep(float(sys.argv[2]))
`;

/** How many inotify instances a host process can make now, as uid (root by default). */
function hostInotify(uid?: number): number {
  const prefix = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const argv = [
    ...prefix,
    existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3',
    '-c',
    INOTIFY_PY,
    '1000',
    '0',
  ];
  const out = execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return Number(/made (\d+)/.exec(out)?.[1]);
}

for (const isolation of ['userns', 'privileged'] as const) {
  const title =
    isolation === 'userns'
      ? "userns: a sandbox's inotify instances are charged to its own host uid, not to host root's"
      : "privileged: a sandbox's inotify instances are host root's (the route the userns test sees closed)";
  test(title, T, async (t) => {
    const sb = await start(isolation);
    try {
      await run(sb, `cat > /run/ino.py <<'EOF'\n${INOTIFY_PY}\nEOF`);
      const holding = sb.exec(['bash', '-c', 'python3 /run/ino.py 1000 20 > /run/ino.out 2>&1'], { timeoutMs: 60_000 });
      await until(
        'the sandbox holding its inotify instances',
        async () => /made \d+/.test(await run(sb, 'cat /run/ino.out 2>/dev/null || true')),
        30_000,
      );
      const made = Number(/made (\d+)/.exec(await run(sb, 'cat /run/ino.out'))?.[1]);
      const root = hostInotify();
      t.diagnostic(`the sandbox made ${made} inotify instances; host root could still make ${root}`);
      if (isolation === 'userns') {
        assert.ok(made >= 100, `the sandbox made its instances: ${made}`);
        assert.ok(root > 0, 'host root can still make inotify instances while the sandbox holds all it may');
        const own = hostInotify(await hostRootUid(sb));
        t.diagnostic(`a host process with the sandbox's uid could make ${own}`);
        assert.equal(own, 0, "the sandbox's instances are charged to its own host uid");
      } else {
        assert.equal(root, 0, 'host root has none left while the privileged sandbox holds them');
      }
      await holding;
    } finally {
      await sb.destroy();
    }
  });
}

test("userns: unix socket buffers are charged to the sandbox's memory limit, which holds", T, async (t) => {
  const sb = await start();
  const cg = (f: string) => Number(readFileSync(`/sys/fs/cgroup/memory/kgrade/${sb.name}/${f}`, 'utf8').trim());
  try {
    // Socket pairs filled until the kernel refuses more: far more buffers than the limit allows.
    const r = await sb.exec(
      [
        'python3',
        '-c',
        `import socket
total = 0; pairs = []; chunk = b'x' * 65536
try:
    for i in range(4000):
        a, b = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 30)
        a.setblocking(False)
        while True:
            try: total += a.send(chunk)
            except BlockingIOError: break
        pairs.append((a, b))
except OSError as e:
    print('stopped:', e)
print('queued MiB', total >> 20, 'pairs', len(pairs), flush=True)`,
      ],
      { timeoutMs: 120_000 },
    );
    const peak = cg('memory.max_usage_in_bytes');
    const kmemPeak = cg('memory.kmem.max_usage_in_bytes');
    t.diagnostic(
      `${r.stdout.trim() || `the filler ended with ${r.code}`}; the sandbox's memory peaked at ${mib(peak)} MiB, kernel memory at ${mib(kmemPeak)} MiB (limit ${mib(LIMITS.memoryBytes)} MiB)`,
    );
    assert.ok(
      kmemPeak > 512 * MiB,
      `socket buffers are charged to the sandbox: kernel memory peaked at ${mib(kmemPeak)} MiB`,
    );
    assert.ok(peak <= LIMITS.memoryBytes, `the limit held: ${mib(peak)} MiB`);
    assert.equal(
      cg('memory.kmem.tcp.limit_in_bytes'),
      LIMITS.memoryBytes,
      'TCP buffers are charged under the same limit',
    );
  } finally {
    await sb.destroy();
  }
});
