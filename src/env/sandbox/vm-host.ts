import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { vmQemu } from '../../config.js';
import { GraderError } from '../../errors.js';
import { vmCgroupDirs } from './vm-cgroups.js';

/*
 * What the host must give a VM sandbox (a qemu binary, memory) and, when a VM's qemu ends,
 * the host-side cause in words: the out-of-memory killer, qemu failing to allocate. Each is a
 * GraderError, never a student's failure.
 */

const QEMU_PATHS = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'];
const INSTALL = 'Debian: apt-get install qemu-system-x86 qemu-utils';

/** The qemu-system-x86_64 to run: KGRADE_QEMU, else the installed one; a GraderError naming what is missing. */
export function qemuBinary(): string {
  const configured = vmQemu();
  if (configured !== undefined) {
    try {
      accessSync(configured, constants.X_OK);
    } catch (err) {
      throw new GraderError(
        `cannot start a VM sandbox: KGRADE_QEMU=${configured} cannot be run (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at qemu-system-x86_64 or unset it (${INSTALL})`,
      );
    }
    return configured;
  }
  const found = QEMU_PATHS.find((p) => existsSync(p));
  if (!found)
    throw new GraderError(
      `cannot start a VM sandbox: qemu-system-x86_64 is not installed (none of ${QEMU_PATHS.join(', ')}; ${INSTALL})`,
    );
  return found;
}

/** Whether a qemu binary is there to run, for choosing a runtime. */
export function qemuInstalled(): boolean {
  try {
    qemuBinary();
    return true;
  } catch {
    return false;
  }
}

const MiB = 1024 ** 2;

function meminfo(field: string): number | undefined {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Refuses to start a VM the host has no memory for: its RAM and qemu's own, against MemAvailable. */
export function requireHostMemory(bytes: number): void {
  const available = meminfo('MemAvailable');
  if (available !== undefined && available < bytes)
    throw new GraderError(
      `the host is out of memory for another VM sandbox: ${Math.round(available / MiB)} MiB available, a VM needs ${Math.round(bytes / MiB)} MiB (its RAM and qemu's own); grade with fewer --jobs or on a host with more memory`,
    );
}

/** How many processes the kernel's out-of-memory killer has killed on the host since it booted. */
export function hostOomKills(): number {
  try {
    return Number(/^oom_kill (\d+)$/m.exec(readFileSync('/proc/vmstat', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The OOM kills in the VM's own cgroup and its memory limit, where the host's kernel reports them. */
function cgroupOom(name: string): { kills: number; limit?: number; dir: string } | undefined {
  for (const dir of vmCgroupDirs(name)) {
    for (const [file, limitFile] of [
      ['memory.events', 'memory.max'],
      ['memory.oom_control', 'memory.limit_in_bytes'],
    ] as const) {
      let text: string;
      try {
        text = readFileSync(path.join(dir, file), 'utf8');
      } catch {
        continue;
      }
      const kills = Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
      let limit: number | undefined;
      try {
        limit = Number(readFileSync(path.join(dir, limitFile), 'utf8').trim());
      } catch {
        // not readable: the count alone is told
      }
      return { kills, ...(limit !== undefined && Number.isFinite(limit) ? { limit } : {}), dir };
    }
  }
  return undefined;
}

/** The limits above the VM's cgroup (kgrade-vm/ and its parents) that are smaller than its own. */
function tightestParentLimit(dir: string): { dir: string; limit: number } | undefined {
  let best: { dir: string; limit: number } | undefined;
  for (let d = path.dirname(dir); d.startsWith('/sys/fs/cgroup/') && d.split('/').length > 4; d = path.dirname(d)) {
    for (const file of ['memory.max', 'memory.limit_in_bytes']) {
      try {
        const limit = Number(readFileSync(path.join(d, file), 'utf8').trim());
        if (Number.isFinite(limit) && (!best || limit < best.limit)) best = { dir: d, limit };
      } catch {
        // no such file in this hierarchy
      }
    }
  }
  return best;
}

/**
 * The host-side cause of a VM's qemu ending, in a sentence, or undefined when the host shows
 * none: the out-of-memory killer in the VM's cgroup or on the whole host (since `oomKillsAtStart`),
 * or qemu's own report that it could not allocate the guest's memory.
 */
export function hostCauseOfEnd(name: string, qemuLog: string, oomKillsAtStart: number): string | undefined {
  const own = cgroupOom(name);
  if (own && own.kills > 0) {
    const parent = tightestParentLimit(own.dir);
    const limit = Math.min(own.limit ?? Infinity, parent?.limit ?? Infinity);
    const where = parent && parent.limit < (own.limit ?? Infinity) ? parent.dir : own.dir;
    return `the host is out of memory for this VM: its qemu was killed by the out-of-memory killer in its cgroup (${where}${Number.isFinite(limit) ? `, limit ${Math.round(limit / MiB)} MiB` : ''})`;
  }
  if (/cannot set up guest memory|Cannot allocate memory|failed to allocate/i.test(qemuLog))
    return `the host is out of memory for another VM: qemu could not allocate the guest's memory`;
  if (hostOomKills() > oomKillsAtStart)
    return `the host's out-of-memory killer ran while this VM ran (the host is short of memory; dmesg names what it killed)`;
  return undefined;
}
