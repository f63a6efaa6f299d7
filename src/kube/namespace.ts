import { randomBytes } from 'node:crypto';
import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError } from '../errors.js';
import { api, describeApiError, httpStatus } from './client.js';

/** A namespace that holds one submission's objects, and a kubeconfig that can touch nothing else. */
export interface SubmissionNamespace {
  name: string;
  /** Acts as the namespace's ServiceAccount "student": namespaced objects of the lab's kinds, in this namespace only. */
  student: k8s.KubeConfig;
}

const STUDENT = 'student';

/** What a submission may create and read in its own namespace. */
const STUDENT_RULES: k8s.V1PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers', 'endpoints', 'events'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
];

function slug(text: string, max: number): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, max).replace(/-+$/, '') || 'x';
}

/**
 * Creates the namespace for one submission: labelled for Pod Security
 * (baseline enforced: no privileged pods, no host namespaces or paths), with a
 * quota on object counts and a ServiceAccount whose Role reaches only this
 * namespace. Manifests are applied with that account's token.
 */
export async function createSubmissionNamespace(admin: k8s.KubeConfig, labId: string, submission: string): Promise<SubmissionNamespace> {
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
              'kgrade/lab': slug(labId, 63),
              'pod-security.kubernetes.io/enforce': 'baseline',
              'pod-security.kubernetes.io/warn': 'restricted',
            },
          },
        },
      }),
    );
    await api(admin, doing, () =>
      core.createNamespacedResourceQuota({
        namespace: name,
        body: { metadata: { name: 'kgrade' }, spec: {
            hard: {
              pods: '30',
              services: '10',
              configmaps: '30',
              secrets: '30',
              replicationcontrollers: '10',
              'count/deployments.apps': '10',
              'count/replicasets.apps': '20',
              'count/jobs.batch': '10',
              persistentvolumeclaims: '5',
              'requests.storage': '5Gi',
            },
          },
        },
      }),
    );
    await api(admin, doing, () => core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: STUDENT } } }));
    await api(admin, doing, () => rbac.createNamespacedRole({ namespace: name, body: { metadata: { name: STUDENT }, rules: STUDENT_RULES } }));
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
      core.createNamespacedServiceAccountToken({ name: STUDENT, namespace: name, body: { spec: { expirationSeconds: 3600, audiences: [] } } }),
    );
    const cluster = admin.getCurrentCluster();
    if (!cluster || !token.status?.token) throw new GraderError(`${doing}: no cluster in the kubeconfig or no token issued`);
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
    if (err instanceof GraderError) throw err;
    throw new GraderError(`${doing}: ${describeApiError(err)}`, { cause: err });
  }
}

const pendingDeletions = new Set<Promise<unknown>>();

/**
 * Deletes a namespace's pods without grace (a busybox sleep ignores SIGTERM and would hold the
 * namespace for 30 s), then the namespace. False when it was already gone.
 */
async function requestNamespaceDeletion(admin: k8s.KubeConfig, name: string): Promise<boolean> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  try {
    await core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 }).catch(() => undefined);
    await core.deleteNamespace({ name, gracePeriodSeconds: 0, propagationPolicy: 'Background' });
    return true;
  } catch (err) {
    if (httpStatus(err) === 404) return false;
    throw new GraderError(`deleting namespace ${name}: ${describeApiError(err)}`, { cause: err });
  }
}

/**
 * Starts deleting a scenario's namespace without waiting for it, so the next scenario can
 * start; finishNamespaceDeletions() waits until every deletion was accepted: the pods are gone
 * at once (no grace period) and the namespace is Terminating. Kubernetes' namespace controller
 * removes the rest by itself; a grade does not wait those seconds for it.
 */
export function deleteNamespaceLater(admin: k8s.KubeConfig, name: string): void {
  const p: Promise<unknown> = requestNamespaceDeletion(admin, name).finally(() => pendingDeletions.delete(p));
  p.catch(() => undefined);
  pendingDeletions.add(p);
}

/** Waits until every namespace deletion started was accepted; the first failure is thrown. */
export async function finishNamespaceDeletions(): Promise<void> {
  const results = await Promise.allSettled([...pendingDeletions]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Deletes a namespace and waits until it is gone, so nothing of a submission outlives its grading. */
export async function deleteNamespace(admin: k8s.KubeConfig, name: string, timeoutMs: number): Promise<void> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  if (!(await requestNamespaceDeletion(admin, name))) return;
  const deadline = Date.now() + timeoutMs;
  let phase = 'Terminating';
  while (Date.now() < deadline) {
    try {
      const ns = await core.readNamespace({ name });
      phase = ns.status?.phase ?? phase;
    } catch (err) {
      if (httpStatus(err) === 404) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new GraderError(`namespace ${name} was still ${phase} ${Math.round(timeoutMs / 1000)} s after deletion`);
}
