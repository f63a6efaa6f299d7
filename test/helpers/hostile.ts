/**
 * The host side of the hostile-submission tests (test/integration/hostile.test.ts): what the
 * test process itself reads on the grading host (sysctls, sysfs, its processes, its disk), and
 * the host settings it saves and puts back.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** A short random tag for marker names and values. */
export function randomTag(): string {
  return randomBytes(4).toString('hex');
}

/** A host file's content without its final newline. */
export function readHost(file: string): string {
  return readFileSync(file, 'utf8').replace(/\n$/, '');
}

/**
 * A host setting (a sysctl, a sysfs or cgroup file), read once when made: its original value,
 * and a restore() that writes that value back when the file no longer holds it.
 */
export class HostSetting {
  readonly original: string;

  /** parse: how to read the setting out of the file (sysfs choice files show "a [b] c"). */
  constructor(
    readonly file: string,
    private readonly parse: (text: string) => string = (t) => t,
  ) {
    this.original = this.current();
  }

  current(): string {
    return this.parse(readHost(this.file));
  }

  /** Writes the original back if it changed; says whether it had to. */
  restore(): boolean {
    if (this.current() === this.original) return false;
    writeFileSync(this.file, `${this.original}\n`);
    return true;
  }
}

/** The chosen word of a sysfs choice file: "always [madvise] never" is "madvise". */
export function bracketed(text: string): string {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? text;
}

export interface RootDevice {
  /** The block device node on the host, e.g. /dev/vda. */
  path: string;
  major: number;
  minor: number;
  fsType: string;
  /** The folder of that file system mounted as the test process's / (usually "/"). */
  root: string;
}

/**
 * The block device that holds the test process's root file system, from /proc/self/mountinfo;
 * undefined when / is not on a block device (an overlay, a tmpfs).
 */
export function hostRootDevice(): RootDevice | undefined {
  let line: string[] | undefined;
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = l.split(' - ');
    const fields = before?.split(' ');
    if (fields?.[4] === '/' && after) line = [...fields, ...after.split(' ')];
  }
  if (!line) return undefined;
  // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
  const dash = line.length - 3;
  const majMin = line[2] ?? '';
  const [maj = 0] = majMin.split(':').map(Number);
  if (maj === 0) return undefined;
  const fsType = line[dash] ?? '';
  let source = line[dash + 1] ?? '';
  if (!source.startsWith('/dev/') || !existsSync(source) || source === '/dev/root') {
    const devname = /^DEVNAME=(.+)$/m.exec(readFileSync(`/sys/dev/block/${majMin}/uevent`, 'utf8'))?.[1];
    if (!devname) return undefined;
    source = `/dev/${devname}`;
  }
  const { major, minor } = deviceNumbers(source);
  return { path: source, major, minor, fsType, root: line[3] ?? '/' };
}

