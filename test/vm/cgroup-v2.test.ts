/**
 * The userns runtime on a cgroup v2 kernel, for real: this host is cgroup v1, so the test boots a
 * VM sandbox with cgroup v2 only (cgroup_no_v1=all) and kgrade inside it (vm-kgrade.ts: Node.js,
 * kgrade, runc and the prepared userns roots on a read-only disk), then grades there with
 * `--isolation userns`:
 * - the delegated subtree: a root inside enables +memory, makes chroot0, sets memory.max and moves
 *   a process into it, and the kernel OOM-kills ls there; the sandbox's own limits, its parents
 *   and the rest of the hierarchy stay out of reach (hostile: raising memory.max and pids.max,
 *   moving a process to a parent cgroup, mkdir outside its subtree), each with a control that
 *   the same check sees the route open when the VM's root takes it; SIGKILL of kgrade, then
 *   `kgrade clean`, leaves no cgroup; a submission that removes or blocks the leaf init still
 *   has its later commands run (or failed as its own), never a grader error; nor does a background
 *   loop that races kgrade's leaves (removes them, makes them threaded, freezes them, sets pids.max
 *   or memory.max 0 on them or on a cgroup it moves kgrade's commands into): each command is run
 *   or refused as the submission's failed within a deadline, naming the cgroup, and the next
 *   sandbox runs as before;
 * - labs: ch01-isolation's reference to full marks; the fixture lab cgroup-either (kernel.cgroup
 *   either) gives a v2-only cgroup.sh full marks and the v1-only one of the course notes none,
 *   and `kgrade verify` passes it; ch03-pod-from-scratch (pinned v1) is refused with userns and
 *   routed to vm, which this VM cannot give (no qemu inside: nested TCG is not worth minutes).
 *
 * Under TCG every VM command is about ten times slower: the whole file takes some minutes.
 * Needs images/vm/build.sh's images and the node image (scripts/test.sh's VM stage has both).
 * node --test --test-concurrency=1 dist/test/vm/cgroup-v2.test.js
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeExec } from '../../src/node.js';
import { vmImagesReady } from '../../src/env/sandbox/vm-images.js';
import { IN_VM, type KgradeVm, startKgradeVm, VM_KGRADE_ENV } from '../../src/env/sandbox/vm-kgrade.js';
import type { GradeResult } from '../../src/grade/model.js';
import { REPO_ROOT } from '../../src/paths.js';

const LONG = { timeout: 1_200_000 };
const FIXTURES = '/work-fixtures';
let vm: KgradeVm | undefined;

before(
  async () => {
    if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
    const started = Date.now();
    vm = await startKgradeVm({
      runId: `cgv2test-${process.pid}`,
      cgroup: 'v2',
      log: (l) => process.stderr.write(`${l}\n`),
    });
    await vm.sandbox.exec(['mkdir', '-p', FIXTURES]);
    await vm.sandbox.copyIn(`${REPO_ROOT}/test/fixtures/.`, FIXTURES);
    process.stderr.write(`cgroup-v2: VM with kgrade ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
  },
  { timeout: 900_000 },
);

after(async () => {
  await vm?.sandbox.destroy().catch(() => undefined);
});

function theVm(): KgradeVm {
  if (!vm) throw new Error('the VM did not start');
  return vm;
}

/** Grades inside the VM; resolves to the exit code and results.json. */
async function gradeInside(lab: string, submission: string, extra: string[] = []) {
  const out = `/tmp/out-${Math.random().toString(36).slice(2)}`;
  const r = await theVm().kgrade(['grade', lab, '--submission', submission, '--out', out, ...extra]);
  const json = await theVm().sandbox.exec(['cat', `${out}/results.json`]);
  return { r, result: json.code === 0 ? (JSON.parse(json.stdout) as GradeResult) : undefined };
}

test('the VM runs cgroup v2 only, and kgrade runs in it', LONG, async () => {
  const r = await theVm().sandbox.exec([
    'sh',
    '-c',
    'stat -fc %T /sys/fs/cgroup; test -e /sys/fs/cgroup/memory/memory.limit_in_bytes && echo v1-too; true',
  ]);
  assert.equal(r.stdout.trim(), 'cgroup2fs', describeExec(r));
  assert.equal(theVm().sandbox.cgroup, 'v2');
});

