import { createHash } from 'node:crypto';
import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError } from '../errors.js';
import { api, describeApiError, httpStatus } from './client.js';

/**
 * ValidatingAdmissionPolicies that refuse, in every submission namespace, what reaches
 * across namespaces: Service externalIPs, NodePort and LoadBalancer Services (unless the
 * namespace's lab allows them), hand-written Endpoints and EndpointSlices, finalizers other
 * than the cluster's own, pods that run as a ServiceAccount other than "default", and
 * Secrets that would be filled with a ServiceAccount's token.
 */

/** Every submission namespace carries this label (the lab's id); the bindings select on it. */
export const SUBMISSION_LABEL = 'kgrade/lab';
/** Namespace labels that let a lab's submissions make NodePort or LoadBalancer Services. */
export const ALLOW_NODE_PORT_LABEL = 'kgrade/allow-nodeport';
export const ALLOW_LOAD_BALANCER_LABEL = 'kgrade/allow-loadbalancer';
const HASH_ANNOTATION = 'kgrade/policy-hash';

/** Finalizers the cluster's own controllers add and remove; any other one is refused and, at teardown, removed. */
export const SYSTEM_FINALIZERS: readonly string[] = [
  'kubernetes.io/pvc-protection',
  'kubernetes.io/pv-protection',
  'foregroundDeletion',
  'orphan',
  'batch.kubernetes.io/job-tracking',
];

const WRITES = ['CREATE', 'UPDATE'];

interface Validation {
  expression: string;
  message?: string;
  messageExpression?: string;
}

interface PolicyDef {
  name: string;
  rules: Array<{ apiGroups: string[]; resources: string[] }>;
  matchConditions?: Array<{ name: string; expression: string }>;
  validations: Validation[];
}

const celList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
const labelIs = (label: string) =>
  `('${label}' in namespaceObject.metadata.labels && namespaceObject.metadata.labels['${label}'] == 'true')`;
const defaultAccount = (spec: string) =>
  `(!has(${spec}.serviceAccountName) || ${spec}.serviceAccountName in ['', 'default']) && (!has(${spec}.serviceAccount) || ${spec}.serviceAccount in ['', 'default'])`;
const ACCOUNT_WHY =
  'a submission\'s pods run as the namespace\'s "default" ServiceAccount, which has no rights; leave serviceAccountName unset';