/** A device node's major and minor numbers (stat's st_rdev, glibc's encoding). */
export function deviceNumbers(node: string): { major: number; minor: number } {
  const rdev = statSync(node, { bigint: true }).rdev;
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/** Tries to read the first bytes of a file as the test process (host root); the error when it cannot. */
export function hostCanRead(file: string): { ok: true } | { ok: false; error: string } {
  try {
    execFileSync('head', ['-c', '512', file], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    return { ok: true };
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return { ok: false, error: e.stderr?.toString().trim() || e.message };
  }
}

/** Host PIDs whose argv is exactly argv. */
export function hostPidsWithArgv(argv: string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8') === wanted) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The Uid: line of a host process: real, effective, saved, file system. */
export function hostUids(pid: number): number[] {
  const line =
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Uid:')) ?? '';
  return line.split(/\s+/).slice(1).filter(Boolean).map(Number);
}

/** Whether a host process exists and has not exited (a zombie counts as dead). */
export function hostAlive(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Bytes free on the file system that holds dir, as df shows them (f_bavail × f_bsize). */
export function hostFreeBytes(dir = '/'): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

export const MiB = 1024 * 1024;

/** The kernel log, or undefined when it cannot be read. */
export function hostKernelLog(): string | undefined {
  try {
    return execFileSync('dmesg', [], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** A read-only loop device over an image file on the host; detach() releases it. */
export interface LoopDevice {
  path: string;
  major: number;
  minor: number;
  detach(): void;
}

export function attachLoop(image: string): LoopDevice {
  const dev = execFileSync('losetup', ['--find', '--show', '--read-only', image], {
    encoding: 'utf8',
    timeout: 30_000,
  }).trim();
  const { major, minor } = deviceNumbers(dev);
  return {
    path: dev,
    major,
    minor,
    detach: () => {
      execFileSync('losetup', ['--detach', dev], { stdio: 'ignore', timeout: 30_000 });
    },
  };
}

export interface MountLine {
  majMin: string;
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** A process's mount table (/proc/PID/mountinfo), read on the host. */
export function mountsOf(pid: number | 'self'): MountLine[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter((l) => l.includes(' - '))
    .map((l) => {
      const [before = '', after = ''] = l.split(' - ');
      const f = before.split(' ');
      const [fsType = '', source = '', superOptions = ''] = after.split(' ');
      return { majMin: f[2] ?? '', root: f[3] ?? '', mountPoint: f[4] ?? '', fsType, source, superOptions };
    });
}

/** The host mount (of the test process) whose mount point holds hostPath: the longest prefix. */
export function hostMountHolding(hostPath: string): MountLine | undefined {
  let best: MountLine | undefined;
  for (const m of mountsOf('self')) {
    const inside = m.mountPoint === '/' || hostPath === m.mountPoint || hostPath.startsWith(`${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * Where a sandbox process's / keeps what is written to it, seen from the host: the host mount
 * that holds its overlay's upper folder (or, for a root that is no overlay, that mount itself).
 */
export function writableLayerOf(pid: number): { root: MountLine; layer: MountLine | undefined; upperdir?: string } {
  const mounts = mountsOf(pid);
  const root = [...mounts].reverse().find((m) => m.mountPoint === '/');
  if (!root) throw new Error(`no / in /proc/${pid}/mountinfo`);
  const upperdir = /(?:^|,)upperdir=([^,]+)/.exec(root.superOptions)?.[1];
  if (root.fsType !== 'overlay' || !upperdir) return { root, layer: root };
  return { root, layer: hostMountHolding(upperdir), upperdir };
}

/** A host process for a sandbox to look for: `sleep <arg>` with a secret in its environment. */
export interface HostDecoy {
  pid: number;
  /** sleep's argument, unique to this decoy: what a sandbox greps /proc/<pid>/cmdline for. */
  arg: string;
  /** In the decoy's environment only: only reading that environment can show it. */
  secret: string;
  stop(): void;
}

/** Starts a decoy on the host and waits until it shows in /proc. */
export async function startHostDecoy(): Promise<HostDecoy> {
  const tag = randomTag();
  const arg = `300.${parseInt(tag, 16) % 1_000_000}`;
  const secret = `kgrade-hostile-secret-${tag}`;
  const child = spawn('sleep', [arg], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, KGRADE_HOSTILE_SECRET: secret },
  });
  child.unref();
  const pid = child.pid ?? 0;
  const stop = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  for (const end = Date.now() + 5_000; !hostPidsWithArgv(['sleep', arg]).includes(pid); ) {
    if (Date.now() > end) {
      stop();
      throw new Error(`the host's sleep ${arg} did not show in /proc within 5 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid, arg, secret, stop };
}

/**
 * A Python script for the second-chroot route, run as `python3 -c SCRIPT MARKER` where MARKER is a
 * file on the host: it shows the climb works (out of a jail back to the `where` root: "sandbox" or
 * "guest"), climbs on, and says whether the host's MARKER is readable from where it ends:
 * `JAILED sees the WHERE root: False`, `CLIMBED sees the WHERE root: True`, then `HOST-MARKER …`
 * or `NO-HOST-MARKER …`, and `ROOT` with the names at /.
 */
export function chrootClimbScript(where: 'sandbox' | 'guest'): string {
  const mark = `/kgx-${where}-root`;
  return `
import os, sys
def climb():
    os.makedirs('kgx-x', exist_ok=True)
    os.chroot('kgx-x')
    for _ in range(64):
        os.chdir('..')
    os.chroot('.')
with open('${mark}', 'w') as f:
    f.write('${where} root')
os.makedirs('/tmp/kgx-jail', exist_ok=True)
os.chroot('/tmp/kgx-jail')
os.chdir('/')
print('JAILED sees the ${where} root:', os.path.exists('${mark}'))
climb()
print('CLIMBED sees the ${where} root:', os.path.exists('${mark}'))
# From the ${where}'s root it climbs no further.
for _ in range(3):
    climb()
try:
    with open(sys.argv[1]) as f:
        print('HOST-MARKER', f.read().strip())
except OSError as e:
    print('NO-HOST-MARKER', e)
print('ROOT', ' '.join(sorted(os.listdir('/'))))
os.remove('${mark}')
`;
}
