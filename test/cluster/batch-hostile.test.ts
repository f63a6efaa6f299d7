/**
 * Hostile manifests graded in one batch with correct submissions, on the real cluster (the smoke
 * lab: pod.yaml, Pod smoke): a privileged pod, a hostPath mount of /, a request no node can meet,
 * 10 000 ConfigMaps, an object that names kube-system, and the routes across namespaces that
 * kgrade's admission policies close: a Service claiming kube-dns's address as an external IP, a
 * NodePort, hand-written Endpoints, a PVC with a finalizer nobody removes, a pod running as the
 * namespace's ServiceAccount "student", a Secret that would hold student's token. The correct
 * submissions keep full marks (DNS included), each hostile one is graded (never an error) and
 * loses the pod's point with the reason, nothing lands outside the submissions' namespaces, the
 * namespaces and their volumes are gone when the batch ends, and the cluster is healthy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { execa } from '../../src/vendor/execa.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/paths.js';
import { batch, show, stored, type BatchRun } from '../helpers/batch.js';
import { KGRADE_BIN } from '../helpers/grading.js';
import { smokePod, writeTree } from '../helpers/labs.js';

const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');
const SERVICE = (spec: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: hostile\nspec:\n  ports: [{port: 53, protocol: UDP}]\n  selector: {app: x}\n${spec}---\n`;
const HOSTILE: Record<string, string> = {
  // the address is kube-dns's ClusterIP, filled in before the batch
  'h-externalip': `${SERVICE('  externalIPs: ["KUBE_DNS_IP"]\n')}${smokePod()}`,
  'h-nodeport': `${SERVICE('  type: NodePort\n')}${smokePod()}`,
  'h-endpoints': `apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: kube-dns\nsubsets: [{addresses: [{ip: "10.244.0.1"}], ports: [{port: 53, protocol: UDP}]}]\n---\n${smokePod()}`,
  'h-finalizer': `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  finalizers: [example.com/hold]\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 10Mi}}\n---\n${smokePod()}`,
  'h-student-sa': smokePod().replace('spec:\n', 'spec:\n  serviceAccountName: student\n'),
  'h-sa-token': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: steal\n  annotations: {kubernetes.io/service-account.name: student}\ntype: kubernetes.io/service-account-token\n---\n${smokePod()}`,
  'h-privileged': smokePod('', '\n      securityContext:\n        privileged: true'),
  'h-hostpath': `${smokePod('', '\n      volumeMounts: [{name: root, mountPath: /host}]')}  volumes:\n    - name: root\n      hostPath: {path: /}\n`,
  'h-huge': smokePod('', '\n      resources:\n        requests: {memory: 4000Gi, cpu: "4000"}'),
  'h-configmaps': Array.from(
    { length: 10_000 },
    (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n`,
  ).join('---\n'),
  'h-kube-system': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kgrade-hostile-marker\n  namespace: kube-system\n---\n${smokePod()}`,
};
const GOOD = ['good-1', 'good-2'];

let root = '';
let run: BatchRun;
let out = '';
const kc = () => new KindProvider().kubeConfig();
let configMapsBefore = 0;
let kubeDnsIP = '';
let kubeDnsEndpoints = '';

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-batch-hostile-cluster-'));
  const subs = path.join(root, 'subs');
  for (const id of GOOD) await writeTree(path.join(subs, id), { 'pod.yaml': smokePod() });
  const core = kc().makeApiClient(k8s.CoreV1Api);
  kubeDnsIP = (await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' })).spec?.clusterIP ?? '';
  assert.ok(kubeDnsIP);
  kubeDnsEndpoints = JSON.stringify(
    (await core.readNamespacedEndpoints({ name: 'kube-dns', namespace: 'kube-system' })).subsets,
  );
  for (const [id, text] of Object.entries(HOSTILE))
    await writeTree(path.join(subs, id), { 'pod.yaml': text.replace('KUBE_DNS_IP', kubeDnsIP) });
  configMapsBefore = (await core.listConfigMapForAllNamespaces()).items.length;
  out = path.join(root, 'out');
  run = await batch(SMOKE, subs, out, [], { timeoutMs: 900_000 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the batch ends with every student graded, none in error', { timeout: 900_000 }, () => {
  assert.equal(run.code, 0, show(run));
  const statuses = Object.fromEntries(run.lines.map((l) => [l.student, l.status]));
  for (const id of [...GOOD, ...Object.keys(HOSTILE)]) assert.equal(statuses[id], 'graded', `${id}${show(run)}`);
});

test('the correct submissions keep full marks beside the hostile ones', async () => {
  for (const id of GOOD) {
    const s = await stored(out, id);
    assert.equal(
      s.result?.score,
      s.result?.maxScore,
      `${id}: ${JSON.stringify(s.result?.scenarios.map((x) => [x.name, x.outcome, x.message]))}`,
    );
  }
});

test("each hostile manifest loses the pod's points with a message that says why", async () => {
  const why: Record<string, RegExp> = {
    'h-privileged': /violates PodSecurity "baseline[^"]*": privileged/,
    'h-hostpath': /violates PodSecurity "baseline[^"]*": hostPath volumes/,
    // over the LimitRange's default limit it is invalid at once; with its own limits, over the maximum
    'h-huge':
      /Insufficient (memory|cpu)|Unschedulable|must be less than or equal to (memory|cpu) limit|maximum (memory|cpu) usage per Container/,
    // over the smoke lab's 64 KiB cap it is refused at intake; under a larger cap, by the object count
    'h-configmaps': /holds 10000 objects|over this lab's cap/,
  };
  for (const [id, pattern] of Object.entries(why)) {
    const s = await stored(out, id);
    const runs = s.result?.scenarios.find((x) => x.name === 'the busybox pod runs');
    assert.equal(runs?.outcome, 'failed', `${id}: ${JSON.stringify(runs)}`);
    assert.match(runs?.message ?? '', pattern, id);
  }
});

test("each route across namespaces is refused: the student's failed, with the API server's (or the intake's) reason", async () => {
  const why: Record<string, RegExp> = {
    // kind's API server refuses it for every namespace first (DenyServiceExternalIPs); elsewhere kgrade's policy does
    'h-externalip':
      /Service hostile from pod\.yaml: the API server refused it: HTTP (422: .*externalIPs is refused|403: .*Use of external IPs is denied by admission control)/,
    'h-nodeport': /HTTP 422: .*NodePort Service .*this lab does not allow it/,
    'h-endpoints': /kind Endpoints is not one a submission may create/,
    'h-finalizer': /HTTP 422: .*metadata\.finalizers example\.com\/hold refused/,
    'h-student-sa': /HTTP 422: .*"default" ServiceAccount/,
    'h-sa-token': /HTTP 422: .*service-account-token/,
    'h-kube-system':
      /names namespace "kube-system"; a submission's objects are created in the scenario's own namespace/,
  };
  for (const [id, pattern] of Object.entries(why)) {
    const s = await stored(out, id);
    for (const x of s.result?.scenarios.filter(
      (x) => !x.name.startsWith('every') && !x.name.startsWith('kube-proxy'),
    ) ?? []) {
      assert.equal(x.outcome, 'failed', `${id}: ${x.name}: ${JSON.stringify(x)}`);
      assert.match(x.message, pattern, `${id}: ${x.name}`);
    }
  }
  const cms = await kc().makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: 'kube-system' });
  assert.ok(
    !cms.items.some((c) => c.metadata?.name === 'kgrade-hostile-marker'),
    'the marker ConfigMap is not in kube-system',
  );
});

test('kube-dns is untouched: no Service claims an external IP, its endpoints are CoreDNS pods only, the good pods resolve names', async () => {
  const core = kc().makeApiClient(k8s.CoreV1Api);
  const claimed = (await core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.externalIPs?.length);
  assert.deepEqual(
    claimed.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`),
    [],
  );
  // CoreDNS pods come and go (a lab's @serial check deletes one): every address must still be one of theirs
  const targets = (
    (await core.readNamespacedEndpoints({ name: 'kube-dns', namespace: 'kube-system' })).subsets ?? []
  ).flatMap((s) => s.addresses ?? []);
  assert.ok(targets.length > 0, kubeDnsEndpoints);
  for (const a of targets)
    assert.ok(
      a.targetRef?.namespace === 'kube-system' && a.targetRef.name?.startsWith('coredns-'),
      `kube-dns endpoint ${JSON.stringify(a)}`,
    );
  for (const id of GOOD) {
    const dns = (await stored(out, id)).result?.scenarios.find(
      (x) => x.name === 'the pod resolves kubernetes.default through CoreDNS',
    );
    assert.equal(dns?.outcome, 'passed', `${id}: ${JSON.stringify(dns)}`);
  }
});

test('when the batch has ended, its namespaces and their volumes are gone', async () => {
  const core = kc().makeApiClient(k8s.CoreV1Api);
  const ours = (n: string | undefined) =>
    [...GOOD, ...Object.keys(HOSTILE)].some((id) => n?.startsWith(`kg-smoke-cluster-${id}-`));
  const left = (await core.listNamespace()).items.filter((n) => ours(n.metadata?.name));
  assert.deepEqual(
    left.map((n) => `${n.metadata?.name} ${n.status?.phase}`),
    [],
  );
  const pvs = (await core.listPersistentVolume()).items.filter((pv) => ours(pv.spec?.claimRef?.namespace));
  assert.deepEqual(
    pvs.map((pv) => pv.metadata?.name),
    [],
  );
});

test('nothing is left outside: no extra ConfigMaps, the cluster healthy', async () => {
  const after = (await kc().makeApiClient(k8s.CoreV1Api).listConfigMapForAllNamespaces()).items.length;
  assert.ok(after <= configMapsBefore + 10, `ConfigMaps in the cluster: ${configMapsBefore} before, ${after} after`);
  const status = await execa('node', [KGRADE_BIN, 'cluster', 'status'], { reject: false, timeout: 120_000 });
  assert.equal(status.exitCode, 0, status.stdout + status.stderr);
});
