import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GraderError } from '../../errors.js';
import { cgroupV1Mounts, cgroupV2Only } from './cgroup-mounts.js';

/**
 * The host cgroup of one VM's qemu process: its memory (the guest's RAM and qemu's own), CPU
 * and thread caps. On a cgroup v1 host, kgrade-vm/NAME in the memory, cpu and pids hierarchies;
 * on a cgroup v2 host, kgrade-vm/NAME in the unified one.
 */
export interface VmCgroupLimits {
  memoryBytes: number;
  cpus: number;
  pids: number;
}

const PARENT = 'kgrade-vm';
const V1_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

/** The folders of the VM's cgroup, whether or not they exist. */
export function vmCgroupDirs(name: string): string[] {
  if (cgroupV2Only()) return [path.join('/sys/fs/cgroup', PARENT, name)];
  const mounts = cgroupV1Mounts();
  return V1_CONTROLLERS.flatMap((c) => (mounts.has(c) ? [path.join(mounts.get(c) ?? '', PARENT, name)] : []));
}

function write(dir: string, file: string, value: string): void {
  try {
    writeFileSync(path.join(dir, file), value);
  } catch (err) {
    throw new GraderError(`could not set ${path.join(dir, file)} to ${value}: ${(err as Error).message}`);
  }
}

/** Makes the VM's cgroup with its limits; returns the files a process writes its PID to, to join it. */
export function makeVmCgroup(name: string, limits: VmCgroupLimits): string[] {
  const period = 100_000;
  const quota = Math.round(limits.cpus * period);
  if (cgroupV2Only()) {
    const parent = path.join('/sys/fs/cgroup', PARENT);
    mkdirSync(parent, { recursive: true });
    write(parent, 'cgroup.subtree_control', '+memory +cpu +pids');
    const dir = path.join(parent, name);
    mkdirSync(dir, { recursive: true });
    write(dir, 'memory.max', String(limits.memoryBytes));
    write(dir, 'memory.swap.max', '0');
    write(dir, 'cpu.max', `${quota} ${period}`);
    write(dir, 'pids.max', String(limits.pids));
    return [path.join(dir, 'cgroup.procs')];
  }
  const mounts = cgroupV1Mounts();
  const missing = V1_CONTROLLERS.filter((c) => !mounts.has(c));
  if (missing.length)
    throw new GraderError(
      `VM sandboxes need the cgroup controllers ${missing.join(', ')}, which this host has not mounted`,
    );
  const procs: string[] = [];
  for (const c of V1_CONTROLLERS) {
    const dir = path.join(mounts.get(c) ?? '', PARENT, name);
    mkdirSync(dir, { recursive: true });
    if (c === 'memory') write(dir, 'memory.limit_in_bytes', String(limits.memoryBytes));
    if (c === 'cpu') {
      write(dir, 'cpu.cfs_period_us', String(period));
      write(dir, 'cpu.cfs_quota_us', String(quota));
    }
    if (c === 'pids') write(dir, 'pids.max', String(limits.pids));
    procs.push(path.join(dir, 'cgroup.procs'));
  }
  return procs;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Removes the VM's cgroup once its processes are gone (a qemu that was just killed may take a
 * few seconds to leave it on a loaded host); the shared parent goes when it is empty.
 * Throws GraderError when the cgroup stays busy.
 */
export function removeVmCgroup(name: string): void {
  for (const dir of vmCgroupDirs(name)) {
    for (let attempt = 0; existsSync(dir); attempt++) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        if (attempt >= 300) throw new GraderError(`could not remove ${dir}: ${(err as Error).message}`);
        sleepSync(100);
      }
    }
    try {
      rmdirSync(path.dirname(dir));
    } catch {
      // another VM's cgroup is still in it
    }
  }
}

/** Names of VM cgroups on the host, whether or not their VM still exists. */
export function listedVmCgroups(): string[] {
  const names = new Set<string>();
  for (const dir of vmCgroupDirs('x')) {
    const parent = path.dirname(dir);
    if (!existsSync(parent)) continue;
    for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) names.add(e.name);
  }
  return [...names];
}