/**
 * Run inside the VM by Node: starts a userns sandbox, takes every route as the sandbox's root and
 * reports what it saw inside and what the VM (the sandbox's host) sees. JSON on stdout.
 */
const PROBE = `
import { startSandbox } from '${IN_VM}/repo/dist/src/env/sandbox/index.js';
import { nodeImageRef } from '${IN_VM}/repo/dist/src/env/images.js';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
const out = {};
const dirs = (d) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
const topBefore = dirs('/sys/fs/cgroup');
const sb = await startSandbox('userns', { image: nodeImageRef(), runId: 'probe', purpose: 'cgroup v2 probe' });
const own = '/sys/fs/cgroup/kgrade/' + sb.name;
const sh = async (c) => {
  const r = await sb.exec(['bash', '-c', c], { timeoutMs: 120000 });
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
};
/** Processes of the sandbox (uids of its range, 100000 and up) whose cgroup is not below its subtree. */
const strays = () => {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {
    try {
      const uid = Number(/^Uid:\\s+(\\d+)/m.exec(readFileSync('/proc/' + pid + '/status', 'utf8'))[1]);
      const cg = readFileSync('/proc/' + pid + '/cgroup', 'utf8').trim();
      if (uid >= 100000 && !cg.startsWith('0::/kgrade/' + sb.name + '/node')) found.push(pid + ' ' + cg);
    } catch {}
  }
  return found;
};
try {
  out.self = await sh('cat /proc/self/cgroup');
  out.primitive = await sh(
    'echo +memory > /sys/fs/cgroup/cgroup.subtree_control && mkdir /sys/fs/cgroup/chroot0 && ' +
      'echo 10 > /sys/fs/cgroup/chroot0/memory.max && bash -c "echo \\\\$\\\\$ > /sys/fs/cgroup/chroot0/cgroup.procs && exec ls /"',
  );
  out.oomKills = Number(/^oom_kill (\\d+)/m.exec(readFileSync(own + '/node/chroot0/memory.events', 'utf8'))?.[1] ?? 0);
  // At a limit this small the kernel may leave the process hanging in reclaim instead of killing
  // it (what the lab's step accepts as well): the cgroup's own count of hits at its limit moves.
  out.maxEvents = Number(/^max (\\d+)/m.exec(readFileSync(own + '/node/chroot0/memory.events', 'utf8'))?.[1] ?? 0);
  out.raise = await sh('echo max > /sys/fs/cgroup/memory.max || echo max > /sys/fs/cgroup/pids.max || echo 0 > /sys/fs/cgroup/cgroup.kill');
  out.ownMax = readFileSync(own + '/memory.max', 'utf8').trim();
  out.ownPids = readFileSync(own + '/pids.max', 'utf8').trim();
  out.nodeMax = readFileSync(own + '/node/memory.max', 'utf8').trim();
  out.escape = await sh(
    'sleep 600 >/dev/null 2>&1 & p=$!; mkdir -p /mnt/cg && mount -t cgroup2 none /mnt/cg; ' +
      'echo $p > /mnt/cg/../../cgroup.procs; echo $p > /sys/fs/cgroup/../cgroup.procs; ' +
      'unshare -C sh -c "mount -t cgroup2 none /mnt/cg && echo $p > /mnt/cg/cgroup.procs"; ' +
      'echo $p > /sys/fs/cgroup/chroot0/cgroup.procs; cat /proc/$p/cgroup',
  );
  out.strays = strays();
  out.mkdir = await sh('mkdir /mnt/cg/../../kgrade-escape; mkdir /sys/fs/cgroup/../kgrade-escape2; ls -d /sys/fs/cgroup/kgrade-escape*');
  out.topAfter = dirs('/sys/fs/cgroup');
  out.topBefore = topBefore;
  out.kgradeAfter = dirs('/sys/fs/cgroup/kgrade');
  // Controls: the VM's root takes the same routes from outside, and the same checks see them open.
  writeFileSync(own + '/pids.max', '4097');
  out.controlPids = readFileSync(own + '/pids.max', 'utf8').trim();
  const victim = readFileSync(own + '/node/chroot0/cgroup.procs', 'utf8').trim().split('\\n').find((l) => l);
  if (victim) writeFileSync('/sys/fs/cgroup/cgroup.procs', victim);
  out.controlStrays = strays();
} finally {
  await sb.destroy();
}
out.left = existsSync('/sys/fs/cgroup/kgrade') ? dirs('/sys/fs/cgroup/kgrade') : [];
console.log(JSON.stringify(out));
`;

