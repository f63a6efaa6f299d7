import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { execa } from '../../vendor/execa.js';
import { stateDir, vmAccel, vmBootSeconds, vmCpus, vmPaceSetting, vmSnapshots, vmUid } from '../../config.js';
import { GraderError } from '../../errors.js';
import { trace } from '../../trace.js';
import type { ExecOptions, ExecResult } from '../../node.js';
import { alive, track, untrack } from '../cleanup.js';
import type { Sandbox, SandboxListing, SandboxOptions, SandboxRuntime } from './index.js';
import { LIMITS, prepareNode } from './node-setup.js';
import { hostCgroupVersion, type CgroupVersion } from './choose.js';
import { tarForCopy } from './tar-copy.js';
import { AgentConnection } from './vm-agent.js';
import { listedVmCgroups, makeVmCgroup, removeVmCgroup } from './vm-cgroups.js';
import { ensureVmImages, vmImages, vmImagesDir, type VmImages } from './vm-images.js';
import { VmPool } from './vm-pool.js';
import { saveVmState } from './vm-migrate.js';
import { snapshotFor, snapshotKey, type VmSnapshot } from './vm-snapshot.js';
import { dropVmSetAside, setVmAside, vmSetAside, vmsSetAside } from './vm-set-aside.js';
import { hostCauseOfEnd, hostOomKills, qemuBinary, requireHostMemory } from './vm-host.js';
import { provisionalVmPace, vmPace } from './vm-pace.js';
import { paced } from '../pace.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const OUTPUT_CAP = 1024 * 1024;
const KVM_PROBE_DEADLINE_MS = 30_000;
/** Saving a booted node's state: about 110 MiB, written in about a second here. */
const SAVE_DEADLINE_MS = 120_000;
/** A restored VM answers in a fraction of a second here; one that has not within this will not. */
const RESTORE_DEADLINE_MS = 60_000;
/** The guest's RAM is the sandbox's memory cap; qemu itself needs some beside it. */
const QEMU_OVERHEAD_BYTES = 384 * 1024 ** 2;

const QEMU_IMG_PATHS = ['/usr/bin/qemu-img', '/usr/local/bin/qemu-img'];

const vmsDir = () => path.join(stateDir(), 'vm');
const dirOf = (name: string) => path.join(vmsDir(), name);
const ACCEL_FILE = 'accel';

type Accel = 'kvm' | 'tcg';

function binary(paths: string[], what: string): string {
  const found = paths.find((p) => existsSync(p));
  if (!found)
    throw new GraderError(
      `cannot start a VM sandbox: ${what} is not installed (Debian: apt-get install qemu-system-x86 qemu-utils)`,
    );
  return found;
}

/** The TSC frequency the guest is told, so that it does not measure it (slow under emulation). */
function tscKhz(): number {
  const mhz = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  return mhz ? Math.round(Number(mhz) * 1000) : 2_000_000;
}

function kernelCommandLine(cgroup: CgroupVersion): string {
  return [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    `tsc_early_khz=${tscKhz()}`,
    'no_timer_check',
    'i8042.noaux',
    'i8042.nokbd',
    // Every process maps bash, libc and ld.so at the same addresses, so code emulated once (TCG
    // keys its translations by address) is reused by the next process instead of translated again:
    // an exec costs a quarter of what it did. In a disposable VM whose every process is the
    // submission's, address randomisation protects nothing of the grader's.
    'norandmaps',
    // v2 only: the v1 controllers are not even offered, as on a cgroup v2 host.
    ...(cgroup === 'v2' ? ['cgroup_no_v1=all'] : []),
    `kgrade.cgroup=${cgroup}`,
  ].join(' ');
}

/**
 * The CPU a VM is given under TCG: x86-64-v2 (what distributions and Node's V8 may require),
 * without XSAVE, AVX or ERMS. Under `max` the guest kernel copies with `rep movsb` (ERMS), which
 * TCG emulates a byte at a time, and saves and restores the AVX state on every switch; without
 * them a file is read 3x faster and ch03's chroot0.sh takes 2.0-2.3 s in the guest against
 * 3.0-3.4 s. An AMD model, so that the guest kernel turns on no page-table isolation (Meltdown).
 */
export const TCG_CPU = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt';

