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
import { GraderError } from '../../errors.js';
import { cgroupV1Mounts, cgroupV2Only } from './cgroup-mounts.js';
import { LIMITS } from './node-setup.js';

/** The cgroup v1 controllers a sandbox's root may manage below its own cgroup, as on a node. */
export const DELEGATED = ['memory', 'pids', 'cpu'] as const;

export function requireCgroupV1(): Map<string, string> {
  if (cgroupV2Only()) {
    throw new GraderError(
      'this host runs cgroup v2 only; userns sandboxes delegate cgroup v1 controllers and are not built for v2 yet: grade with --isolation privileged',
    );
  }
  const mounts = cgroupV1Mounts();
  const missing = DELEGATED.filter((c) => !mounts.has(c));
  if (missing.length)
    throw new GraderError(
      `userns sandboxes need the cgroup v1 controllers ${missing.join(', ')}, which this host has not mounted`,
    );
  return mounts;
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

export function writeLimits(mounts: Map<string, string>, name: string): void {
  const dir = (c: string) => path.join(mounts.get(c) ?? '', 'kgrade', name);
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

/** Hands NAME/node in the delegated hierarchies to the sandbox's root, as a node's root owns its cgroups. */
export async function delegate(mounts: Map<string, string>, name: string, base: number): Promise<void> {
  for (const c of DELEGATED) {
    const dir = path.join(mounts.get(c) ?? '', 'kgrade', name, 'node');
    await lchown(dir, base, base);
    for (const f of await readdir(dir)) await lchown(path.join(dir, f), base, base);
  }
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

export function oomKills(name: string): number {
  const mountPoint = cgroupV1Mounts().get('memory');
  if (!mountPoint) return 0;
  try {
    const text = readFileSync(path.join(mountPoint, 'kgrade', name, 'memory.oom_control'), 'utf8');
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? '0');
  } catch {
    return 0;
  }
}
