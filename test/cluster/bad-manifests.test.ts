/**
 * Bad manifests on the real cluster, graded with the smoke lab (pod.yaml: Pod smoke): each
 * ends in a clear result, the student's `failed` where the submission is at fault, nothing
 * outside the submission's namespace is touched, and the cluster is healthy afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { execa } from '../../src/vendor/execa.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/paths.js';
import { labYaml, smokePod, writeLab, writeTree } from '../helpers/labs.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');
const RUNS = 'the busybox pod runs';
let root = '';
let counter = 0;

interface Graded {
  code: number | null;
  stderr: string;
  scenarios: { name: string; outcome: string; message: string; notes?: string[] }[];
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-bad-manifests-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function grade(lab: string, files: Record<string, string>): Promise<Graded> {
  counter += 1;
  const dir = path.join(root, `sub${counter}`);
  await writeTree(dir, files);
  const out = path.join(root, `out${counter}`);
  const r = await execa('node', [CLI, 'grade', lab, '--submission', dir, '--out', out], {
    reject: false,
    timeout: 600_000,
    env: { NO_COLOR: '1' },
  });
  const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as {
    scenarios: Graded['scenarios'];
  };
  return { code: r.exitCode ?? null, stderr: r.stderr, scenarios: results.scenarios };
}

function scenario(g: Graded, name: string) {
  const s = g.scenarios.find((x) => x.name === name);
  assert.ok(s, `no scenario ${name}`);
  return s;
}

test('a manifest that does not parse: failed, with the line and column', async () => {
  const g = await grade(SMOKE, { 'pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n spec: [\n' });
  assert.equal(g.code, 0, g.stderr);
  const s = scenario(g, RUNS);
  assert.equal(s.outcome, 'failed');
  assert.match(s.message, /pod\.yaml is not valid YAML/);
  assert.match(s.message, /\(\d+:\d+\)/, 'names line:column');
});

test('the wrong kind: failed at once, naming what the manifest made instead', async () => {
  const started = Date.now();
  const g = await grade(SMOKE, {
    'pod.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smoke\ndata:\n  a: b\n',
  });
  const s = scenario(g, RUNS);
  assert.equal(s.outcome, 'failed');
  assert.match(s.message, /created ConfigMap smoke, and none of them is Pod smoke/);
  assert.ok(Date.now() - started < 60_000, 'did not wait out the 60 s deadline');
});

test("several documents: all are created in the submission's namespace, and the pod counts", async () => {
  const svc =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  ports: [{port: 80}]\n  selector: {app: x}\n';
  const g = await grade(SMOKE, { 'pod.yaml': `${svc}---\n${smokePod()}` });
  assert.equal(scenario(g, RUNS).outcome, 'passed', JSON.stringify(g.scenarios));
});

test("an object that names kube-system: the student's failed, with the reason; kube-system is untouched", async () => {
  const g = await grade(SMOKE, {
    'pod.yaml': smokePod().replace('  name: smoke\n', '  name: smoke\n  namespace: kube-system\n'),
  });
  assert.equal(g.code, 0, g.stderr);
  const s = scenario(g, RUNS);
  assert.equal(s.outcome, 'failed');
  assert.match(s.message, /pod\.yaml, document 1: Pod smoke names namespace "kube-system"/);
  const kc = new KindProvider().kubeConfig();
  const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'kube-system' });
  assert.ok(!pods.items.some((p) => p.metadata?.name === 'smoke'), 'no pod smoke in kube-system');
});

test("an object that names namespace default is moved into the submission's namespace, with a note, and counts", async () => {
  const g = await grade(SMOKE, {
    'pod.yaml': smokePod().replace('  name: smoke\n', '  name: smoke\n  namespace: default\n'),
  });
  const s = scenario(g, RUNS);
  assert.equal(s.outcome, 'passed', JSON.stringify(g.scenarios));
  assert.ok(
    s.notes?.some((n) => /metadata\.namespace "default" was moved into the scenario's own namespace/.test(n)),
    JSON.stringify(s.notes),
  );
  const kc = new KindProvider().kubeConfig();
  const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' });
  assert.ok(!pods.items.some((p) => p.metadata?.name === 'smoke'), 'no pod smoke in default');
});

test("a privileged pod and a hostPath mount of /: Pod Security refuses them, the student's failed with the admission message", async () => {
  const privileged = await grade(SMOKE, {
    'pod.yaml': smokePod('', '\n      securityContext:\n        privileged: true'),
  });
  const p = scenario(privileged, RUNS);
  assert.equal(p.outcome, 'failed');
  assert.match(p.message, /violates PodSecurity "baseline[^"]*": privileged/);
  const hostPath = await grade(SMOKE, {
    'pod.yaml':
      smokePod('', '\n      volumeMounts: [{name: root, mountPath: /host}]') +
      '  volumes:\n    - name: root\n      hostPath: {path: /}\n',
  });
  const h = scenario(hostPath, RUNS);
  assert.equal(h.outcome, 'failed');
  assert.match(h.message, /violates PodSecurity "baseline[^"]*": hostPath volumes/);
});

test("a resource request no node can meet: failed with the scheduler's reason; one over the namespace's bounds, with the API server's", async () => {
  // with a limit within the namespace's bounds, the request alone is what no node can meet
  const g = await grade(SMOKE, {
    'pod.yaml': smokePod(
      '',
      '\n      resources:\n        requests: {memory: 2Gi, cpu: "2"}\n        limits: {memory: 2Gi, cpu: "2"}',
    ),
  });
  const s = scenario(g, RUNS);
  assert.equal(s.outcome, 'failed');
  assert.match(s.message, /Insufficient (memory|cpu)|Unschedulable/);
  const over = scenario(
    await grade(SMOKE, { 'pod.yaml': smokePod('', '\n      resources:\n        requests: {memory: 4000Gi}') }),
    RUNS,
  );
  assert.equal(over.outcome, 'failed');
  assert.match(over.message, /HTTP 422: .*must be less than or equal to memory limit of 512Mi/);
});

test('10 000 ConfigMaps in one file: refused before anything is created; nothing outside the namespace changes', async () => {
  const lab = await writeLab(root, 'many-objects', {
    yaml: labYaml('many-objects', {
      files: ['objects.yaml'],
      maxBytes: 4 * 1024 * 1024,
      extra: { environment: 'cluster' },
    }),
    features: {
      'apply.feature': `Feature: many objects
  @points:1
  Scenario: the objects apply
    objects.yaml must apply.

    When the submission's "objects.yaml" is applied
    Then pod "none" is Running within 5 seconds
`,
    },
  });
  const kc = new KindProvider().kubeConfig();
  const before = (await kc.makeApiClient(k8s.CoreV1Api).listConfigMapForAllNamespaces()).items.length;
  const docs = Array.from(
    { length: 10_000 },
    (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n`,
  ).join('---\n');
  const g = await grade(lab, { 'objects.yaml': docs });
  const s = scenario(g, 'the objects apply');
  assert.equal(s.outcome, 'failed');
  assert.match(s.message, /holds 10000 objects; a submission file may hold at most \d+/);
  const afterCount = (await kc.makeApiClient(k8s.CoreV1Api).listConfigMapForAllNamespaces()).items.length;
  assert.ok(afterCount <= before + 2, `ConfigMaps in the cluster: ${before} before, ${afterCount} after`);
});

test('the namespace quota refuses what one file may hold but the namespace may not', async () => {
  const lab = await writeLab(root, 'quota', {
    yaml: labYaml('quota', { files: ['objects.yaml'], extra: { environment: 'cluster' } }),
    features: {
      'apply.feature': `Feature: quota
  @points:1
  Scenario: the objects apply
    objects.yaml must apply.

    When the submission's "objects.yaml" is applied
    Then it succeeds
`,
    },
  });
  const docs = Array.from(
    { length: 45 },
    (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n`,
  ).join('---\n');
  const g = await grade(lab, { 'objects.yaml': docs });
  const s = scenario(g, 'the objects apply');
  assert.equal(s.outcome, 'failed', JSON.stringify(s));
  assert.match(s.message, /exceeded quota/);
});

test('the cluster is healthy afterwards', async () => {
  const r = await execa('node', [CLI, 'cluster', 'status'], { reject: false, timeout: 120_000 });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /healthy/);
});