/** What a VM may be given beyond a node sandbox's (vm-kgrade.ts): more memory, read-only disks after the root. */
export interface VmExtras {
  memoryMiB?: number;
  disks?: string[];
}

const memoryMiB = (extras: VmExtras) => extras.memoryMiB ?? Math.floor(LIMITS.memoryBytes / 1024 ** 2);

/**
 * How qemu starts: booting its kernel, booting with a monitor socket to save its state from
 * (`save`: the VM that makes a snapshot), or taking a saved state back (`restore`: a VM sandbox
 * started from a snapshot). Saving and restoring hand qemu open files from fd 3 on, in this
 * order: the saved state (restore only), then the VM's overlay for writing and for reading.
 */
type Launch = 'boot' | 'save' | 'restore';
const STATE_FD = 3;
const diskFds = (launch: Launch) => (launch === 'restore' ? [4, 5] : [3, 4]);

function qemuArgs(
  images: VmImages,
  dir: string,
  accel: Accel,
  cgroup: CgroupVersion,
  extras: VmExtras,
  launch: Launch = 'boot',
): string[] {
  const uid = vmUid();
  return [
    '-M',
    'microvm,x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', TCG_CPU]),
    '-m',
    `${memoryMiB(extras)}M`,
    '-smp',
    String(vmCpus()),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    images.kernel,
    '-initrd',
    images.initrd,
    '-append',
    kernelCommandLine(cgroup),
    '-chardev',
    `file,id=console,path=${path.join(dir, 'console.log')}`,
    '-serial',
    'chardev:console',
    // Saving a state and taking it back open the disk again after qemu has dropped to its uid, which
    // cannot reach the VM's folder: qemu is handed the overlay open for writing and for reading (an fd set).
    ...(launch === 'boot' ? [] : diskFds(launch).flatMap((fd) => ['-add-fd', `fd=${fd},set=1`])),
    // The image is read only through this VM's own overlay: no VM writes what another boots.
    '-drive',
    `id=root,file=${launch === 'boot' ? path.join(dir, 'overlay.qcow2') : '/dev/fdset/1'},format=qcow2,if=none,discard=unmap`,
    '-device',
    'virtio-blk-device,drive=root',
    ...(extras.disks ?? []).flatMap((file, i) => [
      '-drive',
      `id=extra${i},file=${file},format=raw,if=none,readonly=on`,
      '-device',
      `virtio-blk-device,drive=extra${i}`,
    ]),
    '-device',
    'virtio-serial-device',
    '-chardev',
    `socket,id=agent,path=${path.join(dir, 'agent.sock')},server=on,wait=off`,
    '-device',
    'virtserialport,chardev=agent,name=kgrade.agent',
    // No network device at all: test hosts are network namespaces inside the VM.
    '-nic',
    'none',
    // The saved state leaves out that its VM was paused to be saved, so that a restored VM runs at once.
    ...(launch === 'save'
      ? ['-qmp', `unix:${path.join(dir, 'qmp.sock')},server=on,wait=off`, '-global', 'migration.store-global-state=off']
      : []),
    ...(launch === 'restore' ? ['-incoming', `fd:${STATE_FD}`] : []),
    // Once its files are open qemu drops to an unprivileged uid, then runs under its own seccomp
    // filter: no exec, no obsolete or resource-control calls. (set*uid stays allowed: -runas
    // calls setuid after the filter is in place, and an unprivileged uid cannot regain root.)
    '-runas',
    `${uid}:${uid}`,
    '-sandbox',
    'on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny',
  ];
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether /dev/kvm can be opened; that it boots a VM is learnt by trying (see accelFor). */
function kvmOpens(): boolean {
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return true;
  } catch {
    return false;
  }
}

/** The verdict of an earlier probe on this boot of the host: KVM does not boot a VM here. */
function kvmKnownBroken(): string | undefined {
  try {
    const [boot, verdict, ...why] = readFileSync(path.join(vmsDir(), ACCEL_FILE), 'utf8').trim().split(' ');
    return boot === bootId() && verdict === 'tcg' ? why.join(' ') : undefined;
  } catch {
    return undefined;
  }
}

let said = false;
function sayOnce(line: string): void {
  if (said) return;
  said = true;
  process.stderr.write(`${line}\n`);
}

