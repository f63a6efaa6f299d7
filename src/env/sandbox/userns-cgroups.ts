import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { lchown, readdir } from 'node:fs/promises';
import path from 'node:path';
import { GraderError, SubmissionAssertionError } from '../../errors.js';
import { cgroupV1Mounts, cgroupV2Only } from './cgroup-mounts.js';
import { LIMITS } from './node-setup.js';

/** The cgroup v1 controllers a sandbox's root may manage below its own cgroup, as on a node. */
export const DELEGATED = ['memory', 'pids', 'cpu'] as const;

/**
 * The cgroups a host gives its userns sandboxes: the v1 hierarchies of the delegated controllers,
 * or the v2 unified hierarchy (whose cgroup.controllers must offer them).
 */
export type HostCgroups = { version: 'v1'; mounts: Map<string, string> } | { version: 'v2'; root: string };

const V2_ROOT = '/sys/fs/cgroup';

export function hostCgroups(): HostCgroups {
  if (cgroupV2Only()) {
    const offered = readFileSync(path.join(V2_ROOT, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    const missing = DELEGATED.filter((c) => !offered.includes(c));
    if (missing.length)
      throw new GraderError(
        `userns sandboxes need the cgroup v2 controllers ${missing.join(', ')}, which ${V2_ROOT}/cgroup.controllers does not offer`,
      );
    return { version: 'v2', root: V2_ROOT };
  }
  const mounts = cgroupV1Mounts();
  const missing = DELEGATED.filter((c) => !mounts.has(c));
  if (missing.length)
    throw new GraderError(
      `userns sandboxes need the cgroup v1 controllers ${missing.join(', ')}, which this host has not mounted`,
    );
  return { version: 'v1', mounts };
}

/** The sandbox's own cgroup, kgrade/NAME, in every hierarchy runc places it in (v1, and v2 beside them). */
export function sandboxCgroups(name: string): string[] {
  const seen = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    const fstype = after?.split(' ')[0];
    if (before && (fstype === 'cgroup' || fstype === 'cgroup2'))
      seen.add(path.join(before.split(' ')[4] ?? '', 'kgrade', name));
  }
  return [...seen];
}

/**
 * The leaf below the delegated cgroup (v2) where the sandbox's own processes live, as systemd in a
 * container keeps itself in init.scope: its parent, the sandbox's cgroup root, holds no process,
 * so that a root inside may enable controllers there and make cgroups beside it.
 */
export const V2_LEAF = 'init';

const CONTROLLERS = DELEGATED.map((c) => `+${c}`).join(' ');

function enableControllers(dir: string): void {
  try {
    writeFileSync(path.join(dir, 'cgroup.subtree_control'), CONTROLLERS);
  } catch (err) {
    throw new GraderError(
      `could not enable ${DELEGATED.join(', ')} in ${dir}/cgroup.subtree_control: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Makes kgrade/NAME with the sandbox's limits, host-owned: on v1 in each delegated hierarchy; on
 * v2 with the controllers passed down to NAME/node, the subtree runc puts the sandbox in.
 */
export function writeLimits(host: HostCgroups, name: string): void {
  if (host.version === 'v2') {
    const top = path.join(host.root, 'kgrade');
    const own = path.join(top, name);
    enableControllers(host.root);
    mkdirSync(top, { recursive: true });
    enableControllers(top);
    mkdirSync(own, { recursive: true });
    writeFileSync(path.join(own, 'memory.max'), String(LIMITS.memoryBytes));
    if (existsSync(path.join(own, 'memory.swap.max'))) writeFileSync(path.join(own, 'memory.swap.max'), '0');
    writeFileSync(path.join(own, 'pids.max'), String(LIMITS.pids));
    writeFileSync(path.join(own, 'cpu.max'), `${Math.round(LIMITS.cpus * 100000)} 100000`);
    enableControllers(own);
    return;
  }
  const dir = (c: string) => path.join(host.mounts.get(c) ?? '', 'kgrade', name);
  for (const c of DELEGATED) mkdirSync(dir(c), { recursive: true });
  writeFileSync(path.join(dir('memory'), 'memory.limit_in_bytes'), String(LIMITS.memoryBytes));
  // Kernel memory (socket buffers of unix sockets included) is charged to the limit above by
  // itself; TCP buffers are charged in cgroup v1 only once a TCP limit is set.
  const tcp = path.join(dir('memory'), 'memory.kmem.tcp.limit_in_bytes');
  if (existsSync(tcp)) writeFileSync(tcp, String(LIMITS.memoryBytes));
  writeFileSync(path.join(dir('pids'), 'pids.max'), String(LIMITS.pids));
  writeFileSync(path.join(dir('cpu'), 'cpu.cfs_period_us'), '100000');
  writeFileSync(path.join(dir('cpu'), 'cpu.cfs_quota_us'), String(Math.round(LIMITS.cpus * 100000)));
}

/** The files of a delegated v2 cgroup its new owner writes (cgroup-v2.rst, "Delegation"); its limits stay the host's. */
const V2_DELEGATED_FILES = ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'];

/**
 * Hands NAME/node to the sandbox's root, as a node's root owns its cgroups. On v1: the folder and
 * its files in each delegated hierarchy. On v2: the folder and the three files delegation names,
 * then the leaf NAME/node/init, wholly the sandbox's, where the sandbox's PID 1 (initPid, still
 * waiting for `runc start`) moves; `runc exec --cgroup init` puts every later process there too.
 */
export async function delegate(host: HostCgroups, name: string, base: number, initPid: number): Promise<void> {
  if (host.version === 'v2') {
    const node = path.join(host.root, 'kgrade', name, 'node');
    await lchown(node, base, base);
    for (const f of V2_DELEGATED_FILES) await lchown(path.join(node, f), base, base);
    const leaf = path.join(node, V2_LEAF);
    await makeLeaf(leaf, base);
    writeFileSync(path.join(leaf, 'cgroup.procs'), String(initPid));
    return;
  }
  for (const c of DELEGATED) {
    const dir = path.join(host.mounts.get(c) ?? '', 'kgrade', name, 'node');
    await lchown(dir, base, base);
    for (const f of await readdir(dir)) await lchown(path.join(dir, f), base, base);
  }
}

/** Makes a cgroup below NAME/node that the sandbox's root owns wholly, as it owns what it makes there itself. */
async function makeLeaf(dir: string, base: number): Promise<void> {
  mkdirSync(dir);
  await lchown(dir, base, base);
  for (const f of await readdir(dir)) await lchown(path.join(dir, f), base, base);
}

/** Whether a v2 cgroup can take a process: a domain whose controllers are not passed down (no internal processes). */
function takesProcesses(dir: string): boolean {
  try {
    const type = readFileSync(path.join(dir, 'cgroup.type'), 'utf8').trim();
    const passedDown = readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8').trim();
    return (type === 'domain' || type === 'domain threaded') && passedDown === '';
  } catch {
    return false;
  }
}

/**
 * The leaves a command may go to, in order: init, then one beside it for when the sandbox's root
 * has made init unable to take processes (controllers enabled in it, or made threaded).
 */
const EXEC_LEAVES = [V2_LEAF, `${V2_LEAF}.kgrade`];

/**
 * The leaf below NAME/node that `runc exec --cgroup` puts the next command in. The leaf is the
 * sandbox root's to change: a submission may empty it and rmdir it, as a node's root may any
 * cgroup of its own. A leaf that is gone is made anew (owned by the sandbox's root, as before),
 * one that can take no process is passed over for the next, so that the submission's next
 * command still runs, in its own subtree, and what it does is the submission's result. When
 * every leaf is blocked, or each one made vanishes at once (a process on the node removing
 * them), the command cannot run, and that is the submission's doing.
 */
export async function execLeaf(name: string, base: number): Promise<string> {
  const node = path.join(V2_ROOT, 'kgrade', name, 'node');
  for (let round = 0; round < 3; round += 1) {
    for (const leaf of EXEC_LEAVES) {
      const dir = path.join(node, leaf);
      if (takesProcesses(dir)) return leaf;
      if (existsSync(dir)) continue;
      try {
        await makeLeaf(dir, base);
        return leaf;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Made or removed by the node meanwhile: looked at again.
        if (code !== 'EEXIST' && code !== 'ENOENT')
          throw new GraderError(`could not make the cgroup ${dir} for the node's commands: ${(err as Error).message}`, {
            cause: err,
          });
      }
    }
  }
  throw new SubmissionAssertionError(
    `no command can run on the node any more: its cgroups ${EXEC_LEAVES.map((l) => `/sys/fs/cgroup/${l}`).join(' and ')}, where kgrade runs them, can take no process or vanish as soon as they are made (something on the node enabled controllers in them, made them threaded or removes them)`,
  );
}

