/** A container image reference as a pod names it: [registry/]repository[:tag][@digest]. */
export interface ImageRef {
  /** Everything before the tag and digest: "busybox", "docker.io/library/busybox", "localhost:5000/busybox". */
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  // A colon after the last slash is a tag; one before it is a registry's port.
  const colon = named.lastIndexOf(':');
  const hasTag = colon > named.lastIndexOf('/');
  return {
    repository: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

export type Pinning = { pinned: true; how: string } | { pinned: false; why: string };

/**
 * Whether a reference names one fixed image: a digest always does; a tag does
 * unless it is `latest`, which is also what no tag at all means.
 */
export function pinning(ref: string): Pinning {
  const r = parseImageRef(ref);
  if (r.digest) return { pinned: true, how: `pinned by digest ${r.digest}` };
  if (r.tag === undefined) return { pinned: false, why: 'it names no tag, which means latest' };
  if (r.tag === 'latest') return { pinned: false, why: 'its tag is latest, which moves with every release' };
  return { pinned: true, how: `pinned to tag ${r.tag}` };
}

/** The repository's last part, without registry, namespace, tag or digest: "docker.io/library/busybox:1.36" -> "busybox". */
export function imageName(ref: string): string {
  return parseImageRef(ref).repository.split('/').at(-1) ?? '';
}

/** A reference as Docker completes it: busybox -> docker.io/library/busybox:latest. */
export function fullImageName(ref: string): string {
  const r = parseImageRef(ref);
  const first = r.repository.includes('/') ? (r.repository.split('/')[0] ?? '') : undefined;
  const registry =
    first === undefined
      ? 'docker.io/library/'
      : !first.includes('.') && !first.includes(':') && first !== 'localhost'
        ? 'docker.io/'
        : '';
  const tag = r.tag !== undefined ? `:${r.tag}` : r.digest ? '' : ':latest';
  return `${registry}${r.repository}${tag}${r.digest ? `@${r.digest}` : ''}`;
}