const POLICIES: PolicyDef[] = [
  {
    name: 'kgrade-submission-services',
    rules: [{ apiGroups: [''], resources: ['services'] }],
    validations: [
      {
        expression: '!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0',
        message:
          'spec.externalIPs is refused here: an external IP captures traffic for that address in every namespace of the cluster (CVE-2020-8554)',
      },
      {
        expression: `!has(object.spec.type) || object.spec.type != 'NodePort' || ${labelIs(ALLOW_NODE_PORT_LABEL)}`,
        message:
          'a NodePort Service opens a port on every node, for every namespace; this lab does not allow it: use a ClusterIP Service',
      },
      {
        expression: `!has(object.spec.type) || object.spec.type != 'LoadBalancer' || ${labelIs(ALLOW_LOAD_BALANCER_LABEL)}`,
        message:
          'a LoadBalancer Service opens ports outside the namespace; this lab does not allow it: use a ClusterIP Service',
      },
    ],
  },
  {
    name: 'kgrade-submission-endpoints',
    rules: [
      { apiGroups: [''], resources: ['endpoints'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
    ],
    // The cluster's controllers write them from Services' selectors; anyone else is refused.
    matchConditions: [
      {
        name: 'written-by-other-than-the-cluster',
        expression:
          "!request.userInfo.username.startsWith('system:') || request.userInfo.username.startsWith('system:serviceaccount:' + request.namespace + ':')",
      },
    ],
    validations: [
      {
        expression: 'false',
        message:
          "Endpoints and EndpointSlices are written by the cluster from a Service's selector; a submission may not write them (give the Service a selector that matches its pods)",
      },
    ],
  },
  {
    name: 'kgrade-submission-finalizers',
    rules: [{ apiGroups: ['*'], resources: ['*'] }],
    validations: [
      {
        expression: `!has(object.metadata.finalizers) || object.metadata.finalizers.all(f, f in ${celList(SYSTEM_FINALIZERS)} || (oldObject != null && has(oldObject.metadata.finalizers) && f in oldObject.metadata.finalizers))`,
        messageExpression: `'metadata.finalizers ' + object.metadata.finalizers.filter(f, !(f in ${celList(SYSTEM_FINALIZERS)})).join(', ') + ' refused: a finalizer nobody removes keeps the object, its namespace and its volumes forever; leave metadata.finalizers unset'`,
      },
    ],
  },
  {
    name: 'kgrade-submission-pods',
    rules: [{ apiGroups: [''], resources: ['pods'] }],
    validations: [{ expression: defaultAccount('object.spec'), message: ACCOUNT_WHY }],
  },
  {
    name: 'kgrade-submission-pod-templates',
    rules: [
      { apiGroups: [''], resources: ['replicationcontrollers'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'] },
      { apiGroups: ['batch'], resources: ['jobs'] },
    ],
    validations: [
      {
        expression: `!has(object.spec.template) || !has(object.spec.template.spec) || (${defaultAccount('object.spec.template.spec')})`,
        message: ACCOUNT_WHY,
      },
    ],
  },
  {
    name: 'kgrade-submission-secrets',
    rules: [{ apiGroups: [''], resources: ['secrets'] }],
    validations: [
      {
        expression: "!has(object.type) || object.type != 'kubernetes.io/service-account-token'",
        message:
          "a Secret of type kubernetes.io/service-account-token would be filled with a ServiceAccount's token; a submission may not make one",
      },
    ],
  },
];

/** The policy and binding objects kgrade installs, each with a hash of its own content. */
export function admissionObjects(): k8s.KubernetesObject[] {
  const objects: k8s.KubernetesObject[] = [];
  for (const p of POLICIES) {
    const policySpec = {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: p.rules.map((r) => ({ ...r, apiVersions: ['*'], operations: WRITES, scope: 'Namespaced' })),
        namespaceSelector: { matchExpressions: [{ key: SUBMISSION_LABEL, operator: 'Exists' }] },
      },
      ...(p.matchConditions ? { matchConditions: p.matchConditions } : {}),
      validations: p.validations,
    };
    const bindingSpec = {
      policyName: p.name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchExpressions: [{ key: SUBMISSION_LABEL, operator: 'Exists' }] } },
    };
    for (const [kind, spec] of [
      ['ValidatingAdmissionPolicy', policySpec],
      ['ValidatingAdmissionPolicyBinding', bindingSpec],
    ] as const) {
      const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
      objects.push({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind,
        metadata: {
          name: p.name,
          labels: { 'app.kubernetes.io/managed-by': 'kgrade' },
          annotations: { [HASH_ANNOTATION]: hash },
        },
        spec,
      } as k8s.KubernetesObject);
    }
  }
  return objects;
}

/** Creates an object, or replaces it when its hash differs; a race with another kgrade is tried again. */
async function ensureObject(
  kc: k8s.KubeConfig,
  client: k8s.KubernetesObjectApi,
  want: k8s.KubernetesObject,
): Promise<'created' | 'updated' | 'kept'> {
  const what = `${want.kind} ${want.metadata?.name ?? ''}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const have = await api(kc, `reading ${what}`, () =>
        client.read({
          apiVersion: want.apiVersion ?? '',
          kind: want.kind ?? '',
          metadata: { name: want.metadata?.name ?? '' },
        }),
      );
      if (have.metadata?.annotations?.[HASH_ANNOTATION] === want.metadata?.annotations?.[HASH_ANNOTATION])
        return 'kept';
      await api(kc, `replacing ${what}`, () =>
        client.replace({
          ...want,
          metadata: { ...want.metadata, resourceVersion: have.metadata?.resourceVersion ?? '' },
        }),
      );
      return 'updated';
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404) {
        try {
          await api(kc, `creating ${what}`, () => client.create(want));
          return 'created';
        } catch (e) {
          if (httpStatus(e) !== 409 || attempt > 2) throw e;
          continue;
        }
      }
      if (status === 409 && attempt <= 2) continue;
      throw err;
    }
  }
}

/**
 * Installs the policies and bindings, or brings them up to date; kept as they are when
 * their hashes match (one read each). A cluster without ValidatingAdmissionPolicy
 * (Kubernetes before 1.30) is the grader's error: its submissions would not be contained.
 */
export async function installAdmission(kc: k8s.KubeConfig): Promise<string[]> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const changed: string[] = [];
  try {
    const results = await Promise.all(
      admissionObjects().map(async (o) => [o, await ensureObject(kc, client, o)] as const),
    );
    for (const [o, r] of results) if (r !== 'kept') changed.push(`${o.kind} ${o.metadata?.name ?? ''} ${r}`);
  } catch (err) {
    if (err instanceof GraderError) throw err;
    const status = httpStatus(err);
    const hint =
      status === 404
        ? ' (the cluster serves no admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy: kgrade needs Kubernetes 1.30 or later)'
        : '';
    throw new GraderError(`installing kgrade's admission policies: ${describeApiError(err)}${hint}`, { cause: err });
  }
  if (changed.length) await policiesReady(kc, 30_000);
  return changed;
}

/** Waits until the API server has read every policy (observedGeneration); a policy it cannot compile is named. */
async function policiesReady(kc: k8s.KubeConfig, timeoutMs: number): Promise<void> {
  const adm = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    const pending: string[] = [];
    for (const p of POLICIES) {
      const have = await api(kc, `reading ValidatingAdmissionPolicy ${p.name}`, () =>
        adm.readValidatingAdmissionPolicy({ name: p.name }),
      );
      const warnings = have.status?.typeChecking?.expressionWarnings ?? [];
      if (warnings.length)
        throw new GraderError(
          `ValidatingAdmissionPolicy ${p.name} does not type-check: ${warnings.map((w) => `${w.fieldRef}: ${w.warning}`).join('; ')}`,
        );
      if (have.status?.observedGeneration !== have.metadata?.generation)
        pending.push(
          `${p.name}: generation ${have.metadata?.generation ?? '?'}, observed ${have.status?.observedGeneration ?? 'none'}`,
        );
    }
    if (pending.length === 0) return;
    seen = pending.join('; ');
    if (Date.now() > deadline)
      throw new GraderError(
        `kgrade's admission policies were not taken up within ${Math.round(timeoutMs / 1000)} s: ${seen}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

const installed = new Map<string, Promise<string[]>>();

/** installAdmission once per cluster and process; every submission namespace waits for it. */
export function ensureAdmission(kc: k8s.KubeConfig): Promise<string[]> {
  const key = kc.getCurrentCluster()?.server ?? '';
  let p = installed.get(key);
  if (!p) {
    p = installAdmission(kc);
    p.catch(() => installed.delete(key));
    installed.set(key, p);
  }
  return p;
}