/** The accelerator to boot with: KVM when configured or present and not known broken, else TCG. */
function accelFor(): { accel: Accel; probing: boolean } {
  const setting = vmAccel();
  if (setting === 'tcg') return { accel: 'tcg', probing: false };
  if (setting === 'kvm') return { accel: 'kvm', probing: false };
  if (!kvmOpens()) {
    sayOnce('kgrade: no usable /dev/kvm: VM sandboxes run under TCG, software emulation (slower)');
    return { accel: 'tcg', probing: false };
  }
  const broken = kvmKnownBroken();
  if (broken !== undefined) {
    sayOnce(
      `kgrade: /dev/kvm does not boot a VM on this host (${broken}): VM sandboxes run under TCG, software emulation (slower)`,
    );
    return { accel: 'tcg', probing: false };
  }
  return { accel: 'kvm', probing: true };
}

function recordKvmBroken(why: string): void {
  writeFileSync(path.join(vmsDir(), ACCEL_FILE), `${bootId()} tcg ${why.replace(/\s+/g, ' ').slice(0, 300)}\n`);
}

function consoleTail(name: string): string {
  try {
    const lines = readFileSync(path.join(dirOf(name), 'console.log'), 'utf8')
      .trimEnd()
      .split('\n');
    const tail = lines.slice(-8);
    // A panic's cause is its first line; the stack trace after it fills the tail.
    const panic = lines.find((l) => l.includes('Kernel panic'));
    return (panic && !tail.includes(panic) ? [panic, '…', ...tail] : tail).join('\n');
  } catch {
    return '';
  }
}

function qemuLogTail(name: string): string {
  try {
    return readFileSync(path.join(dirOf(name), 'qemu.log'), 'utf8')
      .trim()
      .slice(-600);
  } catch {
    return '';
  }
}

/** The PID of a VM's qemu, if that process is still the one kgrade started (not a reused PID). */
function qemuPid(name: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dirOf(name), 'qemu.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!(pid > 0)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(dirOf(name)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

let counter = 0;
/** The host's OOM-kill count when each VM of this process was started, to tell whether the killer ran since. */
const oomBaseline = new Map<string, number>();

/** A node sandbox that is a VM of its own: its kernel, its cgroups, a guest agent for commands. */
class VmSandbox implements Sandbox {
  readonly isolation = 'vm' as const;
  /** How many times slower than the host it runs commands (vm-pace.ts): its exec deadlines are stretched by it. */
  pace = 1;

  constructor(
    readonly name: string,
    private readonly agent: AgentConnection,
    /** The guest's kernel release and cgroup version, as its agent reported them. */
    readonly kernel: string,
    readonly cgroup: string,
    readonly accel: Accel,
  ) {}

  /**
   * Its qemu's threads' time on a host CPU and waiting for one (/proc/PID/task/TID/schedstat): the
   * guest is busy when qemu runs or wants to, idle when its virtual CPUs sleep. Time spent waiting
   * for a host CPU counts as busy, so that a VM held back by a loaded host is not taken for idle.
   */
  busyMs(): number | undefined {
    const pid = qemuPid(this.name);
    if (pid === undefined) return undefined;
    try {
      let ns = 0;
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        try {
          const [run = '0', wait = '0'] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ');
          ns += Number(run) + Number(wait);
        } catch {
          // the thread ended between the listing and the read
        }
      }
      return Number.isFinite(ns) ? ns / 1e6 : undefined;
    } catch {
      return undefined;
    }
  }

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.run(
      argv,
      options.stdin !== undefined ? Buffer.from(options.stdin) : undefined,
      paced(this.pace, options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    );
  }

  private async run(argv: string[], stdin: Buffer | undefined, timeoutMs: number): Promise<ExecResult> {
    let r;
    const t0 = performance.now();
    try {
      r = await this.agent.exec(argv, stdin, timeoutMs, OUTPUT_CAP);
      trace(
        `${this.name} ran ${argv.join(' ').replace(/\s+/g, ' ').slice(0, 60)}: ${Math.round(performance.now() - t0)} ms, ${r.durationMs} ms of it in the guest`,
      );
    } catch (err) {
      const cause = hostCauseOfEnd(this.name, qemuLogTail(this.name), oomBaseline.get(this.name) ?? 0);
      const why =
        qemuPid(this.name) === undefined
          ? ` (the VM has stopped${cause ? `: ${cause}` : ''}; its console's last lines:\n${consoleTail(this.name)})`
          : '';
      throw new GraderError(`${(err as Error).message}${why}`);
    }
    // A command killed by a signal reads as a shell reports it, 128 + the signal (137: SIGKILL, an OOM kill).
    const code = r.code ?? (r.signal !== null ? 128 + r.signal : null);
    return {
      argv,
      code,
      stdout: r.stdout,
      stderr: r.stderr,
      timedOut: r.timedOut,
      truncated: r.truncated,
      durationMs: r.durationMs,
    };
  }

  /**
   * Copies a tar archive across the agent's port: a folder's content ("DIR/.") the agent unpacks
   * itself, with no process started (tar and its shell cost a VM under TCG 0.25 s a copy);
   * anything else tar unpacks inside the VM, the archive as its input.
   */
  async copyIn(hostPath: string, nodePath: string): Promise<void> {
    const { archive, unpack } = await tarForCopy(hostPath, nodePath, 256 * 1024 * 1024);
    if (hostPath.endsWith('/.')) {
      const t0 = performance.now();
      try {
        const guestMs = await this.agent.unpack(nodePath, archive, 120_000);
        trace(
          `${this.name} unpacked ${archive.length} bytes into ${nodePath}: ${Math.round(performance.now() - t0)} ms, ${guestMs} ms of it in the guest`,
        );
      } catch (err) {
        const why = qemuPid(this.name) === undefined ? ' (the VM has stopped)' : '';
        throw new GraderError(`copying ${hostPath} onto node ${this.name} failed: ${(err as Error).message}${why}`);
      }
      return;
    }
    const r = await this.run(unpack, archive, 120_000);
    if (r.code !== 0) throw new GraderError(`copying ${hostPath} onto node ${this.name} failed: ${r.stderr.trim()}`);
  }

  async destroy(): Promise<void> {
    this.agent.close('the sandbox was removed');
    await vmRuntime.remove(this.name);
  }
}

