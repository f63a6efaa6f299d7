import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { GraderError, SubmissionAssertionError } from '../../errors.js';
import { cacheDir, sandboxDisk, stateDir, USERNS_SIZE, usernsBase } from '../../config.js';
import { docker, dockerBinary, dockerOk } from '../docker.js';
import type { ExecOptions, ExecResult } from '../node.js';
import { track, untrack } from '../reaper.js';
import type { Sandbox, SandboxListing, SandboxOptions, SandboxRuntime } from './index.js';
import { HOSTNAME, INIT, LIMITS, prepareNode } from './node-setup.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const OUTPUT_CAP = 1024 * 1024;
/** The cgroup v1 controllers a sandbox's root may manage below its own cgroup, as on a node. */
const DELEGATED = ['memory', 'pids', 'cpu'] as const;

const runcRoot = () => path.join(stateDir(), 'runc');
const sandboxesDir = () => path.join(stateDir(), 'sandboxes');
const bundleOf = (name: string) => path.join(sandboxesDir(), name);

const RUNC_PATHS = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'];

function runcBinary(): string {
  return RUNC_PATHS.find((p) => existsSync(p)) ?? 'runc';
}

/** What this host lacks for userns sandboxes, in words an operator can act on; undefined when nothing. */
function missingForUserns(): string | undefined {
  if (!RUNC_PATHS.some((p) => existsSync(p))) return 'runc is not installed (Debian: apt-get install runc; it comes with docker.io)';
  try {
    if (Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim()) === 0) return 'user namespaces are disabled (user.max_user_namespaces is 0)';
  } catch {
    return 'this kernel has no user namespaces';
  }
  return undefined;
}

function runcArgs(...args: string[]): string[] {
  return ['--root', runcRoot(), ...args];
}

// --- capabilities --------------------------------------------------------------------------

const CAPABILITY_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

/**
 * Every capability the grader's own bounding set holds. They are capabilities over the sandbox's
 * namespaces only: the user namespace is what keeps them from reaching the host.
 */