interface Shell {
  code: number;
  out: string;
}

interface ProbeReport {
  self: Shell;
  primitive: Shell;
  oomKills: number;
  maxEvents: number;
  raise: Shell;
  ownMax: string;
  ownPids: string;
  nodeMax: string;
  escape: Shell;
  strays: string[];
  mkdir: Shell;
  topBefore: string[];
  topAfter: string[];
  kgradeAfter: string[];
  controlPids: string;
  controlStrays: string[];
  left: string[];
}

function node(script: string) {
  return theVm().sandbox.exec(
    [
      'env',
      ...Object.entries(VM_KGRADE_ENV).map(([k, v]) => `${k}=${v}`),
      `${IN_VM}/node/bin/node`,
      '--input-type=module',
      '-e',
      script,
    ],
    { timeoutMs: 900_000 },
  );
}

test(
  'userns on cgroup v2: the subtree is the sandbox root’s to use, enforced, and its own limits and parents are out of reach',
  LONG,
  async (t) => {
    const r = await node(PROBE);
    assert.equal(r.code, 0, describeExec(r));
    const p = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ProbeReport;
    t.diagnostic(JSON.stringify(p));
    // Inside, the cgroup namespace's root is the delegated subtree, the processes in its leaf.
    assert.equal(p.self.out, '0::/init');
    // The primitive: a memory cgroup a root inside makes is enforced by the kernel.
    assert.notEqual(p.primitive.code, 0, `ls ran in a 10-byte memory cgroup: ${p.primitive.out}`);
    assert.ok(
      p.oomKills > 0 || p.maxEvents > 0 || /Cannot allocate memory/.test(p.primitive.out),
      `ls in the 10-byte cgroup: ${JSON.stringify(p.primitive)}, oom_kill ${p.oomKills}, max ${p.maxEvents}`,
    );
    // Hostile: the sandbox's own limits.
    assert.notEqual(p.raise.code, 0, `a root inside wrote a limit of its cgroup root: ${p.raise.out}`);
    assert.equal(p.ownMax, String(2 * 1024 ** 3));
    assert.equal(p.ownPids, '4096');
    assert.equal(p.nodeMax, 'max');
    // Hostile: a process moved to a parent cgroup; each route leaves it in the subtree.
    assert.match(p.escape.out, /^0::\/chroot0$/m, JSON.stringify(p.escape));
    assert.deepEqual(p.strays, []);
    // Hostile: mkdir outside the subtree lands inside it, or nowhere.
    assert.deepEqual(p.topAfter, p.topBefore.includes('kgrade') ? p.topBefore : [...p.topBefore, 'kgrade'].sort());
    assert.equal(p.kgradeAfter.length, 1, `cgroups beside the sandbox's: ${p.kgradeAfter.join(', ')}`);
    // Controls: from the VM's root the same routes are open, and the checks above would see them.
    assert.equal(p.controlPids, '4097');
    assert.ok(p.controlStrays.length > 0, 'the stray check did not see a process moved out by the VM root');
    // Removal leaves no cgroup.
    assert.deepEqual(p.left, []);
  },
);

