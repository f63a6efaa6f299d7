import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError } from '../errors.js';
import { docker, dockerOk } from '../docker.js';
import { sh, shellQuote, type ExecResult, type Node } from '../node.js';
import { api } from './client.js';
import { nodeReady } from './readiness.js';
import { fullImageName } from './image-ref.js';

/** The containerd namespace the kubelet's images and containers live in. */
const K8S_NS = 'k8s.io';
/** Where containerd's CRI plugin reads each registry's hosts.toml (mirrors, the local registry). */
const HOSTS_DIR = '/etc/containerd/certs.d';

async function requireCtr(node: Node): Promise<void> {
  const r = await sh(node, 'command -v ctr', { timeoutMs: 15_000 });
  if (r.code !== 0) throw new GraderError(`node ${node.name} has no ctr: this check needs a containerd node`);
}

/**
 * Pulls an image into the node's containerd the way the kubelet does: from
 * the registries its CRI configuration names (hosts.toml under HOSTS_DIR).
 * An image already there is resolved again, which makes no difference to it.
 */
export async function pullOnNode(node: Node, image: string, timeoutMs: number): Promise<void> {
  await requireCtr(node);
  const ref = fullImageName(image);
  const r = await sh(
    node,
    `hd=; [ -d ${HOSTS_DIR} ] && hd='--hosts-dir ${HOSTS_DIR}'; ctr -n ${K8S_NS} images pull $hd ${shellQuote(ref)}`,
    { timeoutMs },
  );
  if (r.code !== 0 || r.timedOut) {
    throw new GraderError(
      `pulling ${ref} into node ${node.name}'s containerd failed${r.timedOut ? ' (no answer in time)' : ''}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
}

/**
 * `docker run --rm IMAGE sh -c COMMAND`, done by the node's own container
 * runtime: containerd's `ctr run --rm`. The container's output goes through
 * the shim into a file (--log-uri), read once the task is deleted: ctr's own
 * FIFOs can lose what a process printed just before it exited
 * (containerd/containerd#770). Its stdout and stderr arrive together as stdout.
 * The container is removed afterwards, also when the command hangs.
 */
export async function runOnNodeRuntime(
  node: Node,
  image: string,
  command: string,
  timeoutMs: number,
): Promise<ExecResult> {
  await pullOnNode(node, image, timeoutMs);
  const ref = fullImageName(image);
  const id = `kgrade-run-${randomBytes(4).toString('hex')}`;
  const log = `/var/tmp/${id}.log`;
  try {
    const r = await node.exec(
      ['ctr', '-n', K8S_NS, 'run', '--rm', '--log-uri', `file://${log}`, ref, id, 'sh', '-c', command],
      { timeoutMs },
    );
    const out = await node.exec(['cat', log], { timeoutMs: 30_000 });
    return { ...r, stdout: out.code === 0 ? out.stdout : r.stdout };
  } finally {
    await sh(
      node,
      `ctr -n ${K8S_NS} tasks kill -s SIGKILL ${id} 2>/dev/null; sleep 0.2; ctr -n ${K8S_NS} tasks rm -f ${id} 2>/dev/null; ctr -n ${K8S_NS} containers rm ${id} 2>/dev/null; rm -f ${log}; true`,
      { timeoutMs: 30_000 },
    ).catch(() => undefined);
  }
}

/** One image as the node's containerd holds it. */
export interface ImageLayers {
  ref: string;
  manifest: string;
  /** The manifest's layer digests, bottom first. */
  layers: string[];
  /** The config's rootfs.diff_ids: the digests of the uncompressed layers. */
  diffIds: string[];
}

export interface SiblingImages {
  base: string;
  /** The base image's diff IDs as the grading host's Docker holds it. */
  baseDiffIds: string[];
  images: [ImageLayers, ImageLayers];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os?: string; architecture?: string };
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new GraderError(`${what} is not JSON: ${text.slice(0, 200)}`, { cause: err });
  }
}

