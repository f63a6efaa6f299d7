import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { lchown, mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { execa, execaSync } from '../../vendor/execa.js';
import { GraderError, SubmissionAssertionError } from '../../errors.js';
import { sandboxDisk, stateDir } from '../../config.js';
import type { ExecOptions, ExecResult } from '../../node.js';
import { track, untrack } from '../cleanup.js';
import type { Sandbox, SandboxListing, SandboxOptions, SandboxRuntime, SetAsideSandbox } from './index.js';
import { prepareNode } from './node-setup.js';
import { tarForCopy } from './tar-copy.js';

import {
  cgroupObstacles,
  delegate,
  execLeaf,
  hostCgroups,
  oomKills,
  removeCgroupTree,
  sandboxCgroups,
  writeLimits,
} from './userns-cgroups.js';
import { ociConfig } from './userns-config.js';
import { hasPreparedRootfs, rootfsOf } from './userns-rootfs.js';
import { holdUserNamespace, leaseSlot } from './userns-ids.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const OUTPUT_CAP = 1024 * 1024;

const runcRoot = () => path.join(stateDir(), 'runc');
const sandboxesDir = () => path.join(stateDir(), 'sandboxes');
const bundleOf = (name: string) => path.join(sandboxesDir(), name);
/** Records of sandboxes whose removal failed ($KGRADE_STATE/set-aside/<name>): their bundle and uid slot stay reserved. */
const setAsideDir = () => path.join(stateDir(), 'set-aside');
const setAsideRecord = (name: string) => path.join(setAsideDir(), name);

const RUNC_PATHS = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'];

function runcBinary(): string {
  return RUNC_PATHS.find((p) => existsSync(p)) ?? 'runc';
}

/** What this host lacks for userns sandboxes, in words an operator can act on; undefined when nothing. */
function missingForUserns(): string | undefined {
  if (!RUNC_PATHS.some((p) => existsSync(p)))
    return 'runc is not installed (Debian: apt-get install runc; it comes with docker.io)';
  try {
    if (Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim()) === 0)
      return 'user namespaces are disabled (user.max_user_namespaces is 0)';
  } catch {
    return 'this kernel has no user namespaces';
  }
  return undefined;
}

function runcArgs(...args: string[]): string[] {
  return ['--root', runcRoot(), ...args];
}

/** runc's words when a process of runc exec could not be put in its cgroup (1.1: "error adding pid N to cgroups"). */
const CGROUP_JOIN_FAILED = /exec failed:.*adding pid \d+ to cgroup/;

/** What runc's error line says (its msg="..."), or all it wrote. */
function runcMessage(stderr: string): string {
  return /msg="([^"]*(?:\\"[^"]*)*)"/.exec(stderr)?.[1] ?? stderr.trim();
}

let counter = 0;

/**
 * A node sandbox in a user namespace, run by runc: root inside is an unprivileged id range on the
 * host, with private mount, PID, network, UTS, IPC and cgroup namespaces, no host devices, a
 * writable layer on a size-capped tmpfs, and a cgroup subtree (v1: one per delegated controller;
 * v2: one, with the sandbox's processes in its leaf init) delegated below the host-owned cgroup
 * that holds the sandbox's limits.
 */
class UsernsSandbox implements Sandbox {
  readonly isolation = 'userns' as const;