/** Run inside: a kgrade process starts a sandbox, its root nests cgroups, then the process is SIGKILLed. */
const KILLED = `
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
const child = spawn(process.execPath, ['--input-type=module', '-e', \`
  import { startSandbox } from '${IN_VM}/repo/dist/src/env/sandbox/index.js';
  import { nodeImageRef } from '${IN_VM}/repo/dist/src/env/images.js';
  const sb = await startSandbox('userns', { image: nodeImageRef(), runId: 'killed', purpose: 'killed' });
  const r = await sb.exec(['bash', '-c', 'echo +memory +pids > /sys/fs/cgroup/cgroup.subtree_control && mkdir -p /sys/fs/cgroup/a/b && echo +memory > /sys/fs/cgroup/a/cgroup.subtree_control && mkdir /sys/fs/cgroup/a/b/c && { sleep 600 >/dev/null 2>&1 & echo $! > /sys/fs/cgroup/a/b/c/cgroup.procs; }; true']);
  console.log('started ' + sb.name + ' ' + r.code);
  setInterval(() => {}, 1000);
\`], { stdio: ['ignore', 'pipe', 'inherit'] });
const line = await new Promise((resolve) => child.stdout.on('data', (d) => resolve(String(d))));
const name = line.trim().split(' ')[1];
const nested = existsSync('/sys/fs/cgroup/kgrade/' + name + '/node/a/b/c');
child.kill('SIGKILL');
await new Promise((r) => child.on('exit', r));
const clean = spawnSync(process.execPath, ['${IN_VM}/repo/bin/kgrade.js', 'clean'], { encoding: 'utf8', timeout: 600000 });
console.log(JSON.stringify({ line: line.trim(), nested, clean: clean.status, cleanOut: clean.stdout + clean.stderr,
  left: existsSync('/sys/fs/cgroup/kgrade') ? readdirSync('/sys/fs/cgroup/kgrade') : [] }));
`;

test(
  'after SIGKILL of kgrade, `kgrade clean` removes the sandbox’s whole v2 subtree, nested cgroups too',
  LONG,
  async () => {
    const r = await node(KILLED);
    assert.equal(r.code, 0, describeExec(r));
    const k = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      nested: boolean;
      clean: number;
      cleanOut: string;
      left: string[];
    };
    assert.equal(k.nested, true, `the sandbox's root could not nest cgroups: ${r.stdout}`);
    assert.equal(k.clean, 0, k.cleanOut);
    assert.deepEqual(k.left, [], k.cleanOut);
  },
);

test('ch01-isolation: the reference gets full marks with userns on cgroup v2', LONG, async () => {
  const { r, result } = await gradeInside(
    `${IN_VM}/repo/labs/ch01-isolation`,
    `${IN_VM}/repo/labs/ch01-isolation/reference`,
    ['--isolation', 'userns'],
  );
  assert.equal(r.code, 0, describeExec(r));
  assert.equal(result?.environment.isolation, 'userns');
  assert.equal(result?.score, result?.maxScore, describeExec(r));
});

test(
  'a lab that takes either cgroup version: a v2-only cgroup.sh passes on v2, the v1-only one fails',
  LONG,
  async () => {
    const lab = `${FIXTURES}/labs/cgroup-either`;
    const v2 = await gradeInside(lab, `${FIXTURES}/cgroup-scripts/v2-only`);
    assert.equal(v2.r.code, 0, describeExec(v2.r));
    assert.equal(v2.result?.environment.isolation, 'userns');
    assert.equal(v2.result?.environment.cgroup, 'v2');
    assert.equal(v2.result?.score, 4, describeExec(v2.r));
    const v1 = await gradeInside(lab, `${FIXTURES}/cgroup-scripts/v1-only`);
    assert.equal(v1.r.code, 0, describeExec(v1.r));
    assert.equal(v1.result?.score, 0, describeExec(v1.r));
    const verify = await theVm().kgrade(['verify', lab, '--out', '/tmp/verify-either']);
    assert.equal(verify.code, 0, describeExec(verify));
  },
);

test(
  'ch03-pod-from-scratch pins cgroup v1: on this v2 host it is refused with userns, and vm is what it asks for',
  LONG,
  async () => {
    const lab = `${IN_VM}/repo/labs/ch03-pod-from-scratch`;
    const sub = `${IN_VM}/repo/labs/ch03-pod-from-scratch/reference`;
    const forced = await theVm().kgrade([
      'grade',
      lab,
      '--submission',
      sub,
      '--out',
      '/tmp/ch03-a',
      '--isolation',
      'userns',
    ]);
    assert.equal(forced.code, 3, describeExec(forced));
    assert.match(forced.stderr, /assumes cgroup v1.*runs cgroup v2.*--isolation vm/s);
    const chosen = await theVm().kgrade(['grade', lab, '--submission', sub, '--out', '/tmp/ch03-b']);
    assert.equal(chosen.code, 3, describeExec(chosen));
    assert.match(chosen.stderr, /only a VM sandbox can give it that kernel here, and qemu is not installed/);
  },
);