async function contentGet<T>(node: Node, digest: string, what: string): Promise<T> {
  const r = await node.exec(['ctr', '-n', K8S_NS, 'content', 'get', digest], { timeoutMs: 30_000 });
  if (r.code !== 0)
    throw new GraderError(`reading ${what} (${digest}) from node ${node.name}'s containerd: ${r.stderr.trim()}`);
  return parseJson<T>(r.stdout, `${what} ${digest}`);
}

/** An imported image's manifest, config and layers, read with `ctr content get`. */
async function readImage(node: Node, ref: string): Promise<ImageLayers> {
  const ls = await node.exec(['ctr', '-n', K8S_NS, 'images', 'ls'], { timeoutMs: 30_000 });
  if (ls.code !== 0) throw new GraderError(`ctr images ls on node ${node.name}: ${ls.stderr.trim()}`);
  const row = ls.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((cols) => cols[0] === ref || cols[0]?.endsWith(`/${ref}`));
  const target = row?.[2];
  if (!row || !target?.startsWith('sha256:'))
    throw new GraderError(`${ref} is not among node ${node.name}'s images after the import`);
  let manifest = await contentGet<{
    mediaType?: string;
    manifests?: Descriptor[];
    config?: Descriptor;
    layers?: Descriptor[];
  }>(node, target, `the manifest of ${ref}`);
  let digest = target;
  if (manifest.manifests) {
    // An index (newer Docker saves OCI layouts): the image for this node's platform.
    const pick =
      manifest.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture !== 'unknown') ??
      manifest.manifests[0];
    if (!pick) throw new GraderError(`the index of ${ref} lists no manifest`);
    digest = pick.digest;
    manifest = await contentGet(node, digest, `the manifest of ${ref}`);
  }
  if (!manifest.config || !manifest.layers) throw new GraderError(`the manifest of ${ref} has no config or layers`);
  const config = await contentGet<{ rootfs?: { diff_ids?: string[] } }>(
    node,
    manifest.config.digest,
    `the config of ${ref}`,
  );
  return {
    ref: row[0] ?? ref,
    manifest: digest,
    layers: manifest.layers.map((l) => l.digest),
    diffIds: config.rootfs?.diff_ids ?? [],
  };
}

/**
 * Builds two tiny images FROM `base` on the grading host's Docker, differing
 * only in their last layer (one copied file), imports both into the node's
 * containerd, reads their manifests there, and removes every trace of them
 * (the images on both sides, the archive, the build folder) whatever happens.
 */
