import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';
import { eventually } from '../eventually.js';
import { api, apiFault, graderApi, graderFault, httpStatus } from './client.js';
import { imagePullProblem, podState } from './pods.js';
import { podReady, podServing } from './readiness.js';

/** The controller kinds a lab may accept for "N replicas of a pod": the course uses both. */
export type ControllerKind = 'ReplicationController' | 'Deployment';

export interface Controller {
  kind: ControllerKind;
  name: string;
  /** Its selector as a label selector string, as `kubectl get pods -l` takes it. */
  selector: string;
  /** spec.replicas: how many pods it wants. */
  replicas: number;
}

/** A pod the grader started itself (a client, a scratch pod): never counted among the submission's. */
export function isGraderPod(pod: k8s.V1Pod): boolean {
  return pod.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'kgrade';
}

/** A label selector's text from a map (a ReplicationController) or a LabelSelector (a Deployment). */
export function selectorText(sel: Record<string, string> | k8s.V1LabelSelector | undefined): string {
  if (!sel) return '';
  const isLabelSelector = 'matchLabels' in sel || 'matchExpressions' in sel;
  const labels = (isLabelSelector ? (sel as k8s.V1LabelSelector).matchLabels : (sel as Record<string, string>)) ?? {};
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  if (isLabelSelector) {
    for (const e of (sel as k8s.V1LabelSelector).matchExpressions ?? []) {
      const values = (e.values ?? []).join(',');
      if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
      else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
      else if (e.operator === 'Exists') parts.push(e.key);
      else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    }
  }
  return parts.join(',');
}

/** Whether labels carry every key=value of a map selector (a Service's). */
export function matchesSelector(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

export function labelsText(labels: Record<string, string> | undefined): string {
  const l = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return l.length ? l.join(',') : 'no labels';
}

/**
 * The ReplicationController or Deployment of that name in the namespace, or
 * undefined. An API server that does not answer is the grader's error.
 */
export async function findController(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
): Promise<Controller | undefined> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const notFound = (err: unknown) => {
    if (httpStatus(err) === 404) return undefined;
    throw graderFault(err, `reading controller ${namespace}/${name}`);
  };
  const rc = await api(kc, `reading ReplicationController ${name}`, () =>
    core.readNamespacedReplicationController({ name, namespace }),
  ).catch(notFound);
  if (rc) {
    // The API server fills an RC's selector from its template's labels when the manifest leaves it out.
    return {
      kind: 'ReplicationController',
      name,
      selector: selectorText(rc.spec?.selector ?? rc.spec?.template?.metadata?.labels),
      replicas: rc.spec?.replicas ?? 1,
    };
  }
  const d = await api(kc, `reading Deployment ${name}`, () => apps.readNamespacedDeployment({ name, namespace })).catch(
    notFound,
  );
  if (d) return { kind: 'Deployment', name, selector: selectorText(d.spec?.selector), replicas: d.spec?.replicas ?? 1 };
  return undefined;
}

/** What the namespace holds, in a few words, for a message about a missing controller. */
async function namespaceContents(kc: k8s.KubeConfig, namespace: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const [rcs, deps, rss, pods] = await Promise.all([
    core.listNamespacedReplicationController({ namespace }).then(
      (l) => l.items,
      () => [],
    ),
    apps.listNamespacedDeployment({ namespace }).then(
      (l) => l.items,
      () => [],
    ),
    apps.listNamespacedReplicaSet({ namespace }).then(
      (l) => l.items.filter((r) => !r.metadata?.ownerReferences?.length),
      () => [],
    ),
    core.listNamespacedPod({ namespace }).then(
      (l) => l.items.filter((p) => !isGraderPod(p)),
      () => [],
    ),
  ]);
  const named = (kind: string, items: Array<{ metadata?: k8s.V1ObjectMeta }>) =>
    items.map((i) => `${kind} ${i.metadata?.name ?? '?'}`);
  const all = [
    ...named('ReplicationController', rcs),
    ...named('Deployment', deps),
    ...named('ReplicaSet', rss),
    ...named(
      'Pod',
      pods.filter((p) => !p.metadata?.ownerReferences?.length),
    ),
  ];
  return all.length ? all.join(', ') : 'nothing';
}

/** The controller, or the student's failure naming what the namespace holds instead. */
export async function requireController(kc: k8s.KubeConfig, namespace: string, name: string): Promise<Controller> {
  const c = await findController(kc, namespace, name);
  if (c) return c;
  throw new SubmissionAssertionError(
    `there is no ReplicationController or Deployment named ${name} (the namespace holds: ${await namespaceContents(kc, namespace)}); ` +
      `the lab asks for a controller that keeps the pods running, not pods on their own`,
  );
}

