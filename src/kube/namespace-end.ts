import * as k8s from '../vendor/kubernetes-client.js';
import { SUBMISSION_LABEL, SYSTEM_FINALIZERS } from './admission.js';
import { describeApiError, httpStatus } from './client.js';

/**
 * The end of a submission namespace: finalizers kgrade did not put there are removed, and
 * the namespace and the volumes of its claims are confirmed gone within a deadline.
 */

/** Every namespaced kind that can hold a submission's finalizer: what it creates and what its controllers make from it. */
const KINDS: ReadonlyArray<readonly [string, string]> = [
  ['v1', 'Pod'],
  ['v1', 'Service'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'PersistentVolumeClaim'],
  ['v1', 'ReplicationController'],
  ['v1', 'Endpoints'],
  ['discovery.k8s.io/v1', 'EndpointSlice'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'ReplicaSet'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'DaemonSet'],
  ['batch/v1', 'Job'],
];

/** Finalizers a volume's provisioner holds until it has wiped the volume's data: never removed by kgrade. */
const PROVISIONER_FINALIZER =
  /^external-provisioner\.volume\.kubernetes\.io\/finalizer$|^kubernetes\.io\/pv-protection$/;

/**
 * Splits an object's finalizers into those kept and those removed. With `all`, the
 * cluster's own go too (a namespace still Terminating after its deadline: its pods are
 * gone, nothing needs them), except a volume provisioner's, which stands for data not yet wiped.
 */
export function splitFinalizers(
  finalizers: readonly string[] | undefined,
  all: boolean,
): { keep: string[]; remove: string[] } {
  const keep: string[] = [];
  const remove: string[] = [];
  for (const f of finalizers ?? []) {
    const kept = PROVISIONER_FINALIZER.test(f) || (!all && SYSTEM_FINALIZERS.includes(f));
    (kept ? keep : remove).push(f);
  }
  return { keep, remove };
}

async function strip(
  client: k8s.KubernetesObjectApi,
  o: k8s.KubernetesObject,
  all: boolean,
): Promise<string | undefined> {
  const { keep, remove } = splitFinalizers(o.metadata?.finalizers, all);
  if (remove.length === 0) return undefined;
  const patch = {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, finalizers: keep },
  };
  try {
    await client.patch(
      patch as k8s.KubernetesObject,
      undefined,
      undefined,
      'kgrade',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  }
  return `${o.kind} ${o.metadata?.name ?? ''}: ${remove.join(', ')}`;
}

/**
 * Removes the finalizers a submission put on anything in its namespace, and on the
 * PersistentVolumes bound to its claims; returns what was removed ("Kind name: finalizer").
 */
export async function releaseFinalizers(admin: k8s.KubeConfig, namespace: string, all: boolean): Promise<string[]> {
  const client = k8s.KubernetesObjectApi.makeApiClient(admin);
  const lists = await Promise.all(
    KINDS.map(([apiVersion, kind]) =>
      client.list(apiVersion, kind, namespace).then(
        (l) => l.items.map((o) => ({ ...o, apiVersion, kind })),
        (err: unknown) => {
          if (httpStatus(err) === 404) return [];
          throw err;
        },
      ),
    ),
  );
  const volumes = (await admin.makeApiClient(k8s.CoreV1Api).listPersistentVolume()).items
    .filter((pv) => pv.spec?.claimRef?.namespace === namespace)
    .map((pv) => ({ ...pv, apiVersion: 'v1', kind: 'PersistentVolume' }) as k8s.KubernetesObject);
  const removed = await Promise.all([...lists.flat(), ...volumes].map((o) => strip(client, o, all)));
  return removed.filter((r): r is string => r !== undefined);
}

/** What became of one namespace after its deletion. */
export interface NamespaceEnd {
  namespace: string;
  gone: boolean;
  /** How long it took, or how long it was watched. */
  ms: number;
  /** What was seen last: the namespace's phase and conditions, its volumes. */
  seen: string;
  /** Finalizers kgrade removed meanwhile. */
  released: string[];
}

function describeNamespace(ns: k8s.V1Namespace | undefined): string {
  if (!ns) return 'namespace gone';
  const conditions = (ns.status?.conditions ?? [])
    .filter((c) => c.status === 'True')
    .map((c) => `${c.type}: ${c.message ?? ''}`);
  return `namespace ${ns.status?.phase ?? '?'}${conditions.length ? ` (${conditions.join('; ')})` : ''}`;
}

/**
 * Watches a deleted namespace until it and the PersistentVolumes of its claims are gone.
 * Half-way to the deadline a namespace still there has every finalizer removed but a
 * provisioner's (see splitFinalizers).
 */
export async function confirmNamespaceGone(
  admin: k8s.KubeConfig,
  namespace: string,
  timeoutMs: number,
): Promise<NamespaceEnd> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const started = Date.now();
  const released: string[] = [];
  let finished = false;
  let seen = 'not read yet';
  for (;;) {
    let ns: k8s.V1Namespace | undefined;
    let volumes: k8s.V1PersistentVolume[] = [];
    try {
      ns = await core.readNamespace({ name: namespace }).catch((err: unknown) => {
        if (httpStatus(err) === 404) return undefined;
        throw err;
      });
      volumes = (await core.listPersistentVolume()).items.filter((pv) => pv.spec?.claimRef?.namespace === namespace);
      seen = [
        describeNamespace(ns),
        ...volumes.map(
          (pv) =>
            `PersistentVolume ${pv.metadata?.name ?? ''} ${pv.status?.phase ?? '?'}${pv.metadata?.finalizers?.length ? ` (finalizers ${pv.metadata.finalizers.join(', ')})` : ''}`,
        ),
      ].join('; ');
      if (!ns && volumes.length === 0) return { namespace, gone: true, ms: Date.now() - started, seen, released };
      if (!finished && Date.now() - started > timeoutMs / 2) {
        finished = true;
        released.push(...(await releaseFinalizers(admin, namespace, true)));
      }
    } catch (err) {
      seen = `the API server did not answer: ${describeApiError(err)}`;
    }
    if (Date.now() - started > timeoutMs) return { namespace, gone: false, ms: Date.now() - started, seen, released };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** How long a namespace may stay Terminating before another grade finishes it as left behind. */
export const LEFT_BEHIND_MS = 60_000;

/**
 * The namespaces of kgrade (any run, any process) whose deletion began more than
 * LEFT_BEHIND_MS ago and which are still there: a run that crashed, or a finalizer
 * that held them past the deadline.
 */
export async function leftBehindNamespaces(admin: k8s.KubeConfig, now = Date.now()): Promise<k8s.V1Namespace[]> {
  const list = await admin.makeApiClient(k8s.CoreV1Api).listNamespace({ labelSelector: SUBMISSION_LABEL });
  return list.items.filter((ns) => {
    const since = ns.metadata?.deletionTimestamp ? new Date(ns.metadata.deletionTimestamp).getTime() : undefined;
    return since !== undefined && now - since > LEFT_BEHIND_MS;
  });
}
