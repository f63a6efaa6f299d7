/**
 * Cluster faults end in a clear message and an error (exit 3), never in a
 * student's failed. Uses the real CLI; the last case needs the kind cluster up.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { execa } from '../../src/vendor/execa.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/paths.js';
import { labYaml, tempRoot, writeLab, writeTree } from '../helpers/labs.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');
const REGISTRY = 'kgrade-registry';

async function kgrade(...args: string[]) {
  return execa('node', [CLI, ...args], { reject: false, timeout: 300_000 });
}

test('a kubeconfig that does not parse: exit 3, naming the file', async (t) => {
  const dir = await tempRoot('kc', t);
  const file = path.join(dir, 'broken.yaml');
  await writeFile(file, 'clusters: [ {name: x, cluster: {server: "https://127.0.0.1:1"\n');
  const r = await kgrade('cluster', 'status', '--kubeconfig', file, '--context', 'x');
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`kubeconfig ${file.replaceAll('/', '\\/')} does not parse`));
});

test('a context the kubeconfig does not have: exit 3, listing the contexts it has', async () => {
  const kc = new KindProvider();
  const r = await kgrade('cluster', 'status', '--kubeconfig', kc.ref.kubeconfig, '--context', 'no-such-context');
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /no context "no-such-context" \(it has: kind-/);
});

test('an API server that does not answer: the grade is an error, not a zero', async (t) => {
  const dir = await tempRoot('kc', t);
  const real = await readFile(new KindProvider().ref.kubeconfig, 'utf8');
  // The same cluster and credentials, at a port where nothing listens.
  const dead = real.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9');
  const file = path.join(dir, 'dead.yaml');
  await writeFile(file, dead);
  const context = /current-context: (\S+)/.exec(real)?.[1] ?? 'kind-kgrade';
  const out = path.join(dir, 'out');
  const r = await kgrade(
    'grade',
    SMOKE,
    '--submission',
    path.join(SMOKE, 'reference'),
    '--kubeconfig',
    file,
    '--context',
    context,
    '--out',
    out,
  );
  assert.equal(r.exitCode, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1:9/);
  assert.doesNotMatch(r.stdout, /✘/);
});

test("the image registry down while a pod pulls: an error naming the registry, never the student's failed", async (t) => {
  const root = await tempRoot('registry-down', t);
  const lab = await writeLab(root, 'pull-always', {
    yaml: labYaml('pull-always', { files: ['pod.yaml'], extra: { environment: 'cluster' } }),
    features: {
      'pull.feature': `Feature: a pod that pulls its image
  @points:1
  Scenario: the pod runs
    pod.yaml must describe a pod named puller.

    When the submission's "pod.yaml" is applied
    Then pod "puller" is Running within 20 seconds
`,
    },
  });
  const sub = path.join(root, 'submission');
  await writeTree(sub, {
    'pod.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: puller
spec:
  containers:
    - name: box
      image: busybox:latest
      imagePullPolicy: Always
      command: ["sleep", "3600"]
`,
  });
  // Through the existing-cluster provider: the kind provider would start the registry again first.
  const kind = new KindProvider().ref;
  const on = ['--provider', 'existing', '--kubeconfig', kind.kubeconfig, '--context', kind.context];
  const stopped = await execa('docker', ['stop', REGISTRY], { reject: false });
  assert.equal(stopped.exitCode, 0, stopped.stderr);
  let r;
  try {
    r = await kgrade('grade', lab, '--submission', sub, '--out', path.join(root, 'out'), ...on);
  } finally {
    await execa('docker', ['start', REGISTRY], { reject: false });
  }
  const log = `\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.exitCode, 3, log);
  assert.match(r.stdout + r.stderr, /the image registry did not answer/, log);
  assert.doesNotMatch(r.stdout, /✘/, log);

  // The same pod with the registry back: it pulls and runs (the grade above was the registry's doing).
  const again = await kgrade('grade', lab, '--submission', sub, '--out', path.join(root, 'again'), ...on);
  assert.equal(again.exitCode, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /1\/1/);
});

test('a kube-system pod not ready for a while: cluster up waits for it and reuses the cluster, never recreates it', {
  timeout: 300_000,
}, async (t) => {
  const kind = new KindProvider();
  const kc = kind.kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const node = async () =>
    (
      await execa('docker', ['inspect', '--format', '{{.Id}}', 'kgrade-control-plane'], { reject: false })
    ).stdout.trim();
  const before = await node();
  assert.ok(before, 'the kind cluster is up');
  // Unready for its first 15 s, as a CoreDNS pod being replaced is: the cluster is unhealthy, not broken.
  const name = `kgrade-test-slow-${process.pid}`;
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: {
      metadata: { name },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'slow',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'sleep 15; touch /tmp/ready; sleep 3600'],
            readinessProbe: { exec: { command: ['test', '-e', '/tmp/ready'] }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  t.after(() =>
    core.deleteNamespacedPod({ name, namespace: 'kube-system', gracePeriodSeconds: 0 }).catch(() => undefined),
  );
  const r = await kgrade('cluster', 'up');
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`kube-system/${name} is \\w+, not ready`), 'the problem is named');
  assert.match(r.stderr, /waiting up to \d+ s before recreating it/);
  assert.match(r.stderr, /reusing healthy cluster kgrade/);
  assert.doesNotMatch(r.stderr, /; recreating it$|cluster kgrade deleted|creating kind cluster/m);
  assert.equal(await node(), before, 'the same node container: the cluster was not recreated');
});
