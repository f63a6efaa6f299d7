import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { stateDir } from '../../config.js';
import { GraderError } from '../../errors.js';
import { docker } from '../../docker.js';
import { runRepoScript } from '../images.js';

/**
 * A kind cluster's local registry (images/registry/run.sh): a read-only instance that the
 * cluster's pods pull from, and a writer that only this host's loopback reaches.
 */
export interface RegistryNames {
  /** The serving container, on the cluster's network. */
  serve: string;
  /** The container kgrade pushes through. */
  writer: string;
  /** The docker volume both share. */
  volume: string;
  /** The docker network of the cluster's nodes. */
  network: string;
}

/** Repository -> tag -> manifest digest: what a registry serves. */
export type RegistryContents = Record<string, Record<string, string>>;

const DEFAULT_CLUSTER = 'kgrade';

/**
 * The names kgrade's registry and network take for a cluster. The default cluster keeps kind's
 * own network and the registry name it always had; any other gets its own network, so that its
 * registry (reached as kgrade-registry, the name the node image pulls from) is the only one there.
 */
export function registryNames(cluster: string): RegistryNames {
  const serve = cluster === DEFAULT_CLUSTER ? 'kgrade-registry' : `kgrade-registry-${cluster}`;
  return {
    serve,
    writer: `${serve}-writer`,
    volume: `${serve}-data`,
    network: cluster === DEFAULT_CLUSTER ? 'kind' : `kind-${cluster}`,
  };
}

function scriptEnv(names: RegistryNames): Record<string, string> {
  return { KGRADE_REGISTRY_NAME: names.serve, KGRADE_REGISTRY_NETWORK: names.network };
}

/**
 * Starts the registry (anew when reset, or when its containers have another configuration) and
 * pushes the images; returns the "repository:tag" each was pushed as.
 */
export async function startRegistry(
  names: RegistryNames,
  images: string[],
  log: (line: string) => void,
  opts: { reset?: boolean } = {},
): Promise<string[]> {
  const out = await runRepoScript(
    `images/registry/run.sh ${opts.reset ? '--reset ' : ''}${images.join(' ')}`,
    log,
    scriptEnv(names),
  );
  return out.split('\n').flatMap((l) => (l.startsWith('pushed ') ? [l.slice('pushed '.length).trim()] : []));
}

/**
 * What the registry should serve right after these pushes: the pushed tags, at the digests it
 * serves them at (a push sets them), and nothing else.
 */
export function pushedContents(pushed: string[], served: RegistryContents): RegistryContents {
  const out: RegistryContents = {};
  for (const ref of pushed) {
    const at = ref.lastIndexOf(':');
    const [repo, tag] = [ref.slice(0, at), ref.slice(at + 1)];
    (out[repo] ??= {})[tag] = served[repo]?.[tag] ?? '(not served)';
  }
  return out;
}

/** Removes both registry containers, their volume and the writer's network; absent ones are no error. */
export async function removeRegistry(names: RegistryNames): Promise<void> {
  await docker(['rm', '-f', '-v', names.serve, names.writer]);
  await Promise.all([docker(['volume', 'rm', names.volume]), docker(['network', 'rm', names.writer])]);
}

