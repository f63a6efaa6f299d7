import * as k8s from '../vendor/kubernetes-client.js';
import { fail, GraderError } from '../errors.js';
import { eventually } from '../eventually.js';
import { graderApi, graderFault, httpStatus } from './client.js';

function volumeKind(v: k8s.V1Volume): string {
  const kind = Object.keys(v).find((k) => k !== 'name' && (v as unknown as Record<string, unknown>)[k] !== undefined);
  return kind ?? 'unknown';
}

function samePath(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/**
 * Why a pod does not mount the PersistentVolumeClaim `claim` at `path` in one
 * of its containers, or undefined when it does.
 */
export function claimMountProblem(pod: k8s.V1Pod, claim: string, path: string): string | undefined {
  const name = pod.metadata?.name ?? '?';
  const containers = pod.spec?.containers ?? [];
  const mounts = containers.flatMap((c) => (c.volumeMounts ?? []).map((m) => ({ container: c.name, mount: m })));
  const at = mounts.filter((m) => samePath(m.mount.mountPath, path));
  if (at.length === 0) {
    const seen = mounts.map((m) => `${m.mount.name} at ${m.mount.mountPath}`).join(', ');
    return `no container of pod ${name} mounts anything at ${path}${seen ? ` (mounts: ${seen})` : ''}`;
  }
  const volumes = pod.spec?.volumes ?? [];
  const kinds: string[] = [];
  for (const m of at) {
    const v = volumes.find((vol) => vol.name === m.mount.name);
    if (v?.persistentVolumeClaim?.claimName === claim) return undefined;
    kinds.push(
      v
        ? `${v.persistentVolumeClaim ? `PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}` : `${/^[aeiou]/i.test(volumeKind(v)) ? 'an' : 'a'} ${volumeKind(v)} volume`} (volume ${v.name}, container ${m.container})`
        : `volume ${m.mount.name}, which the pod does not declare`,
    );
  }
  return `pod ${name} mounts ${kinds.join(', ')} at ${path}, not PersistentVolumeClaim ${claim}`;
}

/** The cluster's default StorageClass names (the is-default-class annotation). */
export async function defaultStorageClasses(admin: k8s.KubeConfig): Promise<string[]> {
  const list = await graderApi(admin, 'listing StorageClasses', () =>
    admin.makeApiClient(k8s.StorageV1Api).listStorageClass(),
  );
  return list.items
    .filter((sc) => sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')
    .map((sc) => sc.metadata?.name ?? '');
}

export async function readClaim(
  admin: k8s.KubeConfig,
  namespace: string,
  name: string,
): Promise<k8s.V1PersistentVolumeClaim | undefined> {
  try {
    return await admin.makeApiClient(k8s.CoreV1Api).readNamespacedPersistentVolumeClaim({ name, namespace });
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw graderFault(err, `reading PersistentVolumeClaim ${namespace}/${name}`);
  }
}

/**
 * Checks that the claim asks for the cluster's default StorageClass (left
 * out, or named as it is) and waits until it is Bound. Returns a line for the report.
 */
export async function claimOnDefaultClass(
  admin: k8s.KubeConfig,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<string> {
  const defaults = await defaultStorageClasses(admin);
  if (defaults.length === 0) throw new GraderError('the cluster has no default StorageClass');
  const first = await readClaim(admin, namespace, name);
  if (!first) fail(`there is no PersistentVolumeClaim ${name}`);
  const cls = first.spec?.storageClassName;
  if (!cls)
    fail(
      `PersistentVolumeClaim ${name} asks for no StorageClass (storageClassName ""); leave storageClassName out to get the default, ${defaults.join(' or ')}`,
    );
  if (!defaults.includes(cls))
    fail(
      `PersistentVolumeClaim ${name} asks for StorageClass ${cls}; the lab asks for the cluster's default, ${defaults.join(' or ')}`,
    );
  const pvc = await eventually(
    async () => {
      const c = await readClaim(admin, namespace, name);
      return { ok: c?.status?.phase === 'Bound', value: c, seen: `phase ${c?.status?.phase ?? 'unknown'}` };
    },
    { what: `PersistentVolumeClaim ${name} to be Bound`, timeoutMs, intervalMs: 1000 },
  );
  return `PersistentVolumeClaim ${name}: StorageClass ${cls} (the default), Bound to ${pvc?.spec?.volumeName ?? '?'}`;
}
