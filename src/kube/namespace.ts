import { randomBytes } from 'node:crypto';
import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError } from '../errors.js';
import { ALLOW_LOAD_BALANCER_LABEL, ALLOW_NODE_PORT_LABEL, ensureAdmission, SUBMISSION_LABEL } from './admission.js';
import { api, describeApiError, graderFault, httpStatus } from './client.js';
import { confirmNamespaceGone, leftBehindNamespaces, releaseFinalizers, type NamespaceEnd } from './namespace-end.js';

/** A namespace that holds one submission's objects, and a kubeconfig that can touch nothing else. */
export interface SubmissionNamespace {
  name: string;
  /** Acts as the namespace's ServiceAccount "student": creates objects of the lab's kinds in this namespace, nothing else. */
  student: k8s.KubeConfig;
}

const STUDENT = 'student';

/**
 * What kgrade does with the student's token: it creates the manifests' objects (apply.ts
 * SUBMISSION_KINDS), nothing else. Reading, changing and deleting is the grader's, as admin.
 */
const STUDENT_RULES: k8s.V1PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers'],
    verbs: ['create'],
  },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: ['create'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
];

/** What a lab lets its submissions do beyond the default (lab.yaml `cluster.allow`). */
export interface NamespaceAllowances {
  nodePorts?: boolean;
  loadBalancers?: boolean;
}

/**
 * Bounds of one submission namespace: object counts, and what its pods and volumes may
 * take together. Every container gets requests and limits from the LimitRange when it
 * names none, so the quota on limits holds for all of them.
 */
export function namespaceQuota(allow: NamespaceAllowances = {}): Record<string, string> {
  return {
    pods: '30',
    services: '10',
    configmaps: '30',
    secrets: '30',
    replicationcontrollers: '10',
    'count/deployments.apps': '10',
    'count/replicasets.apps': '20',
    'count/jobs.batch': '10',
    persistentvolumeclaims: '5',
    'requests.storage': '2Gi',
    'requests.ephemeral-storage': '2Gi',
    'limits.ephemeral-storage': '4Gi',
    'limits.memory': '6Gi',
    'services.nodeports': allow.nodePorts ? '3' : '0',
    'services.loadbalancers': allow.loadBalancers ? '1' : '0',
  };
}

/** Defaults and ceilings per container and per claim; a container that names its own resources keeps them. */
export const LIMIT_RANGE: k8s.V1LimitRangeItem[] = [
  {
    type: 'Container',
    _default: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '512Mi' },
    defaultRequest: { cpu: '10m', memory: '16Mi', 'ephemeral-storage': '16Mi' },
    max: { cpu: '2', memory: '2Gi', 'ephemeral-storage': '1Gi' },
  },
  { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } },
];

function slug(text: string, max: number): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, max)
      .replace(/-+$/, '') || 'x'
  );
}

/**
 * Creates the namespace for one submission: labelled for Pod Security
 * (baseline enforced: no privileged pods, no host namespaces or paths) and for
 * kgrade's admission policies (admission.ts), with a quota, a LimitRange and a
 * ServiceAccount whose Role only creates the lab's kinds in this namespace.
 * Manifests are applied with that account's token. The first namespace of a
 * process installs the policies when they are missing or out of date, and looks
 * for namespaces earlier runs left Terminating.
 */