function capabilities(): string[] {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
  const bits = BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`);
  return CAPABILITY_NAMES.filter((_n, i) => (bits >> BigInt(i)) & 1n).map((n) => `CAP_${n}`);
}

// --- cgroups -----------------------------------------------------------------------------

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

function requireCgroupV1(): Map<string, string> {
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
function sandboxCgroups(name: string): string[] {
  const seen = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    const fstype = after?.split(' ')[0];
    if (before && (fstype === 'cgroup' || fstype === 'cgroup2')) seen.add(path.join(before.split(' ')[4] ?? '', 'kgrade', name));
  }
  return [...seen];
}

function writeLimits(mounts: Map<string, string>, name: string): void {
  const dir = (c: string) => path.join(mounts.get(c) ?? '', 'kgrade', name);
  for (const c of DELEGATED) mkdirSync(dir(c), { recursive: true });
  writeFileSync(path.join(dir('memory'), 'memory.limit_in_bytes'), String(LIMITS.memoryBytes));
  writeFileSync(path.join(dir('pids'), 'pids.max'), String(LIMITS.pids));
  writeFileSync(path.join(dir('cpu'), 'cpu.cfs_period_us'), '100000');
  writeFileSync(path.join(dir('cpu'), 'cpu.cfs_quota_us'), String(Math.round(LIMITS.cpus * 100000)));
}

/** Hands NAME/node in the delegated hierarchies to the sandbox's root, as a node's root owns its cgroups. */
async function delegate(mounts: Map<string, string>, name: string, base: number): Promise<void> {
  for (const c of DELEGATED) {
    const dir = path.join(mounts.get(c) ?? '', 'kgrade', name, 'node');
    await lchown(dir, base, base);
    for (const f of await readdir(dir)) await lchown(path.join(dir, f), base, base);
  }
}

/** Removes a cgroup folder and any the sandbox made below it, deepest first. */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function oomKills(name: string): number {
  const mountPoint = cgroupV1Mounts().get('memory');
  if (!mountPoint) return 0;
  try {
    const text = readFileSync(path.join(mountPoint, 'kgrade', name, 'memory.oom_control'), 'utf8');
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? '0');
  } catch {
    return 0;
  }
}

// --- the root file system ------------------------------------------------------------------

interface Rootfs {
  dir: string;
  env: string[];
}

/** Gives every file of the tree to the sandbox's id range: uid u becomes base + u. */
async function shiftOwnership(dir: string, base: number): Promise<void> {
  const s = await lstat(dir);
  await lchown(dir, base + s.uid, base + s.gid);
  // chown clears set-user-ID and set-group-ID bits: put them back.
  if (!s.isSymbolicLink()) await chmod(dir, s.mode & 0o7777);
  if (!s.isDirectory()) return;
  for (const e of await readdir(dir)) await shiftOwnership(path.join(dir, e), base);
}

const building = new Map<string, Promise<Rootfs>>();

/**
 * The node image as a folder owned by the sandbox's id range, made once per image and kept in
 * the cache; every sandbox mounts it read-only under its own writable layer.
 */
function rootfsOf(image: string, base: number): Promise<Rootfs> {
  const key = `${image}@${base}`;
  let p = building.get(key);
  if (!p) {
    p = buildRootfs(image, base);
    building.set(key, p);
    p.catch(() => building.delete(key));
  }
  return p;
}

async function buildRootfs(image: string, base: number): Promise<Rootfs> {
  const inspect = await docker(['image', 'inspect', '--format', '{{.Id}} {{json .Config.Env}}', image], { timeoutMs: 30_000 });
  if (inspect.code !== 0) {
    throw new GraderError(`could not start a sandbox from ${image}: ${inspect.stderr.trim()} (build it with images/node/build.sh, or scripts/ensure-images.sh)`);
  }
  const [id = '', envJson = '[]'] = inspect.stdout.trim().split(/ (.*)/s);
  const env = (JSON.parse(envJson) as string[] | null) ?? [];
  const dir = path.join(cacheDir(), 'userns-rootfs', `${id.replace(/^sha256:/, '').slice(0, 16)}-${base}`);
  if (existsSync(path.join(dir, 'complete'))) return { dir: path.join(dir, 'rootfs'), env };

  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, 'rootfs'), { recursive: true });
  const cid = (await dockerOk(['create', image, 'true'], `creating a container of ${image} to export its files`)).trim();
  try {
    const exported = await execa(dockerBinary(), ['export', cid], { reject: false, buffer: false })
      .pipe('tar', ['-x', '--numeric-owner', '-C', path.join(tmp, 'rootfs')], { reject: false });
    if (exported.exitCode !== 0) throw new GraderError(`exporting ${image} into ${tmp} failed: ${String(exported.stderr).trim()}`);
  } finally {
    await docker(['rm', '-f', cid]).catch(() => undefined);
  }
  const root = path.join(tmp, 'rootfs');
  await writeFile(path.join(root, 'etc/hostname'), `${HOSTNAME}\n`);
  await writeFile(path.join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  await writeFile(path.join(root, 'etc/resolv.conf'), '');
  await shiftOwnership(root, base);
  await writeFile(path.join(tmp, 'complete'), `${image} ${id}\n`);
  try {
    await rename(tmp, dir);
  } catch (err) {
    // another kgrade process finished the same image first
    if (!existsSync(path.join(dir, 'complete'))) throw new GraderError(`could not keep the sandbox root at ${dir}`, { cause: err });
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir: path.join(dir, 'rootfs'), env };
}

// --- the OCI configuration ----------------------------------------------------------------

interface Mount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

const mount = (destination: string, type: string, options: string[], source = type): Mount => ({ destination, type, source, options });

function ociConfig(name: string, env: string[], base: number): object {
  const caps = capabilities();
  const idMap = [{ containerID: 0, hostID: base, size: USERNS_SIZE }];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: INIT,
      env: [...env.filter((e) => !/^(HOME|HOSTNAME)=/.test(e)), 'HOME=/root', `HOSTNAME=${HOSTNAME}`],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: HOSTNAME,
    mounts: [
      mount('/proc', 'proc', ['nosuid', 'noexec', 'nodev']),
      mount('/dev', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
      mount('/dev/pts', 'devpts', ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']),
      mount('/dev/shm', 'tmpfs', ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'], 'shm'),
      mount('/dev/mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
      mount('/sys', 'sysfs', ['nosuid', 'noexec', 'nodev']),
      mount('/sys/fs/cgroup', 'cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'rw']),
      // `ip netns exec` unmounts /sys and mounts a fresh sysfs for the namespace; in a user namespace
      // the kernel allows that only while another sysfs stays mounted in full view. This one does,
      // under the /run tmpfs that covers it next.
      mount('/run/.kgrade-sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'ro']),
      mount('/run', 'tmpfs', ['nosuid', 'nodev', 'mode=755', 'size=64m']),
      mount('/tmp', 'tmpfs', ['nosuid', 'nodev', 'mode=1777', 'size=256m']),
      // The grader's own files on the node (a script's exit status, its runner's PID, shells).
      mount('/run/kgrade', 'tmpfs', ['mode=755', 'size=16m']),
      // Submission scripts' output, apart: a script printing without end fills this one, not the
      // space the grader needs to record that the script was stopped.
      mount('/run/kgrade/output', 'tmpfs', ['mode=755', 'size=32m']),
    ],
    linux: {
      uidMappings: idMap,
      gidMappings: idMap,
      cgroupsPath: `/kgrade/${name}/node`,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'].map((type) => ({ type })),
      // Nothing masked: the user namespace, not a mask, keeps /proc and /sys from the host, and a
      // masked /proc would refuse the fresh procfs that `unshare --mount-proc` mounts.
      maskedPaths: [],
      readonlyPaths: [],
    },
    annotations: { 'kgrade.owner-pid': String(process.pid) },
  };
}

// --- the sandbox ---------------------------------------------------------------------------

let counter = 0;

/**
 * A node sandbox in a user namespace, run by runc: root inside is an unprivileged id range on the
 * host, with private mount, PID, network, UTS, IPC and cgroup namespaces, no host devices, a
 * writable layer on a size-capped tmpfs, and cgroup v1 subtrees delegated below the host-owned
 * cgroup that holds the sandbox's limits.
 */
class UsernsSandbox implements Sandbox {
  readonly isolation = 'userns' as const;

  constructor(readonly name: string) {}

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const started = Date.now();
    const r = await execa(runcBinary(), runcArgs('exec', this.name, 'timeout', '-k', '3', String(seconds), ...argv), {
      reject: false,
      timeout: timeoutMs + 30_000,
      maxBuffer: OUTPUT_CAP,
      stripFinalNewline: false,
      ...(options.stdin !== undefined ? { input: options.stdin } : { stdin: 'ignore' as const }),
    });
    const durationMs = Date.now() - started;
    if (r.timedOut) throw new GraderError(`runc exec on ${this.name} did not return within ${Math.round(timeoutMs / 1000) + 30} s`);
    if (r.exitCode === undefined) throw new GraderError(`cannot run runc for ${this.name}: ${r.shortMessage}`);
    const code = r.exitCode;
    const stderr = String(r.stderr ?? '');
    if (code === 255 && /level=error msg="exec failed/.test(stderr)) {
      await this.assertStillRunning(argv);
      throw new GraderError(`cannot run ${argv[0]} on node ${this.name}: ${/msg="([^"]*(?:\\"[^"]*)*)"/.exec(stderr)?.[1] ?? stderr.trim()}`);
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

  private async assertStillRunning(argv: string[]): Promise<void> {
    const r = await execa(runcBinary(), runcArgs('state', this.name), { reject: false, timeout: 30_000 });
    const status = r.exitCode === 0 ? String((JSON.parse(String(r.stdout)) as { status?: string }).status) : 'gone';
    if (status === 'running') return;
    if (oomKills(this.name) > 0) {
      throw new SubmissionAssertionError(`node ${this.name} ran out of memory and stopped while it ran ${argv[0]}: something on it used all the memory the node has`);
    }
    throw new GraderError(`node ${this.name} stopped (${status}) while it ran ${argv[0]}`);
  }

  /** Copies through tar inside the sandbox: nothing on the host ever follows a path the sandbox made. */
  async copyIn(hostPath: string, nodePath: string): Promise<void> {
    const contents = hostPath.endsWith('/.');
    const source = contents ? hostPath.slice(0, -2) : hostPath;
    const archive = await execa('tar', ['-c', '--owner=0', '--group=0', '-C', contents ? source : path.dirname(source), contents ? '.' : path.basename(source)], {
      encoding: 'buffer',
      reject: false,
      maxBuffer: 512 * 1024 * 1024,
    });
    if (archive.exitCode !== 0) throw new GraderError(`could not pack ${hostPath}: ${Buffer.from(archive.stderr).toString().trim()}`);
    const unpack = contents
      ? `mkdir -p "$1" && tar -x --no-same-owner -C "$1"`
      : `t=$(mktemp -d /run/kgrade/copy-XXXXXX) && tar -x --no-same-owner -C "$t" && mv "$t/$2" "$1" && rmdir "$t"`;
    const r = await execa(runcBinary(), runcArgs('exec', this.name, 'sh', '-c', unpack, 'copy', nodePath, path.basename(source)), {
      input: archive.stdout,
      reject: false,
      timeout: 120_000,
    });
    if (r.exitCode !== 0) throw new GraderError(`copying ${hostPath} onto node ${this.name} failed: ${String(r.stderr).trim()}`);
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
  if (stillMounted.length) throw new GraderError(`sandbox ${name}: ${stillMounted.join(', ')} would not unmount; left in place`);
  rmSync(bundle, { recursive: true, force: true });
}