export async function siblingImagesOnNode(node: Node, base: string, timeoutMs: number): Promise<SiblingImages> {
  await requireCtr(node);
  const inspect = await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', base], { timeoutMs });
  if (inspect.code !== 0)
    throw new GraderError(`the grading host's Docker has no ${base} to build from: ${inspect.stderr.trim()}`);
  const baseDiffIds = parseJson<string[]>(inspect.stdout.trim(), `the layers of ${base}`);
  const tag = randomBytes(4).toString('hex');
  const refs = ['one', 'two'].map((n) => `kgrade-layers-${tag}/${n}:1`) as [string, string];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-layers-'));
  const archive = path.join(dir, 'images.tar');
  const onNode = `/var/tmp/kgrade-layers-${tag}.tar`;
  try {
    for (const [i, ref] of refs.entries()) {
      const ctx = path.join(dir, String(i));
      await mkdir(ctx);
      await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${base}\nCOPY layer.txt /kgrade-layer.txt\n`);
      await writeFile(path.join(ctx, 'layer.txt'), `image ${i + 1} of ${tag}\n`);
      await dockerOk(['build', '--pull=false', '-q', '-t', ref, ctx], `building ${ref} FROM ${base}`, { timeoutMs });
    }
    await dockerOk(['save', '-o', archive, ...refs], `saving ${refs.join(' and ')}`, { timeoutMs });
    await node.copyIn(archive, onNode);
    const imp = await node.exec(['ctr', '-n', K8S_NS, 'images', 'import', onNode], { timeoutMs });
    if (imp.code !== 0)
      throw new GraderError(`ctr images import on node ${node.name}: ${(imp.stderr || imp.stdout).trim()}`);
    const images = [await readImage(node, refs[0]), await readImage(node, refs[1])] as [ImageLayers, ImageLayers];
    return { base, baseDiffIds, images };
  } finally {
    const names = refs.map((r) => shellQuote(fullImageName(r))).join(' ');
    await sh(node, `rm -f ${shellQuote(onNode)}; ctr -n ${K8S_NS} images rm ${names} >/dev/null 2>&1; true`, {
      timeoutMs: 30_000,
    }).catch(() => undefined);
    await docker(['rmi', ...refs], { timeoutMs: 60_000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the two images show about layer sharing; the problems are the course's claim failing. */
export function layerSharing(s: SiblingImages): { problems: string[]; notes: string[] } {
  const [a, b] = s.images;
  const n = s.baseDiffIds.length;
  const problems: string[] = [];
  const short = (d: string | undefined) => (d ?? 'none').replace(/^sha256:/, '').slice(0, 12);
  for (const img of s.images) {
    if (img.layers.length !== n + 1)
      problems.push(
        `${img.ref} has ${img.layers.length} layers; built FROM ${s.base} (${n}) with one COPY it should have ${n + 1}`,
      );
    const baseOk = s.baseDiffIds.every((d, i) => img.diffIds[i] === d);
    if (!baseOk)
      problems.push(
        `${img.ref}'s first layers (${img.diffIds.slice(0, n).map(short).join(', ')}) are not ${s.base}'s (${s.baseDiffIds.map(short).join(', ')})`,
      );
  }
  const shared = a.layers.slice(0, n);
  if (shared.some((d, i) => b.layers[i] !== d)) {
    problems.push(
      `the two images do not share their base layers: ${a.layers.slice(0, n).map(short).join(', ')} vs ${b.layers.slice(0, n).map(short).join(', ')}`,
    );
  }
  if (a.layers.at(-1) === b.layers.at(-1))
    problems.push(
      `the two images' last layers are the same (${short(a.layers.at(-1))}), though each copied a different file`,
    );
  const notes = [
    `${s.base}: ${n} layer(s), diff IDs ${s.baseDiffIds.map(short).join(', ')}`,
    ...s.images.map(
      (img) => `${img.ref} (manifest ${short(img.manifest)}): layers ${img.layers.map(short).join(', ')}`,
    ),
  ];
  return { problems, notes };
}

/** What `kubectl cluster-info` and `kubectl get nodes` show, read through the API. */
export interface ClusterInfo {
  server: string;
  version: string;
  nodes: Array<{ name: string; ready: boolean; kubelet: string }>;
  /** The kube-system services labelled kubernetes.io/cluster-service=true, as cluster-info lists them. */
  services: string[];
}

export async function readClusterInfo(kc: k8s.KubeConfig): Promise<ClusterInfo> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const v = await api(kc, 'reading the server version', () => kc.makeApiClient(k8s.VersionApi).getCode());
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const nodes = await api(kc, 'listing nodes', () => core.listNode());
  const svcs = await api(kc, 'listing cluster services', () =>
    core.listNamespacedService({ namespace: 'kube-system', labelSelector: 'kubernetes.io/cluster-service=true' }),
  );
  return {
    server,
    version: v.gitVersion,
    nodes: nodes.items.map((n) => ({
      name: n.metadata?.name ?? '',
      ready: nodeReady(n),
      kubelet: n.status?.nodeInfo?.kubeletVersion ?? '',
    })),
    services: svcs.items.map((s) => s.metadata?.name ?? ''),
  };
}