/** The submission's pods in the namespace: not the grader's, not being deleted. */
export async function submissionPods(kc: k8s.KubeConfig, namespace: string): Promise<k8s.V1Pod[]> {
  const list = await graderApi(kc, `listing the pods in ${namespace}`, () =>
    kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace }),
  );
  return list.items.filter((p) => !isGraderPod(p) && !p.metadata?.deletionTimestamp);
}

/** The pods a controller's selector picks, leaving out pods being deleted and the grader's own pods. */
export async function controllerPods(kc: k8s.KubeConfig, namespace: string, c: Controller): Promise<k8s.V1Pod[]> {
  if (!c.selector) return [];
  const list = await graderApi(kc, `listing the pods of ${c.kind} ${c.name}`, () =>
    kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace, labelSelector: c.selector }),
  );
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp && !isGraderPod(p))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

export interface ReadyWait {
  /** Exactly this many Ready pods; 'desired': as many as the controller asks for (at least one). */
  count: number | 'desired';
  timeoutMs: number;
}

/**
 * Waits (a bounded poll) until the controller's selector picks the wanted
 * number of Ready pods, none of them being deleted. A controller that asks for
 * another number fails at once; an image that does not exist fails at once.
 */
export async function waitForReadyPods(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  wait: ReadyWait,
): Promise<{ controller: Controller; pods: k8s.V1Pod[] }> {
  const pullMessages = new Map<string, string>();
  let registryTrouble: string | undefined;
  try {
    return await eventually(
      async () => {
        const c = await requireController(kc, namespace, name);
        const want = wait.count === 'desired' ? c.replicas : wait.count;
        if (wait.count === 'desired' && want < 1)
          throw new SubmissionAssertionError(
            `${c.kind} ${name} asks for ${want} replicas; it must run at least one pod`,
          );
        if (c.replicas !== want) {
          throw new SubmissionAssertionError(
            `${c.kind} ${name} asks for ${c.replicas} replica${c.replicas === 1 ? '' : 's'} (spec.replicas); expected ${want}`,
          );
        }
        const pods = await controllerPods(kc, namespace, c);
        for (const p of pods) {
          const pull = imagePullProblem(p, pullMessages);
          if (pull?.blame === 'submission') {
            throw new SubmissionAssertionError(
              `pod ${p.metadata?.name ?? '?'} of ${c.kind} ${name}: its image ${pull.image} cannot be pulled, it does not exist (${pull.detail}); check the image's name and tag`,
            );
          }
          if (pull) registryTrouble = `${pull.image}: ${pull.detail}`;
        }
        const ready = pods.filter(podReady);
        const seen = pods.length
          ? `${ready.length} of ${pods.length} pods Ready (selector ${c.selector}): ${pods.map((p) => `${p.metadata?.name ?? '?'} (${podState(p)})`).join('; ')}`
          : `no pod matches ${c.kind} ${name}'s selector ${c.selector || '(none)'}`;
        return { ok: ready.length === want && pods.length === want, value: { controller: c, pods: ready }, seen };
      },
      {
        what: `${name} to have ${wait.count === 'desired' ? 'all its' : wait.count} pods Ready`,
        timeoutMs: wait.timeoutMs,
        intervalMs: 1000,
      },
    );
  } catch (err) {
    if (registryTrouble && err instanceof SubmissionAssertionError && /within \d+ s/.test(err.message)) {
      throw new GraderError(
        `the image registry did not answer (${registryTrouble}); this is the grading cluster's fault: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Whether the namespace has stopped changing: every controller has as many
 * Ready pods as it asks for, and every pod of the submission is Ready. Until
 * then a pod that a check is looking for may still be on its way.
 */
export async function workloadsSettled(kc: k8s.KubeConfig, namespace: string): Promise<boolean> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const doing = `listing the workloads in ${namespace}`;
  try {
    const [rcs, deps, rss, sts, pods] = await Promise.all([
      api(kc, doing, () => core.listNamespacedReplicationController({ namespace })),
      api(kc, doing, () => apps.listNamespacedDeployment({ namespace })),
      api(kc, doing, () => apps.listNamespacedReplicaSet({ namespace })),
      api(kc, doing, () => apps.listNamespacedStatefulSet({ namespace })),
      api(kc, doing, () => core.listNamespacedPod({ namespace })),
    ]);
    const controllers = [...rcs.items, ...deps.items, ...rss.items, ...sts.items];
    const settled = controllers.every(
      (c) =>
        (c.status?.readyReplicas ?? 0) === (c.spec?.replicas ?? 1) &&
        (c.status?.replicas ?? 0) === (c.spec?.replicas ?? 1),
    );
    return settled && pods.items.filter((p) => !isGraderPod(p)).every(podServing);
  } catch (err) {
    throw graderFault(err, doing);
  }
}

/** Sets a controller's replicas through its scale subresource, as `kubectl scale` does. */
export async function scaleController(
  kc: k8s.KubeConfig,
  namespace: string,
  c: Controller,
  replicas: number,
): Promise<void> {
  const doing = `scaling ${c.kind} ${c.name} to ${replicas}`;
  try {
    if (c.kind === 'ReplicationController') {
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const scale = await core.readNamespacedReplicationControllerScale({ name: c.name, namespace });
      await core.replaceNamespacedReplicationControllerScale({
        name: c.name,
        namespace,
        body: { ...scale, spec: { replicas } },
      });
    } else {
      const apps = kc.makeApiClient(k8s.AppsV1Api);
      const scale = await apps.readNamespacedDeploymentScale({ name: c.name, namespace });
      await apps.replaceNamespacedDeploymentScale({ name: c.name, namespace, body: { ...scale, spec: { replicas } } });
    }
  } catch (err) {
    throw graderFault(err, doing);
  }
}

/** Deletes a pod as `kubectl delete pod` does (its own grace period); gone already is fine. */
export async function deletePod(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  gracePeriodSeconds?: number,
): Promise<void> {
  try {
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespacedPod({ name, namespace, ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) });
  } catch (err) {
    if (httpStatus(err) === 404) return;
    throw graderFault(err, `deleting pod ${namespace}/${name}`);
  }
}

/** Waits until no pod of that name exists (a deleted pod has finished terminating). */
export async function waitPodGone(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await eventually(
    async () => {
      try {
        const p = await core.readNamespacedPod({ name, namespace });
        return {
          ok: false,
          value: undefined,
          seen: `still there: ${podState(p)}${p.metadata?.deletionTimestamp ? ', terminating' : ''}`,
        };
      } catch (err) {
        if (httpStatus(err) === 404) return { ok: true, value: undefined, seen: 'gone' };
        throw graderFault(err, `reading pod ${namespace}/${name}`);
      }
    },
    { what: `pod ${name} to be gone after its deletion`, timeoutMs, intervalMs: 500, blame: 'grader' },
  );
}

/**
 * Deletes a pod and creates it again from `body` once the old one is gone,
 * with the rights of `creator` (the student's account for a submission's pod).
 */
export async function recreatePod(
  admin: k8s.KubeConfig,
  creator: k8s.KubeConfig,
  namespace: string,
  body: k8s.V1Pod,
  timeoutMs: number,
  what: string,
): Promise<string> {
  const name = body.metadata?.name ?? '';
  // A short grace: busybox's sleep ignores SIGTERM and would hold the name for 30 s.
  await deletePod(admin, namespace, name, 1);
  await waitPodGone(admin, namespace, name, timeoutMs);
  const spec: k8s.V1Pod = { ...body, metadata: { ...body.metadata, namespace } };
  const client = k8s.KubernetesObjectApi.makeApiClient(creator);
  try {
    const made = await api(creator, `creating pod ${name} again from ${what}`, () => client.create(spec));
    return made.metadata?.uid ?? '?';
  } catch (err) {
    throw apiFault(err, `creating pod ${name} again from ${what}`);
  }
}

/**
 * A pod's body for creating it again as it was made: its labels, annotations
 * and spec, without what the cluster added (its node, the service account
 * token's volume).
 */
export function respawnBody(live: k8s.V1Pod): k8s.V1Pod {
  const spec = live.spec;
  if (!spec) throw new GraderError(`pod ${live.metadata?.name ?? '?'} has no spec to create it again from`);
  const added = new Set((spec.volumes ?? []).filter((v) => v.name.startsWith('kube-api-access-')).map((v) => v.name));
  const keep = (mounts: k8s.V1VolumeMount[] | undefined) => mounts?.filter((m) => !added.has(m.name));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: live.metadata?.name ?? '',
      labels: live.metadata?.labels ?? {},
      annotations: live.metadata?.annotations ?? {},
    },
    spec: {
      ...spec,
      nodeName: undefined,
      volumes: spec.volumes?.filter((v) => !added.has(v.name)),
      containers: spec.containers.map((c) => ({ ...c, volumeMounts: keep(c.volumeMounts) })),
      initContainers: spec.initContainers?.map((c) => ({ ...c, volumeMounts: keep(c.volumeMounts) })),
    },
  };
}