function removeCgroups(name: string): void {
  for (const dir of sandboxCgroups(name)) removeCgroupTree(dir);
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
  if (missing) throw new GraderError(`cannot start a userns sandbox: ${missing}; fix that, or grade with --isolation privileged (no security boundary)`);
  const mounts = requireCgroupV1();
  const base = usernsBase();
  const rootfs = await rootfsOf(opts.image, base);
  counter += 1;
  const name = `kgrade-${opts.runId}-${counter}`;
  const bundle = bundleOf(name);
  track(usernsRuntime, name);
  try {
    await mkdir(path.join(bundle, 'layer'), { recursive: true, mode: 0o711 });
    await writeFile(path.join(bundle, 'owner'), `${process.pid}\n`);
    await writeFile(path.join(bundle, 'purpose'), `${opts.purpose.slice(0, 200)}\n`);
    await mkdir(path.join(bundle, 'rootfs'));
    const mountOk = async (args: string[], what: string) => {
      const r = await execa('mount', args, { reject: false });
      if (r.exitCode !== 0) throw new GraderError(`${what} failed: ${r.stderr.trim()}`);
    };
    // The writable layer lives on a tmpfs of its own: a sandbox that fills it fills only that.
    await mountOk(['-t', 'tmpfs', '-o', `size=${sandboxDisk()},mode=0711`, 'kgrade-layer', path.join(bundle, 'layer')], 'mounting the sandbox layer');
    await mkdir(path.join(bundle, 'layer', 'upper'));
    await mkdir(path.join(bundle, 'layer', 'work'));
    await lchown(path.join(bundle, 'layer', 'upper'), base, base);
    await mountOk(
      ['-t', 'overlay', '-o', `lowerdir=${rootfs.dir},upperdir=${path.join(bundle, 'layer/upper')},workdir=${path.join(bundle, 'layer/work')}`, 'kgrade-root', path.join(bundle, 'rootfs')],
      'mounting the sandbox root',
    );
    writeLimits(mounts, name);
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(ociConfig(name, rootfs.env, base), null, 1));
    // The init keeps the standard output and error it is given: a file, never a pipe the grader would wait on.
    const logFile = path.join(bundle, 'init.log');
    const log = openSync(logFile, 'w');
    let create;
    try {
      create = await spawnWithFd(runcBinary(), runcArgs('create', '--bundle', bundle, name), log, 60_000);
    } finally {
      closeSync(log);
    }
    if (create !== 0) throw new GraderError(`runc could not create sandbox ${name}: ${readFileSync(logFile, 'utf8').trim().slice(-2000)}`);
    // Between create and start the init waits: the cgroups exist and nothing of the submission runs yet.
    await delegate(mounts, name, base);
    const start = await execa(runcBinary(), runcArgs('start', name), { reject: false, timeout: 60_000 });
    if (start.exitCode !== 0) throw new GraderError(`runc could not start sandbox ${name}: ${String(start.stderr).trim()}`);
    const node = new UsernsSandbox(name);
    await prepareNode(node);
    return node;
  } catch (err) {
    await usernsRuntime.remove(name).catch(() => undefined);
    throw err;
  }
}

export const usernsRuntime: SandboxRuntime = {
  isolation: 'userns',
  boundary: 'a user namespace (runc): root inside is an unprivileged uid range on the grading host, with private mount, PID, network, UTS, IPC and cgroup namespaces and no host devices',

  start: startUserns,

  async list(): Promise<SandboxListing[]> {
    if (!existsSync(sandboxesDir())) return [];
    const out: SandboxListing[] = [];
    for (const name of readdirSync(sandboxesDir())) {
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
    removeCgroups(name);
    removeBundle(name);
    untrack(name);
  },

  removeSync(name: string): void {
    execaSync(runcBinary(), runcArgs('delete', '--force', name), { reject: false, timeout: 60_000, stdio: 'ignore' });
    for (const [file = '', ...args] of unmountCommands(name)) {
      if (existsSync(args[1] ?? '')) execaSync(file, args, { reject: false, timeout: 30_000, stdio: 'ignore' });
    }
    removeCgroups(name);
    removeBundle(name);
    untrack(name);
  },
};