  constructor(
    readonly name: string,
    /** On cgroup v2: the host uid of the sandbox's root, who owns the leaf that runc exec puts commands in; none on v1. */
    private readonly v2Base?: number,
  ) {}

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const started = Date.now();
    const oomBefore = oomKills(this.name);
    const r = await this.inLeaf((cgroup) =>
      execa(runcBinary(), runcArgs('exec', ...cgroup, this.name, 'timeout', '-k', '3', String(seconds), ...argv), {
        reject: false,
        timeout: timeoutMs + 30_000,
        maxBuffer: OUTPUT_CAP,
        stripFinalNewline: false,
        ...(options.stdin !== undefined ? { input: options.stdin } : { stdin: 'ignore' as const }),
      }),
    );
    const durationMs = Date.now() - started;
    if (r.timedOut) {
      this.blameCgroups(`${argv[0]} did not return within ${Math.round(timeoutMs / 1000) + 30} s`, oomBefore);
      throw new GraderError(`runc exec on ${this.name} did not return within ${Math.round(timeoutMs / 1000) + 30} s`);
    }
    if (r.exitCode === undefined) throw new GraderError(`cannot run runc for ${this.name}: ${r.shortMessage}`);
    const code = r.exitCode;
    const stderr = String(r.stderr ?? '');
    if (code === 255 && /level=error msg="exec failed/.test(stderr)) {
      await this.assertStillRunning(argv);
      this.blameCgroups(`${argv[0]} could not start (${runcMessage(stderr)})`, oomBefore);
      throw new GraderError(`cannot run ${argv[0]} on node ${this.name}: ${runcMessage(stderr)}`);
    }
    if (code >= 128) await this.assertStillRunning(argv);
    return {
      argv,
      code,
      stdout: String(r.stdout ?? ''),
      stderr,
      timedOut: code === 124 || (code === 137 && durationMs >= seconds * 1000),
      truncated: Boolean(r.isMaxBuffer),
      durationMs,
    };
  }

  /**
   * Runs a runc exec (run, given the --cgroup arguments) in the leaf execLeaf chooses. On cgroup v2
   * a process of the node may remove or change that leaf between kgrade's look and runc's write:
   * runc then fails before the command starts, and the exec is tried again, three times in all.
   */
  private async inLeaf<R extends { exitCode?: number; stderr?: unknown }>(
    run: (cgroupArgs: string[]) => Promise<R>,
  ): Promise<R> {
    const base = this.v2Base;
    if (base === undefined) return run([]);
    for (let attempt = 1; ; attempt += 1) {
      const leaf = await execLeaf(this.name, base);
      const r = await run(['--cgroup', leaf]);
      const stderr = String(r.stderr ?? '');
      if (r.exitCode !== 255 || !CGROUP_JOIN_FAILED.test(stderr)) return r;
      if (attempt === 3)
        throw new SubmissionAssertionError(
          `no command can run on the node any more: three times its process could not join the cgroup /sys/fs/cgroup/${leaf}, which something on the node removes or changes (${runcMessage(stderr)})`,
        );
    }
  }

  /**
   * Throws the submission's failure when a runc exec that failed or did not return (what) is
   * explained by what the node did to its cgroups (cgroupObstacles): a frozen cgroup, one at its
   * pids.max or memory.max.
   */
  private blameCgroups(what: string, oomKillsBefore: number): void {
    const obstacles = cgroupObstacles(this.name, oomKillsBefore);
    if (obstacles.length === 0) return;
    const more = obstacles.length > 3 ? ` and ${obstacles.length - 3} more` : '';
    throw new SubmissionAssertionError(
      `a command on the node failed because of what the node did to its cgroups: ${what}; ${obstacles.slice(0, 3).join('; ')}${more}`,
    );
  }

  private async assertStillRunning(argv: string[]): Promise<void> {
    const r = await execa(runcBinary(), runcArgs('state', this.name), { reject: false, timeout: 30_000 });
    const status = r.exitCode === 0 ? String((JSON.parse(String(r.stdout)) as { status?: string }).status) : 'gone';
    if (status === 'running') return;
    if (oomKills(this.name) > 0) {
      // Its PID 1 was killed: by the node's own limit, or by a memory.max the node set on its cgroup.
      const limits = cgroupObstacles(this.name, 0).filter((o) => o.includes('memory.max'));
      throw new SubmissionAssertionError(
        `node ${this.name} ran out of memory and stopped while it ran ${argv[0]}: ${limits.length ? limits.slice(0, 3).join('; ') : 'something on it used all the memory the node has'}`,
      );
    }
    throw new GraderError(`node ${this.name} stopped (${status}) while it ran ${argv[0]}`);
  }

  /** Copies through tar inside the sandbox: nothing on the host ever follows a path the sandbox made. */
  async copyIn(hostPath: string, nodePath: string): Promise<void> {
    const { archive, unpack } = await tarForCopy(hostPath, nodePath, 512 * 1024 * 1024);
    const oomBefore = oomKills(this.name);
    const r = await this.inLeaf((cgroup) =>
      execa(runcBinary(), runcArgs('exec', ...cgroup, this.name, ...unpack), {
        input: archive,
        reject: false,
        timeout: 120_000,
      }),
    );
    if (r.exitCode !== 0) {
      if (r.timedOut || r.exitCode === 255) this.blameCgroups(`copying ${hostPath} onto the node failed`, oomBefore);
      throw new GraderError(`copying ${hostPath} onto node ${this.name} failed: ${String(r.stderr).trim()}`);
    }
  }

  async destroy(): Promise<void> {
    await usernsRuntime.remove(this.name);
  }
}