/** Starts qemu for a VM whose folder is ready, in the VM's cgroup from its first instruction; resolves once the agent answers. */
async function boot(
  name: string,
  images: VmImages,
  accel: Accel,
  cgroup: CgroupVersion,
  deadlineMs: number,
  extras: VmExtras,
  how: { kind: 'boot' } | { kind: 'save' } | { kind: 'restore'; snapshot: VmSnapshot } = { kind: 'boot' },
): Promise<VmSandbox> {
  const dir = dirOf(name);
  const qemu = qemuBinary();
  for (const f of ['agent.sock', 'qmp.sock', 'console.log', 'qemu.log', 'qemu.pid'])
    rmSync(path.join(dir, f), { force: true });
  const procs = makeVmCgroup(name, {
    memoryBytes: memoryMiB(extras) * 1024 ** 2 + QEMU_OVERHEAD_BYTES,
    cpus: LIMITS.cpus,
    pids: 256,
  });
  oomBaseline.set(name, hostOomKills());
  const log = openSync(path.join(dir, 'qemu.log'), 'w');
  let exited: string | undefined;
  const handed: number[] = [];
  try {
    // What qemu is handed open, in Launch's order: a saved state to take back, read-only; the VM's own overlay.
    const hand = (file: string, flags: string) => handed.push(openSync(file, flags));
    if (how.kind === 'restore') hand(how.snapshot.state, 'r');
    if (how.kind !== 'boot') for (const flags of ['r+', 'r']) hand(path.join(dir, 'overlay.qcow2'), flags);
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'for f in $KGRADE_VM_CGROUP_PROCS; do echo $$ >"$f" || exit 125; done; exec "$@"',
        'kgrade-vm',
        qemu,
        ...qemuArgs(images, dir, accel, cgroup, extras, how.kind),
      ],
      {
        detached: true,
        stdio: ['ignore', log, log, ...handed],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', KGRADE_VM_CGROUP_PROCS: procs.join(' ') },
      },
    );
    child.once('error', (err) => {
      exited = `qemu could not be started: ${err.message}`;
    });
    child.once('exit', (code, signal) => {
      const cause = hostCauseOfEnd(name, qemuLogTail(name), oomBaseline.get(name) ?? 0);
      exited = `${cause ? `${cause}; ` : ''}qemu ended (${signal ?? `exit ${code}`})${qemuLogTail(name) ? `: ${qemuLogTail(name)}` : ''}${consoleTail(name) ? `; console:\n${consoleTail(name)}` : ''}`;
    });
    child.unref();
    if (child.pid) writeFileSync(path.join(dir, 'qemu.pid'), `${child.pid}\n`);
  } finally {
    closeSync(log);
    for (const fd of handed) closeSync(fd);
  }
  const t0 = performance.now();
  const { agent, hello } = await AgentConnection.open(
    path.join(dir, 'agent.sock'),
    name,
    deadlineMs,
    () => exited,
  ).catch((err: Error) => {
    // A VM that runs but whose agent never answers: what its console shows says why.
    const tail = exited === undefined ? consoleTail(name) : '';
    throw tail ? new GraderError(`${err.message}; its console's last lines:\n${tail}`) : err;
  });
  trace(
    `${name} ${how.kind === 'restore' ? 'restored' : 'booted'}: its agent answered ${((performance.now() - t0) / 1000).toFixed(2)} s after qemu started`,
  );
  return new VmSandbox(name, agent, hello.kernel || images.kernelRelease, hello.cgroup, accel);
}