export async function createSubmissionNamespace(
  admin: k8s.KubeConfig,
  labId: string,
  submission: string,
  allow: NamespaceAllowances = {},
): Promise<SubmissionNamespace> {
  // The namespace is bound by the admission policies from its first object on.
  await ensureAdmission(admin);
  sweepLeftBehind(admin);
  const name = `kg-${slug(labId, 24)}-${slug(submission, 24)}-${randomBytes(2).toString('hex')}`;
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  const doing = `creating namespace ${name}`;
  try {
    await api(admin, doing, () =>
      core.createNamespace({
        body: {
          metadata: {
            name,
            labels: {
              'app.kubernetes.io/managed-by': 'kgrade',
              [SUBMISSION_LABEL]: slug(labId, 63),
              ...(allow.nodePorts ? { [ALLOW_NODE_PORT_LABEL]: 'true' } : {}),
              ...(allow.loadBalancers ? { [ALLOW_LOAD_BALANCER_LABEL]: 'true' } : {}),
              'pod-security.kubernetes.io/enforce': 'baseline',
              'pod-security.kubernetes.io/warn': 'restricted',
            },
          },
        },
      }),
    );
    await Promise.all([
      api(admin, doing, () =>
        core.createNamespacedResourceQuota({
          namespace: name,
          body: { metadata: { name: 'kgrade' }, spec: { hard: namespaceQuota(allow) } },
        }),
      ),
      api(admin, doing, () =>
        core.createNamespacedLimitRange({
          namespace: name,
          body: { metadata: { name: 'kgrade' }, spec: { limits: LIMIT_RANGE } },
        }),
      ),
    ]);
    await api(admin, doing, () =>
      core.createNamespacedServiceAccount({
        namespace: name,
        body: { metadata: { name: STUDENT }, automountServiceAccountToken: false },
      }),
    );
    await api(admin, doing, () =>
      rbac.createNamespacedRole({ namespace: name, body: { metadata: { name: STUDENT }, rules: STUDENT_RULES } }),
    );
    await api(admin, doing, () =>
      rbac.createNamespacedRoleBinding({
        namespace: name,
        body: {
          metadata: { name: STUDENT },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: STUDENT },
          subjects: [{ kind: 'ServiceAccount', name: STUDENT, namespace: name }],
        },
      }),
    );
    const token = await api(admin, doing, () =>
      core.createNamespacedServiceAccountToken({
        name: STUDENT,
        namespace: name,
        body: { spec: { expirationSeconds: 3600, audiences: [] } },
      }),
    );
    const cluster = admin.getCurrentCluster();
    if (!cluster || !token.status?.token)
      throw new GraderError(`${doing}: no cluster in the kubeconfig or no token issued`);
    const student = new k8s.KubeConfig();
    student.loadFromOptions({
      clusters: [cluster],
      users: [{ name: STUDENT, token: token.status.token }],
      contexts: [{ name: STUDENT, cluster: cluster.name, user: STUDENT, namespace: name }],
      currentContext: STUDENT,
    });
    return { name, student };
  } catch (err) {
    await deleteNamespace(admin, name, 60_000).catch(() => undefined);
    throw graderFault(err, doing);
  }
}

const pendingDeletions = new Set<Promise<unknown>>();
const pendingEnds = new Set<Promise<NamespaceEnd>>();

/** How long a deleted namespace and its volumes are given to be gone before that is reported. */
export const NAMESPACE_END_MS = 120_000;

/**
 * Deletes a namespace's pods without grace (a busybox sleep ignores SIGTERM and would hold the
 * namespace for 30 s), then the namespace, then removes the finalizers the submission put on
 * its objects (the admission policies refuse them; this is the second line). False when the
 * namespace was already gone.
 */
async function requestNamespaceDeletion(admin: k8s.KubeConfig, name: string): Promise<boolean> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  try {
    await core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 }).catch(() => undefined);
    await core.deleteNamespace({ name, gracePeriodSeconds: 0, propagationPolicy: 'Background' });
  } catch (err) {
    if (httpStatus(err) === 404) return false;
    // 409: already Terminating (an earlier deletion); its finalizers are still to be released
    if (httpStatus(err) !== 409) throw graderFault(err, `deleting namespace ${name}`);
  }
  const released = await releaseFinalizers(admin, name, false).catch((err: unknown) => [
    `(could not read its objects: ${describeApiError(err)})`,
  ]);
  if (released.length)
    process.stderr.write(`kgrade: namespace ${name}: removed the submission's finalizers: ${released.join('; ')}\n`);
  return true;
}