/** The loopback port a registry container publishes, from `docker inspect`'s port map. */
export function loopbackPort(inspectPorts: string): number | undefined {
  let ports: unknown;
  try {
    ports = JSON.parse(inspectPorts);
  } catch {
    return undefined;
  }
  const bindings = (ports as Record<string, { HostIp?: string; HostPort?: string }[] | null> | null)?.['5000/tcp'];
  const port = Number(bindings?.find((b) => b.HostIp === '127.0.0.1')?.HostPort);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Answer {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to the registry on the loopback (node:http: fetch's first use costs more than the whole check). */
function get(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const method = opts.method ?? 'GET';
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: opts.headers ?? {}, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299)
          reject(new GraderError(`the local registry answered ${status} to ${method} ${url}`));
        else resolve({ headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(new GraderError(`the local registry did not answer ${method} ${url} within 10 s`)),
    );
    req.on('error', (err) =>
      reject(err instanceof GraderError ? err : new GraderError(`the local registry at ${url}: ${err.message}`)),
    );
    req.end();
  });
}

/** Every entry of a paginated list (the catalog, a repository's tags), following the Link headers. */
async function listAll(base: string, first: string, key: 'repositories' | 'tags'): Promise<string[]> {
  const out: string[] = [];
  let next: string | undefined = `${first}?n=1000`;
  for (let page = 0; next && page < 100; page++) {
    const r = await get(`${base}${next}`);
    out.push(...((JSON.parse(r.body) as Record<string, string[] | null | undefined>)[key] ?? []));
    const link = r.headers.link;
    next = /<\/v2([^>]+)>;\s*rel="next"/.exec(typeof link === 'string' ? link : '')?.[1];
  }
  return out.sort();
}

/** Reads every repository, tag and manifest digest the registry on 127.0.0.1:port serves. */
export async function readRegistry(port: number): Promise<RegistryContents> {
  const base = `http://127.0.0.1:${port}/v2`;
  const repos = await listAll(base, '/_catalog', 'repositories');
  const contents: RegistryContents = {};
  await Promise.all(
    repos.map(async (repo) => {
      const tags: Record<string, string> = {};
      await Promise.all(
        (await listAll(base, `/${repo}/tags/list`, 'tags')).map(async (tag) => {
          const head = await get(`${base}/${repo}/manifests/${tag}`, {
            method: 'HEAD',
            headers: { Accept: MANIFEST_TYPES },
          });
          const digest = head.headers['docker-content-digest'];
          tags[tag] = typeof digest === 'string' ? digest : '(no digest)';
        }),
      );
      contents[repo] = Object.fromEntries(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)));
    }),
  );
  return Object.fromEntries(Object.entries(contents).sort(([a], [b]) => a.localeCompare(b)));
}

/** How what the registry serves differs from what kgrade put there, in words; empty when it is the same. */
export function registryDifferences(expected: RegistryContents, seen: RegistryContents): string[] {
  const out: string[] = [];
  const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
  for (const repo of Object.keys(seen)) if (!(repo in expected)) out.push(`repository ${repo} added`);
  for (const [repo, tags] of Object.entries(expected)) {
    const now = seen[repo];
    if (!now) {
      out.push(`repository ${repo} gone`);
      continue;
    }
    for (const [tag, digest] of Object.entries(tags)) {
      if (!(tag in now)) out.push(`${repo}:${tag} gone`);
      else if (now[tag] !== digest) out.push(`${repo}:${tag} is ${short(now[tag] ?? '')}, not ${short(digest)}`);
    }
    for (const tag of Object.keys(now)) if (!(tag in tags)) out.push(`${repo}:${tag} added`);
  }
  return out;
}

function expectedFile(cluster: string): string {
  return path.join(stateDir(), `kind-${cluster}.registry.json`);
}

/** Keeps what the registry serves right after kgrade pushed, to hold every later grade to it. */
export async function recordRegistry(cluster: string, contents: RegistryContents): Promise<void> {
  await mkdir(stateDir(), { recursive: true });
  await writeFile(expectedFile(cluster), `${JSON.stringify(contents, null, 2)}\n`);
}

/** What kgrade put in the cluster's registry at its last provision; undefined when nothing was recorded. */
export async function recordedRegistry(cluster: string): Promise<RegistryContents | undefined> {
  const file = expectedFile(cluster);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as RegistryContents;
  } catch {
    return undefined;
  }
}

export async function forgetRegistry(cluster: string): Promise<void> {
  await rm(expectedFile(cluster), { force: true });
}

/** The loopback ports of the serving and the writing instance; undefined for one that is not running. */
export async function registryPorts(names: RegistryNames): Promise<{ serve?: number; write?: number }> {
  const r = await docker([
    'inspect',
    '--type',
    'container',
    '--format',
    '{{.Name}} {{.State.Running}} {{json .NetworkSettings.Ports}}',
    names.serve,
    names.writer,
  ]);
  const out: { serve?: number; write?: number } = {};
  for (const line of r.stdout.trim().split('\n')) {
    const [name, running, ...ports] = line.split(' ');
    const port = running === 'true' ? loopbackPort(ports.join(' ')) : undefined;
    if (port === undefined) continue;
    if (name === `/${names.serve}`) out.serve = port;
    if (name === `/${names.writer}`) out.write = port;
  }
  return out;
}