async function makeOverlay(qemuImg: string, name: string, backing: string, format: 'raw' | 'qcow2'): Promise<void> {
  const overlay = path.join(dirOf(name), 'overlay.qcow2');
  rmSync(overlay, { force: true });
  const r = await execa(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', format, '-b', backing, overlay], {
    reject: false,
    timeout: 60_000,
  });
  if (r.exitCode !== 0)
    throw new GraderError(`qemu-img could not make the overlay of VM ${name}: ${String(r.stderr).trim()}`);
}

/** The folder of a new VM, with what the reaper reads: the run that owns it and what it is for. */
async function newVmFolder(name: string, purpose: string): Promise<void> {
  const dir = dirOf(name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, 'owner'), `${process.pid}\n`);
  await writeFile(path.join(dir, 'purpose'), `${purpose.slice(0, 200)}\n`);
}

/** Boot failures of the VM that makes a snapshot: a plain boot would fail the same way, so they are the run's error. */
const bootFailures = new WeakSet<object>();
/** Why this run starts its VM sandboxes by booting them, once a snapshot could not be made or taken back. */
let snapshotsRefused: string | undefined;

function refuseSnapshots(err: unknown): void {
  snapshotsRefused ??= ((err as Error).message.split('\n')[0] ?? '').slice(0, 300);
  process.stderr.write(
    `kgrade: VM sandboxes boot their kernel each time, slower: no saved node to start them from (${snapshotsRefused})\n`,
  );
}

/**
 * Boots a node VM, sets up its network, and saves it into `into` (its disk overlay and its state).
 * Only kgrade's own commands have run in it. The VM is removed afterwards, whatever happened.
 */
