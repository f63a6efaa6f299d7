import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { WorldParameters } from '../cucumber/parameters.js';
import { docker } from '../docker.js';
import type { Isolation } from '../env/sandbox/index.js';
import type { Lab } from '../lab/types.js';
import { REPO_ROOT } from '../paths.js';
import { byId } from './shard.js';

/**
 * What produced a result (src/batch/records.ts's Provenance): kgrade's version, the lab's content,
 * where it ran, and the submission's content. The hashes are sha256 over sorted paths and
 * contents, so they do not depend on the order a file system lists a folder in, on timestamps or
 * on where the folder is.
 */

/** One file of a hashed tree: its path (with /), what it is, and its content's sha256. */
export interface HashedFile {
  path: string;
  kind: 'file' | 'executable' | 'link';
  sha256: string;
}

/** sha256 over the files' kinds, paths and content hashes, in path order: the tree's hash. */
export function hashFiles(files: readonly HashedFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => byId(a.path, b.path)))
    h.update(`${JSON.stringify([f.kind, f.path, f.sha256])}\n`);
  return h.digest('hex');
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256OfFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Every file below dir, relative to `relTo` (default dir): plain files (with their executable bit)
 * and links (by their target, never followed). FIFOs, sockets and devices are not content, and
 * reading a FIFO would never end: they are left out, as the grader's copy leaves them out.
 */
export async function filesOf(dir: string, relTo = dir): Promise<HashedFile[]> {
  const out: HashedFile[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const rel = path.relative(relTo, full).split(path.sep).join('/');
    if (e.isDirectory()) out.push(...(await filesOf(full, relTo)));
    else if (e.isSymbolicLink()) out.push({ path: rel, kind: 'link', sha256: sha256(await readlink(full)) });
    else if (e.isFile())
      out.push({
        path: rel,
        kind: ((await lstat(full)).mode & 0o111) !== 0 ? 'executable' : 'file',
        sha256: await sha256OfFile(full),
      });
  }
  return out;
}

/** The submission's hash: its files after unpacking, wherever the folder is. */
export async function submissionHash(dir: string): Promise<string> {
  return hashFiles(await filesOf(dir));
}

/** The lab's hash: lab.yaml, every file under features/ and fixtures/, and each fixture manifest lab.yaml names. */
export async function labHash(lab: Pick<Lab, 'dir' | 'fixtures'>): Promise<string> {
  const files = [
    { path: 'lab.yaml', kind: 'file' as const, sha256: sha256(await readFile(path.join(lab.dir, 'lab.yaml'))) },
    ...(await filesOf(path.join(lab.dir, 'features'), lab.dir)),
    ...(await filesOf(path.join(lab.dir, 'fixtures'), lab.dir)),
  ];
  for (const f of lab.fixtures) {
    const rel = path.relative(lab.dir, path.resolve(lab.dir, f.manifest)).split(path.sep).join('/');
    if (!files.some((x) => x.path === rel))
      files.push({ path: rel, kind: 'file', sha256: sha256(await readFile(path.join(lab.dir, rel))) });
  }
  return hashFiles(files);
}

let version: string | undefined;

/** kgrade's version, from package.json. */
export async function kgradeVersion(): Promise<string> {
  version ??= String(
    (JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version ??
      'unknown',
  );
  return version;
}

/**
 * Where the batch grades, in one line: for sandbox labs the node image (with its image id) and the
 * isolation; for cluster labs the cluster and its Kubernetes version.
 */
export async function environmentOf(opts: {
  nodeImage: string;
  isolation: Isolation;
  cluster?: WorldParameters['cluster'];
}): Promise<string> {
  if (opts.cluster) {
    const { loadKubeConfig } = await import('../kube/client.js');
    const k8s = await import('../vendor/kubernetes-client.js');
    let server = 'version unknown';
    try {
      const v = await loadKubeConfig(opts.cluster).makeApiClient(k8s.VersionApi).getCode();
      server = `kubernetes ${v.gitVersion}`;
    } catch (err) {
      server = `kubernetes version unknown (${(err as Error).message.split('\n')[0]})`;
    }
    return `cluster ${opts.cluster.provider}:${opts.cluster.context} ${server}`;
  }
  const r = await docker(['image', 'inspect', '--format', '{{.Id}}', opts.nodeImage], { timeoutMs: 30_000 }).catch(
    () => undefined,
  );
  const id = r?.code === 0 ? ` (${r.stdout.trim()})` : '';
  return `sandbox ${opts.nodeImage}${id} isolation ${opts.isolation}`;
}