/** How many of the node's cgroups cgroupObstacles looks at, at most: the sandbox's root may make thousands. */
const OBSTACLE_WALK_LIMIT = 2000;

function readTrimmed(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * What in the cgroup dir stops a process from running there: frozen, full at its pids.max, or
 * (v2) at a memory.max of its own, where what runs stalls, or is OOM-killed when oomKilled says
 * that the node's out-of-memory killer struck meanwhile.
 */
function obstacleIn(dir: string, oomKilled: boolean): string | undefined {
  if (readTrimmed(path.join(dir, 'cgroup.freeze')) === '1') return 'is frozen (cgroup.freeze 1)';
  const max = readTrimmed(path.join(dir, 'pids.max'));
  const current = readTrimmed(path.join(dir, 'pids.current'));
  if (max !== undefined && max !== 'max' && current !== undefined && Number(current) >= Number(max))
    return `is full (pids.max ${max}, ${current} running): no process or thread can start there`;
  const memoryMax = readTrimmed(path.join(dir, 'memory.max'));
  if (memoryMax === undefined || memoryMax === 'max') return undefined;
  const kills = Number(/^oom_kill (\d+)/m.exec(readTrimmed(path.join(dir, 'memory.events')) ?? '')?.[1] ?? '0');
  if (oomKilled && kills > 0) return `OOM-kills what runs there (memory.max ${memoryMax}, ${kills} killed)`;
  const populated = /^populated 1$/m.test(readTrimmed(path.join(dir, 'cgroup.events')) ?? '');
  if (populated && Number(readTrimmed(path.join(dir, 'memory.current'))) >= Number(memoryMax))
    return `is at its memory.max (${memoryMax}): what runs there stalls`;
  return undefined;
}

/**
 * What the sandbox's root has done to its cgroups that stops kgrade's commands, in the node's own
 * words (/sys/fs/cgroup/...): a cgroup frozen, one at its pids.max, where runc's helper process
 * cannot even start its threads, or one whose memory.max stalls or OOM-kills it (oomKillsBefore:
 * oomKills() before the command, so that only a kill during it counts). A root inside may move
 * any process of its subtree, kgrade's too, into such a cgroup, or make the leaf kgrade uses one,
 * so a runc exec that fails or does not return is the submission's doing when this names
 * something. The sandbox's own cgroup counts as well (its limits are out of the root's reach,
 * but what fills them runs on the node). On v1 only the pids hierarchy is looked at. The walk
 * stops after OBSTACLE_WALK_LIMIT cgroups.
 */
export function cgroupObstacles(name: string, oomKillsBefore: number): string[] {
  const top = cgroupV2Only()
    ? path.join(V2_ROOT, 'kgrade', name)
    : path.join(cgroupV1Mounts().get('pids') ?? '', 'kgrade', name);
  const node = path.join(top, 'node');
  const shown = (dir: string) =>
    dir === top ? 'the node itself' : `/sys/fs/cgroup${dir === node ? '' : `/${path.relative(node, dir)}`}`;
  const oomKilled = oomKills(name) > oomKillsBefore;
  const found: string[] = [];
  const queue = [top];
  for (let seen = 0; queue.length > 0 && seen < OBSTACLE_WALK_LIMIT; seen += 1) {
    const dir = queue.shift() ?? top;
    // The node's own memory.events counts every kill below it: its limit is named only by the caller.
    const obstacle = obstacleIn(dir, oomKilled && dir !== top);
    if (obstacle) found.push(`${shown(dir)} ${obstacle}`);
    try {
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory()) queue.push(path.join(dir, e.name));
    } catch {
      // gone meanwhile, or a path past PATH_MAX: what is below is not looked at
    }
  }
  return found;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A name inside the folder open as fd: always a short path, however deep the folder lies. */
const inside = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;

const pause = new Int32Array(new SharedArrayBuffer(4));

/** SIGKILLs every process of the cgroup open as fd (its cgroup.procs holds host PIDs). */
function killMembers(fd: number): void {
  let text = '';
  try {
    text = readFileSync(inside(fd, 'cgroup.procs'), 'utf8');
  } catch {
    return; // a hierarchy without cgroup.procs at this level, or gone meanwhile
  }
  for (const pid of text.split('\n').filter((l) => /^\d+$/.test(l))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** rmdir of a member of the folder open as fd; an exiting process keeps a cgroup busy a moment. */
function rmdirAt(fd: number, name: string, until: number, shown: string): void {
  for (;;) {
    try {
      rmdirSync(inside(fd, name));
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > until)
        throw new GraderError(`could not remove the cgroup ${shown}: ${code ?? String(err)}`, { cause: err });
    }
    try {
      const child = openSync(inside(fd, name), DIR_FLAGS);
      try {
        killMembers(child);
      } finally {
        closeSync(child);
      }
    } catch {
      // gone meanwhile: the next rmdir says so
    }
    Atomics.wait(pause, 0, 0, 50);
  }
}

/**
 * Removes a cgroup folder and every cgroup the sandbox made below it, deepest first, killing
 * what is still inside. It walks by directory file descriptor, one name at a time, holding one
 * descriptor at a time: a chain of cgroups deeper or longer-named than PATH_MAX is removed too,
 * and no name the sandbox chose ever goes through a shell. Throws GraderError when a cgroup
 * stays busy past timeoutMs.
 */
export function removeCgroupTree(dir: string, timeoutMs = 15_000): void {
  const until = Date.now() + timeoutMs;
  let fd: number;
  try {
    fd = openSync(dir, DIR_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new GraderError(`could not open the cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const below: string[] = [];
  try {
    for (;;) {
      killMembers(fd);
      const child = readdirSync(inside(fd, ''), { withFileTypes: true }).find((e) => e.isDirectory())?.name;
      if (child !== undefined) {
        const next = openSync(inside(fd, child), DIR_FLAGS);
        closeSync(fd);
        fd = next;
        below.push(child);
        continue;
      }
      const name = below.pop();
      if (name === undefined) break;
      const parent = openSync(inside(fd, '..'), DIR_FLAGS);
      closeSync(fd);
      fd = parent;
      rmdirAt(fd, name, until, `${below.length + 1} level(s) below ${dir}`);
    }
  } finally {
    closeSync(fd);
  }
  const parent = openSync(path.dirname(dir), DIR_FLAGS);
  try {
    rmdirAt(parent, path.basename(dir), until, dir);
  } finally {
    closeSync(parent);
  }
}

/** How many times the kernel's OOM killer has killed in the sandbox's own cgroup. */
export function oomKills(name: string): number {
  try {
    if (cgroupV2Only()) {
      const events = readFileSync(path.join(V2_ROOT, 'kgrade', name, 'memory.events'), 'utf8');
      return Number(/^oom_kill (\d+)/m.exec(events)?.[1] ?? '0');
    }
    const mountPoint = cgroupV1Mounts().get('memory');
    if (!mountPoint) return 0;
    const text = readFileSync(path.join(mountPoint, 'kgrade', name, 'memory.oom_control'), 'utf8');
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? '0');
  } catch {
    return 0;
  }
}
