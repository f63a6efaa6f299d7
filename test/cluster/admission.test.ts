/**
 * kgrade's admission policies on the real cluster. Each route is tried with a server-side dry
 * run (admission runs, nothing is stored, kube-proxy writes no rule): accepted in a namespace
 * the policies do not bind (the route is real), refused in a submission namespace, with the
 * API server's message. Then what the student's token may do, and the per-namespace bounds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { SubmissionAssertionError } from '../../src/errors.js';
import { installAdmission } from '../../src/kube/admission.js';
import { applyManifest } from '../../src/kube/apply.js';
import { describeApiError, httpStatus } from '../../src/kube/client.js';
import { createSubmissionNamespace, deleteNamespace, type SubmissionNamespace } from '../../src/kube/namespace.js';

const admin = () => new KindProvider().kubeConfig();
let ns: SubmissionNamespace;
let allowing: SubmissionNamespace;
const open = `kgrade-test-open-${randomBytes(3).toString('hex')}`;

before(async () => {
  ns = await createSubmissionNamespace(admin(), 'admission-test', 'hostile');
  allowing = await createSubmissionNamespace(admin(), 'admission-test', 'allowed', { nodePorts: true });
  const core = admin().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name: open, labels: { 'app.kubernetes.io/managed-by': 'kgrade-test' } } },
  });
  await core.createNamespacedServiceAccount({ namespace: open, body: { metadata: { name: 'student' } } });
});

after(async () => {
  await Promise.all([
    ns && deleteNamespace(admin(), ns.name, 120_000),
    allowing && deleteNamespace(admin(), allowing.name, 120_000),
    admin()
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespace({ name: open })
      .catch(() => undefined),
  ]);
});

/** A dry-run create; undefined when accepted, else the HTTP status and the API server's message. */
async function dryRun(
  kc: k8s.KubeConfig,
  namespace: string,
  obj: k8s.KubernetesObject,
): Promise<{ status: number | undefined; message: string } | undefined> {
  try {
    await k8s.KubernetesObjectApi.makeApiClient(kc).create(
      { ...obj, metadata: { ...obj.metadata, namespace } },
      undefined,
      'All',
    );
    return undefined;
  } catch (err) {
    return { status: httpStatus(err), message: describeApiError(err) };
  }
}

const kubeDnsIP = async () =>
  (await admin().makeApiClient(k8s.CoreV1Api).readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' }))
    .spec?.clusterIP ?? '';
const service = (spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'hostile' },
  spec: { ports: [{ port: 53, protocol: 'UDP' }], selector: { app: 'x' }, ...spec },
});
const smokePod = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'hostile', ...meta },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '1'] }], ...spec },
});

/**
 * The API server's own admission plugin that may close a route for every namespace first (kgrade's
 * kind cluster runs DenyServiceExternalIPs); the policy is what closes it on a cluster without it.
 */
const EXTERNAL_IPS_PLUGIN = /HTTP 403: .*Use of external IPs is denied by admission control/;

const ROUTES: Array<{ name: string; obj: () => Promise<k8s.KubernetesObject>; refused: RegExp; plugin?: RegExp }> = [
  {
    name: "a Service with externalIPs on kube-dns's ClusterIP",
    obj: async () => service({ externalIPs: [await kubeDnsIP()] }),
    refused: /externalIPs is refused/,
    plugin: EXTERNAL_IPS_PLUGIN,
  },
  {
    name: 'a NodePort Service',
    obj: async () => service({ type: 'NodePort' }),
    refused: /NodePort Service .* this lab does not allow it/,
  },
  {
    name: 'a LoadBalancer Service',
    obj: async () => service({ type: 'LoadBalancer' }),
    refused: /LoadBalancer Service .* this lab does not allow it/,
  },
  {
    name: 'a pod running as ServiceAccount student',
    obj: async () => smokePod({ serviceAccountName: 'student' }),
    refused: /"default" ServiceAccount/,
  },
  {
    name: 'a Deployment whose pods run as student',
    obj: async () => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hostile' },
      spec: {
        selector: { matchLabels: { app: 'h' } },
        template: { metadata: { labels: { app: 'h' } }, spec: { ...smokePod().spec, serviceAccountName: 'student' } },
      },
    }),
    refused: /"default" ServiceAccount/,
  },
  {
    name: 'a PVC with a finalizer nobody removes',
    obj: async () => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'hostile', finalizers: ['example.com/hold'] },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } },
    }),
    refused: /metadata\.finalizers example\.com\/hold refused/,
  },
  {
    name: 'a pod with a finalizer',
    obj: async () => smokePod({}, { finalizers: ['example.com/hold'] }),
    refused: /metadata\.finalizers example\.com\/hold refused/,
  },
  {
    name: "a Secret the cluster would fill with student's token",
    obj: async () => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'hostile', annotations: { 'kubernetes.io/service-account.name': 'student' } },
      type: 'kubernetes.io/service-account-token',
    }),
    refused: /service-account-token/,
  },
];

