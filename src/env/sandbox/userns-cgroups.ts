import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { lchown, readdir } from 'node:fs/promises';
import path from 'node:path';
import { GraderError } from '../../errors.js';
import { LIMITS } from './node-setup.js';

/** The cgroup v1 controllers a sandbox's root may manage below its own cgroup, as on a node. */
export const DELEGATED = ['memory', 'pids', 'cpu'] as const;

/** Mount points of the cgroup v1 hierarchies, by controller. */
function cgroupV1Mounts(): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fstype, , superOptions = ''] = after.split(' ');
    if (fstype !== 'cgroup') continue;
    const mountPoint = before.split(' ')[4] ?? '';
    for (const opt of superOptions.split(',')) mounts.set(opt, mountPoint);
  }
  return mounts;
}

export function requireCgroupV1(): Map<string, string> {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new GraderError(
      'this host runs cgroup v2 only; userns sandboxes delegate cgroup v1 controllers and are not built for v2 yet: grade with --isolation privileged',
    );
  }
  const mounts = cgroupV1Mounts();
  const missing = DELEGATED.filter((c) => !mounts.has(c));
  if (missing.length) throw new GraderError(`userns sandboxes need the cgroup v1 controllers ${missing.join(', ')}, which this host has not mounted`);
  return mounts;
}

/** The sandbox's own cgroup, kgrade/NAME, in every hierarchy runc places it in (v1, and v2 beside them). */
export function sandboxCgroups(name: string): string[] {
  const seen = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    const fstype = after?.split(' ')[0];
    if (before && (fstype === 'cgroup' || fstype === 'cgroup2')) seen.add(path.join(before.split(' ')[4] ?? '', 'kgrade', name));
  }
  return [...seen];
}

export function writeLimits(mounts: Map<string, string>, name: string): void {
  const dir = (c: string) => path.join(mounts.get(c) ?? '', 'kgrade', name);
  for (const c of DELEGATED) mkdirSync(dir(c), { recursive: true });
  writeFileSync(path.join(dir('memory'), 'memory.limit_in_bytes'), String(LIMITS.memoryBytes));
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

/** Removes a cgroup folder and any the sandbox made below it, deepest first. */
export function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
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