/**
 * Run inside: a submission empties the leaf init that kgrade runs the node's commands in and
 * removes it, then makes init (and the leaf kgrade makes beside it) unable to take processes.
 * Each later command must still run, in the sandbox's subtree; only when the submission has
 * blocked every leaf kgrade uses is the command refused, as the submission's doing.
 */
const LEAF = `
import { startSandbox } from '${IN_VM}/repo/dist/src/env/sandbox/index.js';
import { nodeImageRef } from '${IN_VM}/repo/dist/src/env/images.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
const out = {};
const sb = await startSandbox('userns', { image: nodeImageRef(), runId: 'leaf', purpose: 'cgroup leaf removed' });
const node = '/sys/fs/cgroup/kgrade/' + sb.name + '/node';
const sh = async (c) => {
  try {
    const r = await sb.exec(['bash', '-c', c], { timeoutMs: 120000 });
    return { code: r.code, out: (r.stdout + r.stderr).trim() };
  } catch (err) {
    return { code: -1, out: '', error: err.name + ': ' + err.message };
  }
};
const empty = (leaf) => 'for p in $(cat /sys/fs/cgroup/' + leaf + '/cgroup.procs); do echo $p > /sys/fs/cgroup/mine/cgroup.procs 2>/dev/null; done; ';
try {
  out.removed = await sh('mkdir /sys/fs/cgroup/mine && ' + empty('init') + 'for i in 1 2 3 4 5; do rmdir /sys/fs/cgroup/init 2>/dev/null && break; sleep 0.2; done; test ! -e /sys/fs/cgroup/init && echo removed');
  out.goneOnHost = !existsSync(node + '/init');
  // Control: the command kgrade ran before, straight to runc, with init gone.
  const raw = spawnSync('runc', ['--root', process.env.KGRADE_STATE + '/runc', 'exec', '--cgroup', 'init', sb.name, 'echo', 'ran'], { encoding: 'utf8', timeout: 120000 });
  out.raw = { code: raw.status, out: (raw.stdout + raw.stderr).trim() };
  out.later = await sh('echo still here; cat /proc/self/cgroup; stat -c %u /sys/fs/cgroup/init');
  out.blockInit = await sh(
    empty('init') + 'echo +pids > /sys/fs/cgroup/cgroup.subtree_control && mkdir /sys/fs/cgroup/init/sub && ' +
      'echo +pids > /sys/fs/cgroup/init/cgroup.subtree_control && echo blocked',
  );
  out.beside = await sh('cat /proc/self/cgroup; cat /sys/fs/cgroup/init/cgroup.subtree_control');
  out.blockBoth = await sh(
    empty('init.kgrade') + 'mkdir /sys/fs/cgroup/init.kgrade/sub && echo +pids > /sys/fs/cgroup/init.kgrade/cgroup.subtree_control && echo blocked',
  );
  out.refused = await sh('echo ran anyway');
  out.cgroups = readdirSync(node, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
} finally {
  await sb.destroy();
}
out.left = existsSync('/sys/fs/cgroup/kgrade') ? readdirSync('/sys/fs/cgroup/kgrade') : [];
console.log(JSON.stringify(out));
`;

type Attempt = Shell & { error?: string };

interface LeafReport {
  removed?: Attempt;
  goneOnHost: boolean;
  raw?: Attempt;
  later?: Attempt;
  blockInit?: Attempt;
  beside?: Attempt;
  blockBoth?: Attempt;
  refused?: Attempt;
  cgroups: string[];
  left: string[];
}

test(
  'userns on cgroup v2: a submission that removes or blocks the leaf init still has its later commands run, as its own',
  LONG,
  async (t) => {
    const r = await node(LEAF);
    assert.equal(r.code, 0, describeExec(r));
    const p = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as LeafReport;
    t.diagnostic(JSON.stringify(p));
    assert.equal(p.removed?.out, 'removed', JSON.stringify(p.removed));
    assert.equal(p.goneOnHost, true);
    // The control: without a leaf made anew, runc cannot run the command.
    assert.notEqual(p.raw?.code, 0, `runc exec --cgroup init ran with init removed: ${JSON.stringify(p.raw)}`);
    assert.equal(p.later?.code, 0, JSON.stringify(p.later));
    assert.match(
      p.later?.out ?? '',
      /^still here\n0::\/init\n0$/,
      'init made anew, owned by the sandbox root (uid 0 inside)',
    );
    assert.equal(p.blockInit?.out, 'blocked', JSON.stringify(p.blockInit));
    assert.equal(p.beside?.code, 0, JSON.stringify(p.beside));
    assert.equal(p.beside?.out, '0::/init.kgrade\npids', 'the next command in a leaf beside init, init left as made');
    assert.equal(p.blockBoth?.out, 'blocked', JSON.stringify(p.blockBoth));
    assert.equal(p.refused?.code, -1, JSON.stringify(p.refused));
    assert.match(p.refused?.error ?? '', /^SubmissionAssertionError: no command can run on the node any more/);
    assert.deepEqual(p.cgroups, ['init', 'init.kgrade', 'mine']);
    assert.deepEqual(p.left, []);
  },
);

