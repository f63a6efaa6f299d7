import { existsSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from '../../vendor/execa.js';
import { cacheDir } from '../../config.js';
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

async function buildRootfs(image: string, base: number): Promise<Rootfs> {
  const inspect = await docker(['image', 'inspect', '--format', '{{.Id}} {{json .Config.Env}}', image], {
    timeoutMs: 30_000,
  });
  if (inspect.code !== 0) {
    throw new GraderError(
      `could not start a sandbox from ${image}: ${inspect.stderr.trim()} (build it with images/node/build.sh, or scripts/ensure-images.sh)`,
    );
  }
  const [id = '', envJson = '[]'] = inspect.stdout.trim().split(/ (.*)/s);
  const env = (JSON.parse(envJson) as string[] | null) ?? [];
  const dir = path.join(cacheDir(), 'userns-rootfs', `${id.replace(/^sha256:/, '').slice(0, 16)}-${base}`);
  if (existsSync(path.join(dir, 'complete'))) return { dir: path.join(dir, 'rootfs'), env };

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