async function saveNode(
  images: VmImages,
  qemuImg: string,
  accel: Accel,
  cgroup: CgroupVersion,
  into: string,
): Promise<void> {
  counter += 1;
  const name = `kgrade-snapshot-${process.pid}-${counter}`;
  const dir = dirOf(name);
  track(vmRuntime, name);
  let node: VmSandbox | undefined;
  try {
    await newVmFolder(name, `the saved ${cgroup} node that VM sandboxes start from`);
    await makeOverlay(qemuImg, name, images.root, 'raw');
    try {
      node = await boot(name, images, accel, cgroup, vmBootSeconds() * 1000, {}, { kind: 'save' });
      await prepareNode(node);
    } catch (err) {
      if (err instanceof Object) bootFailures.add(err);
      throw err;
    }
    const t0 = performance.now();
    const bytes = await saveVmState({
      qmpSocket: path.join(dir, 'qmp.sock'),
      file: path.join(into, 'state'),
      uid: vmUid(),
      deadlineMs: SAVE_DEADLINE_MS,
    }).catch((err: Error) => {
      const log = qemuLogTail(name);
      throw log ? new GraderError(`${err.message}; qemu said: ${log}`, { cause: err }) : err;
    });
    copyFileSync(path.join(dir, 'overlay.qcow2'), path.join(into, 'overlay.qcow2'));
    trace(
      `${name} saved: ${Math.round(bytes / 1024 ** 2)} MiB of state in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
    );
  } finally {
    if (node) await node.destroy().catch(() => undefined);
    else await vmRuntime.remove(name).catch(() => undefined);
  }
}

/** The snapshot VM sandboxes of this kind start from, made on first use; undefined when this run boots them instead. */
async function snapshotOf(
  images: VmImages,
  qemuImg: string,
  accel: Accel,
  cgroup: CgroupVersion,
): Promise<VmSnapshot | undefined> {
  if (!vmSnapshots() || snapshotsRefused !== undefined) return undefined;
  const qemu = qemuBinary();
  const { size, mtimeMs } = statSync(qemu);
  // The boot's TSC frequency is left out: a restored guest keeps the clock it booted with.
  const args = qemuArgs(images, '@', accel, cgroup, {}, 'save').map((a) =>
    a.replace(/tsc_early_khz=\d+/, 'tsc_early_khz'),
  );
  const key = snapshotKey([qemu, String(size), String(mtimeMs), ...args]);
  try {
    return await snapshotFor(path.join(images.dir, 'snapshots'), key, (into) =>
      saveNode(images, qemuImg, accel, cgroup, into),
    );
  } catch (err) {
    if (err instanceof Object && bootFailures.has(err)) throw err;
    refuseSnapshots(err);
    return undefined;
  }
}

/** A VM sandbox started from a snapshot; undefined when qemu would not take the state back (the caller boots one). */
async function restore(
  name: string,
  images: VmImages,
  qemuImg: string,
  accel: Accel,
  cgroup: CgroupVersion,
  snapshot: VmSnapshot,
): Promise<VmSandbox | undefined> {
  await makeOverlay(qemuImg, name, snapshot.overlay, 'qcow2');
  try {
    return await boot(name, images, accel, cgroup, RESTORE_DEADLINE_MS, {}, { kind: 'restore', snapshot });
  } catch (err) {
    await stopQemu(name);
    // A host short of memory is the run's error, as for a boot: booting instead would hide it.
    if (hostCauseOfEnd(name, qemuLogTail(name), oomBaseline.get(name) ?? 0) !== undefined) throw err;
    removeVmCgroup(name);
    refuseSnapshots(err);
    return undefined;
  }
}

export async function startVm(
  opts: SandboxOptions,
  extras: VmExtras = {},
  named?: (name: string) => void,
  early = false,
): Promise<Sandbox> {
  const images = vmImages();
  const qemuImg = binary(QEMU_IMG_PATHS, 'qemu-img');
  qemuBinary();
  requireHostMemory(LIMITS.memoryBytes + QEMU_OVERHEAD_BYTES);
  const cgroup: CgroupVersion = opts.cgroup ?? hostCgroupVersion();
  counter += 1;
  const name = `kgrade-${opts.runId}-${counter}`;
  track(vmRuntime, name);
  named?.(name);
  try {
    await newVmFolder(name, opts.purpose);
    const { accel, probing } = accelFor();
    // A plain node starts from the saved one (its network already set up); a VM with extras boots.
    const snapshot =
      !probing && extras.memoryMiB === undefined && extras.disks === undefined
        ? await snapshotOf(images, qemuImg, accel, cgroup)
        : undefined;
    const restored = snapshot && (await restore(name, images, qemuImg, accel, cgroup, snapshot));
    if (restored) {
      // A VM wanted now, with a spare to follow that measures instead, starts at the pace known so far.
      restored.pace = early ? provisionalVmPace(restored.accel) : await vmPace(restored, restored.accel);
      return restored;
    }
    await makeOverlay(qemuImg, name, images.root, 'raw');
    let node: VmSandbox;
    if (probing) {
      try {
        node = await boot(name, images, 'kvm', cgroup, KVM_PROBE_DEADLINE_MS, extras);
      } catch (err) {
        const why = (err as Error).message.split('\n')[0] ?? '';
        await stopQemu(name);
        recordKvmBroken(why.slice(why.indexOf(':') + 1).trim());
        sayOnce(
          `kgrade: /dev/kvm did not boot a VM on this host (${why}): VM sandboxes run under TCG, software emulation (slower)`,
        );
        removeVmCgroup(name);
        await makeOverlay(qemuImg, name, images.root, 'raw');
        node = await boot(name, images, 'tcg', cgroup, vmBootSeconds() * 1000, extras);
      }
    } else {
      node = await boot(name, images, accel, cgroup, vmBootSeconds() * 1000, extras);
    }
    node.pace = await vmPace(node, node.accel);
    await prepareNode(node);
    return node;
  } catch (err) {
    await vmRuntime.remove(name).catch(() => undefined);
    throw err;
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** A process that is gone or a zombie no longer holds its cgroup or its files. */
function ended(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function killQemu(name: string): number | undefined {
  const pid = qemuPid(name);
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ended meanwhile
  }
  return pid;
}

/** How long a killed qemu may take to end: freeing 2 GiB on a loaded host takes seconds. */
const QEMU_END_MS = 60_000;

async function stopQemu(name: string): Promise<void> {
  const pid = killQemu(name);
  for (let i = 0; pid !== undefined && !ended(pid) && i < QEMU_END_MS / 25; i++)
    await new Promise((r) => setTimeout(r, 25));
}

function stopQemuSync(name: string): void {
  const pid = killQemu(name);
  for (let i = 0; pid !== undefined && !ended(pid) && i < QEMU_END_MS / 25; i++) sleepSync(25);
}

/**
 * Removes the VM's cgroup and folder once its qemu is gone. What will not go is set aside (see
 * vm-set-aside.ts) and the GraderError says so and where.
 */
function forget(name: string): void {
  oomBaseline.delete(name);
  untrack(name);
  let failure: Error | undefined;
  for (const step of [() => removeVmCgroup(name), () => rmSync(dirOf(name), { recursive: true, force: true })]) {
    try {
      step();
    } catch (err) {
      failure ??= err as Error;
    }
  }
  if (!failure) {
    dropVmSetAside(name);
    return;
  }
  const pid = qemuPid(name);
  const reason = `${pid !== undefined ? `its qemu (PID ${pid}) did not end; ` : ''}${failure.message}`;
  const record = setVmAside(name, reason);
  throw new GraderError(
    `VM sandbox ${name} could not be removed (${reason}); it is set aside (${record}) and \`kgrade clean\` tries again`,
    { cause: failure },
  );
}

const pool = new VmPool(
  (opts, named, early) => startVm(opts, {}, named, early),
  (name) => vmRuntime.removeSync(name),
  // A spare's pace is fixed when it boots: one booted under another KGRADE_VM_PACE is another kind.
  () => `${vmImagesDir()} ${vmAccel()} ${vmPaceSetting() ?? 'measured'}`,
);

export const vmRuntime: SandboxRuntime = {
  isolation: 'vm',
  prepare: ensureVmImages,
  kernelRelease: () => vmImages().kernelRelease,

  start: (opts) => pool.take(opts),

  async list(): Promise<SandboxListing[]> {
    const out: SandboxListing[] = [];
    for (const name of existsSync(vmsDir()) ? readdirSync(vmsDir()) : []) {
      if (name === ACCEL_FILE || vmSetAside(name)) continue;
      let ownerPid: number;
      try {
        ownerPid = Number(readFileSync(path.join(dirOf(name), 'owner'), 'utf8').trim());
      } catch {
        // a folder with no owner is the remains of a start that died early: anyone may reap it, once it is not new
        try {
          if (Date.now() - statSync(dirOf(name)).mtimeMs < 60_000) continue;
        } catch {
          continue;
        }
        ownerPid = Number.MAX_SAFE_INTEGER;
      }
      out.push({ name, ownerPid });
    }
    // A cgroup whose VM folder is gone is the remains of a removal that was cut short: anyone may reap it.
    for (const name of listedVmCgroups())
      if (!out.some((s) => s.name === name) && !existsSync(dirOf(name)) && !vmSetAside(name))
        out.push({ name, ownerPid: Number.MAX_SAFE_INTEGER });
    return out;
  },

  async remove(name: string): Promise<void> {
    await stopQemu(name);
    forget(name);
  },

  async setAside() {
    return vmsSetAside();
  },

  removeSync(name: string): void {
    stopQemuSync(name);
    forget(name);
  },
};

/** For reports and tests: whether a listed VM's qemu still runs. */
export function vmRunning(name: string): boolean {
  const pid = qemuPid(name);
  return pid !== undefined && alive(pid) && !ended(pid);
}

/** Removes the VMs this process booted ahead that no start has taken (what its exit would remove). */
export function removeVmSpares(): void {
  pool.removeUntakenSync();
}