for (const route of ROUTES) {
  test(`${route.name}: accepted where the policies do not bind, refused (422) in a submission namespace`, async () => {
    const obj = await route.obj();
    const outside = await dryRun(admin(), open, obj);
    const plugin = route.plugin;
    if (outside && plugin) {
      // closed for every namespace by the API server's own plugin: the policy is not reached here
      assert.match(outside.message, plugin);
      const refused = await dryRun(ns.student, ns.name, obj);
      assert.match(refused?.message ?? 'accepted', plugin);
      return;
    }
    assert.equal(outside, undefined, 'the route is open without the policy');
    const refused = await dryRun(ns.student, ns.name, obj);
    assert.ok(refused, 'refused in the submission namespace');
    assert.equal(refused.status, 422, refused.message);
    assert.match(refused.message, /ValidatingAdmissionPolicy 'kgrade-submission-/);
    assert.match(refused.message, route.refused);
  });
}

test("a hand-written Endpoints or EndpointSlice: refused to anyone but the cluster's controllers, admin included", async () => {
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes' },
    subsets: [{ addresses: [{ ip: await kubeDnsIP() }], ports: [{ port: 53 }] }],
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'hostile', labels: { 'kubernetes.io/service-name': 'x' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }],
  };
  for (const obj of [endpoints, slice]) {
    assert.equal(await dryRun(admin(), open, obj), undefined, `${obj.kind}: open without the policy`);
    const byAdmin = await dryRun(admin(), ns.name, obj);
    assert.equal(byAdmin?.status, 422, byAdmin?.message);
    assert.match(byAdmin?.message ?? '', /written by the cluster from a Service's selector/);
    const byStudent = await dryRun(ns.student, ns.name, obj);
    assert.equal(byStudent?.status, 403, `the student's Role does not reach ${obj.kind}: ${byStudent?.message}`);
  }
});

test('a lab that allows NodePorts gets them; the quota bounds how many', async () => {
  assert.equal(await dryRun(allowing.student, allowing.name, service({ type: 'NodePort' })), undefined);
  const lb = await dryRun(allowing.student, allowing.name, service({ type: 'LoadBalancer' }));
  assert.equal(lb?.status, 422, 'LoadBalancer is a separate allowance');
  const quota = (namespace: string) =>
    admin().makeApiClient(k8s.CoreV1Api).readNamespacedResourceQuota({ name: 'kgrade', namespace });
  assert.equal((await quota(ns.name)).spec?.hard?.['services.nodeports'], '0');
  assert.equal((await quota(allowing.name)).spec?.hard?.['services.nodeports'], '3');
});

test("applying a refused object is the student's failure with the API server's message", async () => {
  const manifest = `apiVersion: v1\nkind: Service\nmetadata:\n  name: dns-thief\nspec:\n  externalIPs: ["${await kubeDnsIP()}"]\n  ports: [{port: 53, protocol: UDP}]\n  selector: {app: x}\n`;
  await assert.rejects(applyManifest(ns, 'svc.yaml', manifest), (err: unknown) => {
    assert.ok(err instanceof SubmissionAssertionError, String(err));
    assert.match(
      err.message,
      /creating Service dns-thief from svc\.yaml: the API server refused it: HTTP (422: .*externalIPs is refused|403: .*Use of external IPs is denied by admission control)/,
    );
    return true;
  });
  const svcs = await admin().makeApiClient(k8s.CoreV1Api).listServiceForAllNamespaces();
  assert.ok(!svcs.items.some((s) => s.spec?.externalIPs?.length), 'no Service in the cluster has externalIPs');
});