/**
 * Watches a namespace whose deletion was accepted until it and its volumes are gone, in the
 * background: a grade does not wait for it, the process does before it exits (its timers
 * keep it alive). One still there at the deadline is reported with what was last seen.
 */
function watchEnd(admin: k8s.KubeConfig, name: string): void {
  const p = confirmNamespaceGone(admin, name, NAMESPACE_END_MS).then((end) => {
    if (!end.gone)
      process.stderr.write(
        `kgrade: namespace ${name} is not gone ${Math.round(end.ms / 1000)} s after its deletion; last seen: ${end.seen}\n`,
      );
    return end;
  });
  p.catch(() => undefined).finally(() => pendingEnds.delete(p));
  pendingEnds.add(p);
}

/**
 * Starts deleting a scenario's namespace without waiting for it, so the next scenario can
 * start; finishNamespaceDeletions() waits until every deletion was accepted: the pods are gone
 * at once (no grace period), the namespace is Terminating and the submission's finalizers are
 * removed. Kubernetes' namespace controller removes the rest by itself; a grade does not wait
 * those seconds for it (watchEnd confirms it meanwhile).
 */
export function deleteNamespaceLater(admin: k8s.KubeConfig, name: string): void {
  const p: Promise<unknown> = requestNamespaceDeletion(admin, name)
    .then((deleted) => {
      if (deleted) watchEnd(admin, name);
    })
    .finally(() => pendingDeletions.delete(p));
  p.catch(() => undefined);
  pendingDeletions.add(p);
}

/** Waits until every namespace deletion started was accepted; the first failure is thrown. */
export async function finishNamespaceDeletions(): Promise<void> {
  const results = await Promise.allSettled([...pendingDeletions]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Waits for every namespace this process deleted to be gone or reported (each has its deadline). */
export async function namespaceEnds(): Promise<NamespaceEnd[]> {
  await finishNamespaceDeletions().catch(() => undefined);
  return Promise.all([...pendingEnds]);
}

const swept = new Map<string, Promise<void>>();

/**
 * Once per cluster and process, at the first submission namespace: namespaces of kgrade
 * still Terminating long after their deletion (a crashed run, a finalizer past the
 * deadline) are reported and finished. It runs beside the grade and never fails it.
 */
function sweepLeftBehind(admin: k8s.KubeConfig): void {
  const key = admin.getCurrentCluster()?.server ?? '';
  if (swept.has(key)) return;
  const p = (async () => {
    const left = await leftBehindNamespaces(admin);
    for (const ns of left) {
      const name = ns.metadata?.name ?? '';
      const released = await releaseFinalizers(admin, name, true);
      process.stderr.write(
        `kgrade: namespace ${name} of an earlier grade was still Terminating (since ${ns.metadata?.deletionTimestamp?.toISOString?.() ?? String(ns.metadata?.deletionTimestamp)}); finishing it${released.length ? `: removed ${released.join('; ')}` : ''}\n`,
      );
      watchEnd(admin, name);
    }
  })().catch((err: unknown) => {
    process.stderr.write(
      `kgrade: could not look for namespaces of earlier grades left Terminating: ${describeApiError(err)}\n`,
    );
  });
  swept.set(key, p);
}

/** Deletes a namespace and waits until it and its volumes are gone, so nothing of a submission outlives its grading. */
export async function deleteNamespace(admin: k8s.KubeConfig, name: string, timeoutMs: number): Promise<void> {
  if (!(await requestNamespaceDeletion(admin, name))) return;
  const end = await confirmNamespaceGone(admin, name, timeoutMs);
  if (!end.gone)
    throw new GraderError(
      `namespace ${name} was not gone ${Math.round(timeoutMs / 1000)} s after deletion; last seen: ${end.seen}`,
    );
}