/**
 * What a hostile submission's background loop does to kgrade's leaves, one per sandbox, each kept
 * running while kgrade runs the node's next commands:
 * - rmdir: moves every process out of init and init.kgrade and removes them, as fast as it can;
 * - threaded: lives in the node's root cgroup, moves every process there and makes the leaves threaded;
 * - pids: sets pids.max to 0 in both leaves, without end;
 * - trap: moves every process of both leaves into a cgroup of its own whose pids.max is 0;
 * - memory: sets memory.max to 0 in both leaves, without end (the node's PID 1 is in init);
 * - memtrap: moves every process of both leaves but the node's PID 1 into a cgroup whose memory.max is 0;
 * - freeze: freezes both leaves, without end;
 * - ice: moves every process of both leaves into a frozen cgroup of its own.
 * The loops use bash builtins but for rmdir, one fork a round.
 */
const RACERS: Record<string, string> = {
  rmdir: `cd /sys/fs/cgroup; mkdir -p mine; echo $$ > mine/cgroup.procs
while :; do
  for l in init init.kgrade; do while read -r p; do echo $p > mine/cgroup.procs; done < $l/cgroup.procs; done 2>/dev/null
  rmdir init init.kgrade 2>/dev/null
done`,
  threaded: `cd /sys/fs/cgroup; echo $$ > cgroup.procs
while :; do
  for l in init init.kgrade; do while read -r p; do echo $p > cgroup.procs; done < $l/cgroup.procs; echo threaded > $l/cgroup.type; done 2>/dev/null
done`,
  pids: `cd /sys/fs/cgroup; mkdir -p mine; echo $$ > mine/cgroup.procs; echo +pids > cgroup.subtree_control
while :; do for l in init init.kgrade; do echo 0 > $l/pids.max; done 2>/dev/null; done`,
  freeze: `cd /sys/fs/cgroup; mkdir -p mine; echo $$ > mine/cgroup.procs
while :; do for l in init init.kgrade; do echo 1 > $l/cgroup.freeze; done 2>/dev/null; done`,
  trap: `cd /sys/fs/cgroup; mkdir -p mine trap; echo $$ > mine/cgroup.procs; echo +pids > cgroup.subtree_control; echo 0 > trap/pids.max
while :; do
  for l in init init.kgrade; do while read -r p; do echo $p > trap/cgroup.procs; done < $l/cgroup.procs; done 2>/dev/null
done`,
  memory: `cd /sys/fs/cgroup; mkdir -p mine; echo $$ > mine/cgroup.procs; echo +memory > cgroup.subtree_control
while :; do for l in init init.kgrade; do echo 0 > $l/memory.max; done 2>/dev/null; done`,
  memtrap: `cd /sys/fs/cgroup; mkdir -p mine memtrap; echo $$ > mine/cgroup.procs; echo +memory > cgroup.subtree_control; echo 0 > memtrap/memory.max
while :; do
  for l in init init.kgrade; do while read -r p; do [ "$p" = 1 ] || echo $p > memtrap/cgroup.procs; done < $l/cgroup.procs; done 2>/dev/null
done`,
  ice: `cd /sys/fs/cgroup; mkdir -p mine ice; echo $$ > mine/cgroup.procs; echo 1 > ice/cgroup.freeze
while :; do
  for l in init init.kgrade; do while read -r p; do echo $p > ice/cgroup.procs; done < $l/cgroup.procs; done 2>/dev/null
done`,
};

