import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError } from '../errors.js';
import { describeExec, sh, shellQuote, type Node } from '../node.js';
import { api } from './client.js';

export interface ImageSize {
  /** The image as the registry sends it: its manifest's config and layers, added up (what `ctr images ls` shows). */
  bytes: number;
  /** The unpacked layers on the node's disk, when containerd says (`ctr images usage`); rounded as ctr prints it. */
  unpackedBytes?: number;
  /** Where the numbers came from, for the report. */
  source: string;
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
}

interface Manifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

const UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};

/** "2.0 MiB" (as ctr prints sizes) in bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(text.trim());
  const unit = m?.[2] ? UNITS[m[2]] : undefined;
  return m && unit ? Number(m[1]) * unit : undefined;
}

/** The sum of the SIZE column of `ctr images usage` (one row per layer snapshot). */
export function parseUsage(text: string): number | undefined {
  const sizes = text
    .split('\n')
    .slice(1)
    .map((l) => /^\S+\s+(\d+(?:\.\d+)?\s*[A-Za-z]+)\s+\d+\s*$/.exec(l.trim())?.[1])
    .filter((s): s is string => s !== undefined)
    .map(parseSize);
  if (sizes.length === 0 || sizes.some((s) => s === undefined)) return undefined;
  return sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
}

/** The bytes a registry sends for an image manifest: its config and its layers. */
export function manifestBytes(m: Manifest): number | undefined {
  if (!m.config?.size || !m.layers) return undefined;
  return m.layers.reduce((sum, l) => sum + (l.size ?? 0), m.config.size);
}

async function ctr(node: Node, args: string, timeoutMs: number) {
  return sh(node, `ctr -n k8s.io ${args}`, { timeoutMs });
}

async function contentJson(node: Node, digest: string, timeoutMs: number): Promise<Manifest> {
  const r = await ctr(node, `content get ${shellQuote(digest)}`, timeoutMs);
  if (r.code !== 0) throw new GraderError(`ctr content get ${digest} on node ${node.name}: ${describeExec(r)}`);
  try {
    return JSON.parse(r.stdout) as Manifest;
  } catch (err) {
    throw new GraderError(
      `ctr content get ${digest} on node ${node.name} printed no JSON manifest: ${r.stdout.slice(0, 200)}`,
      { cause: err },
    );
  }
}

/**
 * The size of the image a container runs, read from containerd on its node: the
 * image's manifest (through `ctr images ls` and `ctr content get`), and the unpacked
 * size where `ctr images usage` works. `names` are the references the pod's status
 * gives (imageID, image), the first one containerd knows wins. A node without ctr
 * falls back to the sizes the kubelet reports in the node's status.
 */
export async function imageSizeOnNode(
  admin: k8s.KubeConfig,
  node: Node,
  names: string[],
  arch: string,
  timeoutMs: number,
): Promise<ImageSize> {
  const list = await ctr(node, 'images ls', timeoutMs);
  if (list.code === 127) return kubeletReport(admin, node.name, names);
  if (list.code !== 0) throw new GraderError(`ctr images ls on node ${node.name}: ${describeExec(list)}`);
  const rows = list.stdout.split('\n').map((l) => l.trim().split(/\s+/));
  const row = names.map((n) => rows.find((r) => r[0] === n)).find((r) => r !== undefined);
  const ref = row?.[0];
  const digest = row?.[2];
  if (!ref || !digest?.startsWith('sha256:')) {
    throw new GraderError(`containerd on node ${node.name} holds none of ${names.join(', ')} (ctr images ls)`);
  }
  let manifest = await contentJson(node, digest, timeoutMs);
  let shown = ref.endsWith(digest) ? ref : `${ref} (manifest ${digest})`;
  if (manifest.manifests) {
    const mine =
      manifest.manifests.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === arch) ??
      manifest.manifests[0];
    if (!mine?.digest)
      throw new GraderError(`the image index ${digest} on node ${node.name} lists no manifest for linux/${arch}`);
    manifest = await contentJson(node, mine.digest, timeoutMs);
    shown = `${ref} (linux/${arch} manifest ${mine.digest})`;
  }
  const bytes = manifestBytes(manifest);
  if (bytes === undefined) throw new GraderError(`the manifest of ${ref} on node ${node.name} has no config or layers`);
  const usage = await ctr(node, `images usage --snapshotter overlayfs ${shellQuote(ref)}`, timeoutMs);
  const unpackedBytes = usage.code === 0 ? parseUsage(usage.stdout) : undefined;
  return {
    bytes,
    ...(unpackedBytes !== undefined ? { unpackedBytes } : {}),
    source: `containerd on node ${node.name}: ${shown}${unpackedBytes === undefined ? '; unpacked size not reported by ctr images usage' : ''}`,
  };
}

async function kubeletReport(admin: k8s.KubeConfig, nodeName: string, names: string[]): Promise<ImageSize> {
  const n = await api(admin, `reading node ${nodeName}`, () =>
    admin.makeApiClient(k8s.CoreV1Api).readNode({ name: nodeName }),
  );
  const image = n.status?.images?.find((i) => i.names?.some((x) => names.includes(x)));
  if (!image?.sizeBytes)
    throw new GraderError(`node ${nodeName} has no ctr, and its status lists none of ${names.join(', ')} with a size`);
  return {
    bytes: image.sizeBytes,
    source: `the container runtime of node ${nodeName} as the kubelet reports it (no ctr on the node)`,
  };
}
