import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError } from '../errors.js';
import { api, graderApi } from './client.js';
import { podState } from './pods.js';
import { podServing } from './readiness.js';

/** A replica the grader deleted, to see the cluster react, and what it must come back to. */
export interface DeletedReplica {
  namespace: string;
  deployment: string;
  pod: string;
  ip: string;
  replicas: number;
}

export interface Strength {
  full: boolean;
  replicas: number;
  pods: k8s.V1Pod[];
  seen: string;
}

/** Whether a deployment has all its replicas Ready and none terminating, with what was seen. */
export async function strength(kc: k8s.KubeConfig, namespace: string, deployment: string): Promise<Strength> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const d = await graderApi(kc, `reading deployment ${namespace}/${deployment}`, () =>
    apps.readNamespacedDeployment({ name: deployment, namespace }),
  );
  const selector = Object.entries(d.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!selector) throw new GraderError(`deployment ${namespace}/${deployment} has no matchLabels selector`);
  const pods = (
    await api(kc, `listing the pods of ${namespace}/${deployment}`, () =>
      core.listNamespacedPod({ namespace, labelSelector: selector }),
    )
  ).items;
  const replicas = d.spec?.replicas ?? 1;
  const readyPods = pods.filter(podServing);
  const terminating = pods.filter((p) => p.metadata?.deletionTimestamp);
  const full =
    readyPods.length === replicas &&
    terminating.length === 0 &&
    (d.status?.readyReplicas ?? 0) === replicas &&
    (d.status?.updatedReplicas ?? 0) === replicas;
  const seen = `${readyPods.length} of ${replicas} pods Ready${terminating.length ? `, ${terminating.length} terminating` : ''}: ${pods.map((p) => `${p.metadata?.name ?? '?'} (${p.metadata?.deletionTimestamp ? 'terminating; ' : ''}${podState(p)})`).join('; ')}`;
  return { full, replicas, pods, seen };
}

/** Waits until the deployment has all its replicas Ready and none terminating; the cluster's fault (GraderError) when it does not. */
export async function waitForFullStrength(
  kc: k8s.KubeConfig,
  namespace: string,
  deployment: string,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let s = await strength(kc, namespace, deployment);
  while (!s.full && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    s = await strength(kc, namespace, deployment);
  }
  if (!s.full)
    throw new GraderError(
      `deployment ${namespace}/${deployment} was not back to full strength ${Math.round(timeoutMs / 1000)} s later: ${s.seen}; the cluster did not recover`,
    );
  return `deployment ${namespace}/${deployment} is at full strength: ${s.seen}`;
}

/**
 * Deletes one Ready pod of a deployment that is at full strength (with its grace period, as
 * `kubectl delete pod` would), so that the cluster's reaction can be watched.
 */
export async function deleteOneReplica(
  kc: k8s.KubeConfig,
  namespace: string,
  deployment: string,
  timeoutMs: number,
): Promise<DeletedReplica> {
  await waitForFullStrength(kc, namespace, deployment, timeoutMs);
  const s = await strength(kc, namespace, deployment);
  const victim = s.pods
    .filter(podServing)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
  if (!victim?.metadata?.name)
    throw new GraderError(`deployment ${namespace}/${deployment} has no Ready pod to delete`);
  const name = victim.metadata.name;
  await graderApi(kc, `deleting pod ${namespace}/${name}`, () =>
    kc.makeApiClient(k8s.CoreV1Api).deleteNamespacedPod({ name, namespace }),
  );
  return { namespace, deployment, pod: name, ip: victim.status?.podIP ?? '', replicas: s.replicas };
}