test("the student's token creates the lab's kinds and nothing more: no reads, no deletes, no other namespace", async () => {
  const core = ns.student.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'mine' } } });
  for (const [what, call] of [
    ['list its pods', () => core.listNamespacedPod({ namespace: ns.name })],
    ['read its ConfigMap', () => core.readNamespacedConfigMap({ name: 'mine', namespace: ns.name })],
    ['delete its ConfigMap', () => core.deleteNamespacedConfigMap({ name: 'mine', namespace: ns.name })],
    [
      'create an Event',
      () =>
        core.createNamespacedEvent({
          namespace: ns.name,
          body: { metadata: { name: 'e' }, involvedObject: { name: 'mine' } },
        }),
    ],
    [
      'create a ConfigMap in kube-system',
      () =>
        core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: { name: 'kgrade-hostile' } } }),
    ],
  ] as const) {
    await assert.rejects(call(), (err: unknown) => httpStatus(err) === 403, what);
  }
  const sa = await admin()
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedServiceAccount({ name: 'student', namespace: ns.name });
  assert.equal(sa.automountServiceAccountToken, false);
});

test("a pod without resources gets the LimitRange's defaults, ephemeral storage included", async () => {
  const core = admin().makeApiClient(k8s.CoreV1Api);
  const pod = await core.createNamespacedPod({ namespace: ns.name, body: smokePod() as k8s.V1Pod, dryRun: 'All' });
  const r = pod.spec?.containers[0]?.resources;
  for (const k of ['cpu', 'memory', 'ephemeral-storage']) {
    assert.ok(r?.limits?.[k], `limit ${k}: ${JSON.stringify(r)}`);
    assert.ok(r?.requests?.[k], `request ${k}: ${JSON.stringify(r)}`);
  }
  const big = await dryRun(
    admin(),
    ns.name,
    smokePod({
      containers: [{ name: 'c', image: 'busybox:1.36', resources: { limits: { 'ephemeral-storage': '50Gi' } } }],
    }),
  );
  assert.equal(big?.status, 403, big?.message);
  assert.match(big?.message ?? '', /ephemeral-storage/);
});

test('installing the policies again keeps them: one read each, nothing changed', async () => {
  assert.deepEqual(await installAdmission(admin()), []);
});

test('at run time a pod\'s identity (the namespace\'s "default" ServiceAccount) may read and change nothing', async () => {
  const authz = admin().makeApiClient(k8s.AuthorizationV1Api);
  const may = async (account: string, verb: string, resource: string, namespace = ns.name) =>
    (
      await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${ns.name}:${account}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${ns.name}`, 'system:authenticated'],
            resourceAttributes: { namespace, verb, resource },
          },
        },
      })
    ).status?.allowed ?? false;
  for (const [verb, resource] of [
    ['get', 'pods'],
    ['list', 'secrets'],
    ['create', 'pods'],
    ['create', 'endpoints'],
    ['delete', 'configmaps'],
  ]) {
    assert.equal(await may('default', verb ?? '', resource ?? ''), false, `default may not ${verb} ${resource}`);
  }
  assert.equal(await may('student', 'create', 'pods'), true, 'the student account creates (kgrade uses it to apply)');
  for (const [verb, resource] of [
    ['get', 'pods'],
    ['list', 'secrets'],
    ['create', 'endpoints'],
    ['update', 'services'],
    ['delete', 'pods'],
  ]) {
    assert.equal(await may('student', verb ?? '', resource ?? ''), false, `student may not ${verb} ${resource}`);
  }
  assert.equal(await may('student', 'create', 'pods', 'kube-system'), false);
});