/**
 * Run inside: for each racer a sandbox starts it in the background, then kgrade runs two commands
 * there, each under a deadline of its own that records the last state it saw; the sandbox is
 * removed, and a fresh sandbox (the next scenario) runs a command. Progress goes to a log as it
 * happens, for the test to show when the run itself does not end.
 */
const RACE = `
import { startSandbox } from '${IN_VM}/repo/dist/src/env/sandbox/index.js';
import { nodeImageRef } from '${IN_VM}/repo/dist/src/env/images.js';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
const racers = ${JSON.stringify(RACERS)};
const only = process.env.RACERS ? process.env.RACERS.split(',') : Object.keys(racers);
const log = (l) => appendFileSync('/tmp/race.log', new Date().toISOString() + ' ' + l + '\\n');
const tree = (d, pre = '') => {
  const lines = [];
  let entries = [];
  try { entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()); } catch {}
  for (const e of entries) {
    const dir = d + '/' + e.name;
    const read = (f) => { try { return readFileSync(dir + '/' + f, 'utf8').trim().replace(/\\n/g, ','); } catch { return '?'; } };
    lines.push(pre + e.name + ' type=' + read('cgroup.type') + ' procs=' + read('cgroup.procs') + ' freeze=' + read('cgroup.freeze') + ' sub=' + read('cgroup.subtree_control'));
    lines.push(...tree(dir, pre + '  '));
  }
  return lines;
};
/** A command under a deadline: its outcome, or what the node's cgroups looked like when the deadline passed. */
const timed = async (sb, argv, what, stdin) => {
  const started = Date.now();
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'DEADLINE', cgroups: tree('/sys/fs/cgroup/kgrade/' + sb.name) }), 150000);
  });
  const run = sb.exec(argv, { timeoutMs: 15000, ...(stdin === undefined ? {} : { stdin }) }).then(
    (r) => ({ outcome: 'code ' + r.code + ': ' + (r.stdout + r.stderr).trim().slice(0, 300) }),
    (err) => ({ outcome: err.name + ': ' + err.message }),
  );
  const r = await Promise.race([run, deadline]);
  clearTimeout(timer);
  r.ms = Date.now() - started;
  log(what + ' ' + JSON.stringify(r));
  return r;
};
const out = {};
for (const name of only) {
  const o = (out[name] = {});
  log('start ' + name);
  const sb = await startSandbox('userns', { image: nodeImageRef(), runId: 'race-' + name, purpose: 'racing leaves' });
  try {
    o.staged = await timed(sb, ['bash', '-c', 'cat > /racer.sh && echo staged'], name + ' stage', racers[name]);
    o.started = await timed(
      sb,
      ['bash', '-c', '(exec bash /racer.sh </dev/null >/dev/null 2>&1 &); echo started'],
      name + ' racer',
    );
    o.commands = [];
    for (let i = 0; i < 2; i += 1) o.commands.push(await timed(sb, ['echo', 'ran'], name + ' command ' + i));
    o.cgroups = tree('/sys/fs/cgroup/kgrade/' + sb.name);
  } finally {
    const t0 = Date.now();
    try {
      await sb.destroy();
      o.removed = 'ok';
    } catch (err) {
      o.removed = err.name + ': ' + err.message;
    }
    o.removeMs = Date.now() - t0;
    log(name + ' removed ' + o.removed + ' in ' + o.removeMs + ' ms');
  }
  o.left = existsSync('/sys/fs/cgroup/kgrade') ? readdirSync('/sys/fs/cgroup/kgrade') : [];
  const next = await startSandbox('userns', { image: nodeImageRef(), runId: 'next-' + name, purpose: 'after the racer' });
  try {
    o.next = await timed(next, ['echo', 'next'], name + ' next');
  } finally {
    await next.destroy();
  }
}
out.left = existsSync('/sys/fs/cgroup/kgrade') ? readdirSync('/sys/fs/cgroup/kgrade') : [];
console.log(JSON.stringify(out));
`;

/**
 * What becomes of a command under each racer: refused as the submission's failed, with a message
 * that names what the loop did (says); or, when the loop catches the command itself once runc has
 * started it, the command's own failure (stopped: timeout cannot fork, or the command is
 * OOM-killed), a result the step judges; or, where ran is true, it may still win the race and
 * run. Under threaded the leaves take no process, and runc puts the command in the cgroup of the
 * node's PID 1 instead.
 */
