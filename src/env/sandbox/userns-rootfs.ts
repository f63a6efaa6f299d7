import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from '../../vendor/execa.js';
import { cacheDir } from '../../config.js';
import { type CacheRule, markUsed, pruneCache } from '../cache-prune.js';
import { GraderError } from '../../errors.js';
import { docker, dockerBinary, dockerOk } from '../../docker.js';
import { HOSTNAME } from './node-setup.js';

export interface Rootfs {
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
export function rootfsOf(image: string, base: number): Promise<Rootfs> {
  const key = `${image}@${base}`;
  let p = building.get(key);
  if (!p) {
    p = buildRootfs(image, base);
    building.set(key, p);
    p.catch(() => building.delete(key));
  }
  return p;
}

const rootfsCache = () => path.join(cacheDir(), 'userns-rootfs');
/**
 * A root is made per image and id range (about 160 MB each): a rebuilt node image leaves its
 * predecessor's roots behind, and a killed run its half-made copy. Each run that uses a root
 * touches its `complete`; roots unused for a week, and copies of dead runs, are removed when
 * another root is looked up.
 */
const STORE: CacheRule = { making: /\.tmp-(\d+)$/, stamp: 'complete', unusedDays: 7 };

/** Marks a root as used now; a cache this process cannot write is still read. */
function used(dir: string): void {
  try {
    markUsed(dir, STORE);
  } catch {
    // read-only cache: nothing is pruned from it either
  }
}
/** Beside `complete`: the image's environment, so that a prepared root serves without Docker. */
const ENV_FILE = 'env.json';

/**
 * A root made earlier from image for the id range at base, found without Docker: the newest
 * cache entry whose `complete` names the image and that kept its environment. For hosts that
 * grade with userns but run no Docker daemon (the cache was filled elsewhere, or Docker is down).
 */
export function preparedRootfs(image: string, base: number): Rootfs | undefined {
  const dir = rootfsCache();
  if (!existsSync(dir)) return undefined;
  const found = readdirSync(dir)
    .filter((n) => n.endsWith(`-${base}`))
    .map((n) => path.join(dir, n))
    .filter((d) => {
      try {
        return (
          readFileSync(path.join(d, 'complete'), 'utf8').split(' ')[0] === image && existsSync(path.join(d, ENV_FILE))
        );
      } catch {
        return false;
      }
    })
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!found) return undefined;
  used(found);
  return {
    dir: path.join(found, 'rootfs'),
    env: JSON.parse(readFileSync(path.join(found, ENV_FILE), 'utf8')) as string[],
  };
}

/** Whether some id range has a root of image prepared: userns can grade with it when Docker cannot answer. */
export function hasPreparedRootfs(image: string): boolean {
  const dir = rootfsCache();
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((n) => {
    const base = Number(/-(\d+)$/.exec(n)?.[1]);
    return base > 0 && preparedRootfs(image, base) !== undefined;
  });
}

async function inspectImage(image: string) {
  try {
    return await docker(['image', 'inspect', '--format', '{{.Id}} {{json .Config.Env}}', image], { timeoutMs: 30_000 });
  } catch (err) {
    return { code: -1, stdout: '', stderr: (err as Error).message };
  }
}

async function buildRootfs(image: string, base: number): Promise<Rootfs> {
  const inspect = await inspectImage(image);
  if (inspect.code !== 0) {
    const prepared = preparedRootfs(image, base);
    if (prepared) return prepared;
    throw new GraderError(
      `could not start a sandbox from ${image}: ${inspect.stderr.trim()} (build it with images/node/build.sh, or scripts/ensure-images.sh)`,
    );
  }
  const [id = '', envJson = '[]'] = inspect.stdout.trim().split(/ (.*)/s);
  const env = (JSON.parse(envJson) as string[] | null) ?? [];
  const dir = path.join(rootfsCache(), `${id.replace(/^sha256:/, '').slice(0, 16)}-${base}`);
  pruneCache(rootfsCache(), STORE, [path.basename(dir)]);
  if (existsSync(path.join(dir, 'complete'))) {
    if (!existsSync(path.join(dir, ENV_FILE))) await writeFile(path.join(dir, ENV_FILE), JSON.stringify(env));
    used(dir);
    return { dir: path.join(dir, 'rootfs'), env };
  }

  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, 'rootfs'), { recursive: true });
  const cid = (
    await dockerOk(['create', image, 'true'], `creating a container of ${image} to export its files`)
  ).trim();
  try {
    const exported = await execa(dockerBinary(), ['export', cid], { reject: false, buffer: false }).pipe(
      'tar',
      ['-x', '--numeric-owner', '-C', path.join(tmp, 'rootfs')],
      { reject: false },
    );
    if (exported.exitCode !== 0)
      throw new GraderError(`exporting ${image} into ${tmp} failed: ${String(exported.stderr).trim()}`);
  } finally {
    await docker(['rm', '-f', cid]).catch(() => undefined);
  }
  const root = path.join(tmp, 'rootfs');
  await writeFile(path.join(root, 'etc/hostname'), `${HOSTNAME}\n`);
  await writeFile(
    path.join(root, 'etc/hosts'),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  await writeFile(path.join(root, 'etc/resolv.conf'), '');
  await shiftOwnership(root, base);
  await writeFile(path.join(tmp, ENV_FILE), JSON.stringify(env));
  await writeFile(path.join(tmp, 'complete'), `${image} ${id}\n`);
  try {
    await rename(tmp, dir);
  } catch (err) {
    // another kgrade process finished the same image first
    if (!existsSync(path.join(dir, 'complete')))
      throw new GraderError(`could not keep the sandbox root at ${dir}`, { cause: err });
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir: path.join(dir, 'rootfs'), env };
}