/** What unmounts the sandbox's root and writable layer, innermost first. */
function unmountCommands(name: string): string[][] {
  const bundle = bundleOf(name);
  return [path.join(bundle, 'rootfs'), path.join(bundle, 'layer')].map((p) => ['umount', '-l', p]);
}

/** Forgets the sandbox's folder, once nothing is mounted below it any more. */
function removeBundle(name: string): void {
  const bundle = bundleOf(name);
  if (!existsSync(bundle)) return;
  const stillMounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === bundle || m.startsWith(`${bundle}/`));
  if (stillMounted.length)
    throw new GraderError(`sandbox ${name}: ${stillMounted.join(', ')} would not unmount; left in place`);
  rmSync(bundle, { recursive: true, force: true });
}

function removeCgroups(name: string): void {
  const dirs = sandboxCgroups(name);
  // Every hierarchy is tried, whichever fails first.
  const failures: unknown[] = [];
  for (const dir of dirs) {
    try {
      removeCgroupTree(dir);
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length) throw failures[0];
  // The shared kgrade/ parents go with the last sandbox: a start makes its folder before its cgroups.
  const others = existsSync(sandboxesDir()) ? readdirSync(sandboxesDir()).filter((n) => n !== name) : [];
  if (others.length > 0) return;
  for (const parent of new Set(dirs.map((d) => path.dirname(d)))) {
    try {
      rmdirSync(parent);
    } catch {
      // another sandbox's cgroup is there after all, or it is gone already
    }
  }
}

/**
 * Removes the sandbox's cgroups and folder once runc and the mounts are gone. What will not go
 * is set aside: recorded under $KGRADE_STATE/set-aside, left out of list() so that no later
 * reaper trips on it again, its uid slot kept reserved; the GraderError says where.
 */
function forgetOnHost(name: string): void {
  try {
    removeCgroups(name);
    removeBundle(name);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    mkdirSync(setAsideDir(), { recursive: true });
    writeFileSync(setAsideRecord(name), `${JSON.stringify({ reason, since: new Date().toISOString() })}\n`);
    untrack(name);
    throw new GraderError(
      `sandbox ${name} could not be removed (${reason}); it is set aside (${setAsideRecord(name)}) and \`kgrade clean\` tries again`,
      { cause: err },
    );
  }
  rmSync(setAsideRecord(name), { force: true });
  untrack(name);
}

/** Runs a command whose standard output and error are the given file descriptor; resolves to its exit code. */
function spawnWithFd(file: string, args: string[], fd: number, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', fd, fd], timeout: timeoutMs });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

async function startUserns(opts: SandboxOptions): Promise<Sandbox> {
  const missing = missingForUserns();
  if (missing)
    throw new GraderError(
      `cannot start a userns sandbox: ${missing}; fix that, or grade with --isolation privileged (no security boundary)`,
    );
  const cgroups = hostCgroups();
  counter += 1;
  const name = `kgrade-${opts.runId}-${counter}`;
  const bundle = bundleOf(name);
  track(usernsRuntime, name);
  try {
    await mkdir(path.join(bundle, 'layer'), { recursive: true, mode: 0o711 });
    await writeFile(path.join(bundle, 'owner'), `${process.pid}\n`);
    await writeFile(path.join(bundle, 'purpose'), `${opts.purpose.slice(0, 200)}\n`);
    const base = await leaseSlot(sandboxesDir(), bundle);
    const rootfs = await rootfsOf(opts.image, base);
    await mkdir(path.join(bundle, 'rootfs'));
    const mountOk = async (args: string[], what: string) => {
      const r = await execa('mount', args, { reject: false });
      if (r.exitCode !== 0) throw new GraderError(`${what} failed: ${r.stderr.trim()}`);
    };
    // The writable layer lives on a tmpfs of its own: a sandbox that fills it fills only that.
    await mountOk(
      ['-t', 'tmpfs', '-o', `size=${sandboxDisk()},mode=0711`, 'kgrade-layer', path.join(bundle, 'layer')],
      'mounting the sandbox layer',
    );
    await mkdir(path.join(bundle, 'layer', 'upper'));
    await mkdir(path.join(bundle, 'layer', 'work'));
    await lchown(path.join(bundle, 'layer', 'upper'), base, base);
    await mountOk(
      [
        '-t',
        'overlay',
        '-o',
        `lowerdir=${rootfs.dir},upperdir=${path.join(bundle, 'layer/upper')},workdir=${path.join(bundle, 'layer/work')}`,
        'kgrade-root',
        path.join(bundle, 'rootfs'),
      ],
      'mounting the sandbox root',
    );
    writeLimits(cgroups, name);
    const userns = await holdUserNamespace(base);
    await writeFile(
      path.join(bundle, 'config.json'),
      JSON.stringify(ociConfig(name, rootfs.env, base, userns.path), null, 1),
    );
    // The init keeps the standard output and error it is given, and a root inside could make it
    // write there without end: /dev/null, never a pipe the grader would wait on nor a host file.
    // runc's own messages go to a log of its own, read only by the grader.
    const logFile = path.join(bundle, 'runc.log');
    const devNull = openSync('/dev/null', 'w');
    let create;
    try {
      create = await spawnWithFd(
        runcBinary(),
        [
          '--log',
          logFile,
          ...runcArgs('create', '--bundle', bundle, '--pid-file', path.join(bundle, 'init.pid'), name),
        ],
        devNull,
        60_000,
      );
    } finally {
      closeSync(devNull);
      userns.release();
    }
    if (create !== 0)
      throw new GraderError(
        `runc could not create sandbox ${name}: ${(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '').trim().slice(-2000)}`,
      );
    // Between create and start the init waits: the cgroups exist and nothing of the submission runs yet.
    await delegate(cgroups, name, base, Number(readFileSync(path.join(bundle, 'init.pid'), 'utf8').trim()));
    const start = await execa(runcBinary(), runcArgs('start', name), { reject: false, timeout: 60_000 });
    if (start.exitCode !== 0)
      throw new GraderError(`runc could not start sandbox ${name}: ${String(start.stderr).trim()}`);
    const node = new UsernsSandbox(name, cgroups.version === 'v2' ? base : undefined);
    await prepareNode(node);
    return node;
  } catch (err) {
    await usernsRuntime.remove(name).catch(() => undefined);
    throw err;
  }
}

export const usernsRuntime: SandboxRuntime = {
  isolation: 'userns',

  start: startUserns,

  preparedWithoutDocker: hasPreparedRootfs,

  async list(): Promise<SandboxListing[]> {
    if (!existsSync(sandboxesDir())) return [];
    const out: SandboxListing[] = [];
    for (const name of readdirSync(sandboxesDir())) {
      if (existsSync(setAsideRecord(name))) continue;
      let ownerPid = 0;
      try {
        ownerPid = Number(readFileSync(path.join(bundleOf(name), 'owner'), 'utf8').trim());
      } catch {
        // a folder with no owner is the remains of a start that died early: anyone may reap it
        ownerPid = Number.MAX_SAFE_INTEGER;
        try {
          if (Date.now() - statSync(bundleOf(name)).mtimeMs < 60_000) continue;
        } catch {
          continue;
        }
      }
      out.push({ name, ownerPid });
    }
    return out;
  },

  async remove(name: string): Promise<void> {
    await execa(runcBinary(), runcArgs('delete', '--force', name), { reject: false, timeout: 60_000 });
    for (const [file = '', ...args] of unmountCommands(name)) {
      if (existsSync(args[1] ?? '')) await execa(file, args, { reject: false, timeout: 30_000 });
    }
    forgetOnHost(name);
  },

  async setAside(): Promise<SetAsideSandbox[]> {
    if (!existsSync(setAsideDir())) return [];
    return readdirSync(setAsideDir()).map((name) => {
      try {
        const record = JSON.parse(readFileSync(setAsideRecord(name), 'utf8')) as { reason?: string; since?: string };
        return { name, reason: String(record.reason), since: String(record.since) };
      } catch {
        return { name, reason: 'unknown (its record is unreadable)', since: '' };
      }
    });
  },

  removeSync(name: string): void {
    execaSync(runcBinary(), runcArgs('delete', '--force', name), { reject: false, timeout: 60_000, stdio: 'ignore' });
    for (const [file = '', ...args] of unmountCommands(name)) {
      if (existsSync(args[1] ?? '')) execaSync(file, args, { reject: false, timeout: 30_000, stdio: 'ignore' });
    }
    forgetOnHost(name);
  },
};