const OUTCOMES: Record<string, { ran: boolean; stopped?: RegExp; says: RegExp }> = {
  // Removed between runc's look and its join (runc fails three times), or before kgrade's own
  // look at it (each leaf made anew is gone at once): both name the removal. The faster the
  // guest, the more often the loop wins the second way.
  rmdir: {
    ran: true,
    says: /could not join the cgroup \/sys\/fs\/cgroup\/init(\.kgrade)?, which something on the node removes|\/sys\/fs\/cgroup\/init and \/sys\/fs\/cgroup\/init\.kgrade, where kgrade runs them, can take no process or vanish as soon as they are made \(.*removes them\)/,
  },
  threaded: { ran: true, says: /can take no process or vanish/ },
  pids: {
    ran: false,
    stopped: /^code 125: timeout: fork/,
    says: /\/sys\/fs\/cgroup\/init(\.kgrade)? is full \(pids\.max 0/,
  },
  trap: { ran: false, stopped: /^code 125: timeout: fork/, says: /\/sys\/fs\/cgroup\/trap is full \(pids\.max 0/ },
  memory: {
    ran: false,
    stopped: /^code 137: /,
    says: /\/sys\/fs\/cgroup\/init OOM-kills what runs there \(memory\.max 0/,
  },
  memtrap: {
    ran: false,
    stopped: /^code 137: /,
    says: /\/sys\/fs\/cgroup\/memtrap OOM-kills what runs there \(memory\.max 0/,
  },
  freeze: { ran: false, says: /\/sys\/fs\/cgroup\/init(\.kgrade)? is frozen/ },
  ice: { ran: false, says: /\/sys\/fs\/cgroup\/ice is frozen/ },
};

interface Timed {
  outcome: string;
  ms: number;
  cgroups?: string[];
}

interface RaceReport {
  staged?: Timed;
  started?: Timed;
  commands?: Timed[];
  cgroups?: string[];
  removed?: string;
  removeMs?: number;
  left?: string[];
  next?: Timed;
}

test(
  'userns on cgroup v2: a background loop that breaks every leaf kgrade makes fails only its own submission, within deadlines, and leaves nothing',
  LONG,
  async (t) => {
    const racers = process.env.KGRADE_RACERS ?? Object.keys(RACERS).join(',');
    await theVm().sandbox.exec(['rm', '-f', '/tmp/race.log']);
    const r = await theVm().sandbox.exec(
      [
        'env',
        ...Object.entries(VM_KGRADE_ENV).map(([k, v]) => `${k}=${v}`),
        `RACERS=${racers}`,
        `${IN_VM}/node/bin/node`,
        '--input-type=module',
        '-e',
        RACE,
      ],
      { timeoutMs: 1_000_000 },
    );
    const progress = await theVm().sandbox.exec([
      'sh',
      '-c',
      'cat /tmp/race.log; ps -eo pid,ppid,stat,etime,args | tail -40',
    ]);
    t.diagnostic(progress.stdout);
    assert.equal(r.code, 0, `${describeExec(r)}\n${progress.stdout}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, RaceReport> & {
      left: string[];
    };
    t.diagnostic(JSON.stringify(report));
    for (const name of racers.split(',')) {
      const p = report[name] ?? {};
      const all = JSON.stringify(p);
      assert.equal(p.started?.outcome, 'code 0: started', `${name}: ${all}`);
      assert.equal(p.commands?.length, 2, `${name}: ${all}`);
      const expected = OUTCOMES[name];
      for (const c of p.commands ?? []) {
        if (c.outcome === 'code 0: ran' && expected?.ran) continue;
        if (expected?.stopped?.test(c.outcome)) continue;
        assert.match(c.outcome, /^SubmissionAssertionError: /, `${name}: ${all}`);
        assert.match(c.outcome, expected?.says ?? /^$/, `${name}: the message names what the node did: ${all}`);
      }
      assert.equal(p.removed, 'ok', `${name}: ${all}`);
      assert.deepEqual(p.left, [], `${name}: ${all}`);
      assert.equal(p.next?.outcome, 'code 0: next', `${name}: ${all}`);
    }
    assert.deepEqual(report.left, []);
  },
);
