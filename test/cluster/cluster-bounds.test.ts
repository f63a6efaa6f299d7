/**
 * What kgrade sets when it makes a kind cluster, tried on the cluster: a pod's fork loop stops
 * at the kubelet's pod PID limit while the node and other pods carry on, and the API server
 * refuses a Service that claims external IPs (here kube-dns's own address), even from an admin.
 * On a cluster made without these settings the loop reaches its 3000 processes and the Service
 * is created: both tests fail there.
 * Needs a cluster made by this kgrade (`kgrade cluster up`; KGRADE_CLUSTER names it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { execa } from '../../src/vendor/execa.js';
import { CONFIG_LABEL, KindProvider, POD_PIDS_LIMIT, clusterConfigHash } from '../../src/env/cluster/kind.js';
import { kindClusterName } from '../../src/config.js';
import { describeApiError } from '../../src/kube/client.js';
import { execInPod, waitForPod } from '../../src/kube/pods.js';

const provider = new KindProvider();
const node = `${kindClusterName()}-control-plane`;
const ns = `kgrade-test-bounds-${process.pid}`;
const LOOP = 3000;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

before(async () => {
  const s = await provider.status();
  assert.deepEqual(s.problems, [], `cluster ${kindClusterName()} must be up and healthy (kgrade cluster up)`);
  kc = provider.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

after(async () => {
  await core?.deleteNamespace({ name: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
});

function pod(name: string, script: string): k8s.V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'box', image: 'busybox:1.36', command: ['sh', '-c', script] }],
    },
  };
}

test('the node carries the hash of the settings it was made with', async () => {
  const n = await core.readNode({ name: node });
  assert.equal(n.metadata?.labels?.[CONFIG_LABEL], clusterConfigHash());
});

test(`a pod's fork loop stops at the pod PID limit (${POD_PIDS_LIMIT}); the node and another pod are unaffected`, {
  timeout: 300_000,
}, async (t) => {
  await core.createNamespacedPod({ namespace: ns, body: pod('bystander', 'sleep 3600') });
  await waitForPod(kc, ns, 'bystander', {
    what: 'Running',
    timeoutMs: 120_000,
    until: (p) => p.status?.phase === 'Running',
  });
  // Each child sleeps long enough to be counted while the loop goes on; printed once started.
  await core.createNamespacedPod({
    namespace: ns,
    body: pod('forker', `n=0; while [ $n -lt ${LOOP} ]; do sleep 120 & n=$((n+1)); echo $n; done; echo reached $n`),
  });
  const done = await waitForPod(kc, ns, 'forker', {
    what: 'Succeeded or Failed',
    timeoutMs: 240_000,
    until: (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
  });
  const logs = await core.readNamespacedPodLog({ name: 'forker', namespace: ns });
  const counts = logs
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
  const most = Math.max(0, ...counts);
  const tail = logs.split('\n').slice(-4).join('\n');
  t.diagnostic(
    `started ${most} processes, then: ${logs.split('\n').filter((l) => /fork/.test(l))[0] ?? '(no refusal)'}`,
  );
  assert.doesNotMatch(logs, /^reached/m, `the loop started all ${LOOP} processes: no limit (${done.status?.phase})`);
  assert.match(logs, /can't fork/, `the shell was refused a fork:\n${tail}`);
  assert.ok(
    most < POD_PIDS_LIMIT && most > POD_PIDS_LIMIT / 2,
    `it started ${most} processes before the refusal, limit ${POD_PIDS_LIMIT}:\n${tail}`,
  );

  const bystander = await execInPod(
    kc,
    ns,
    'bystander',
    'box',
    ['sh', '-c', 'sleep 1 & sleep 1 & wait; echo forked'],
    60_000,
  );
  assert.match(bystander.stdout, /forked/, bystander.stderr);
  const onNode = await execa(
    'docker',
    ['exec', node, 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do true & done; wait; echo forked'],
    { reject: false, timeout: 60_000 },
  );
  assert.equal(onNode.stdout.trim(), 'forked', onNode.stderr);
  const s = await provider.status();
  assert.deepEqual(s.problems, [], 'the cluster is healthy after the loop');
});

test('a Service with externalIPs is refused by the API server; the same Service without them is created', {
  timeout: 120_000,
}, async () => {
  const dns = await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
  const claim = dns.spec?.clusterIP ?? '10.96.0.10';
  const service = (name: string, externalIPs?: string[]): k8s.V1Service => ({
    metadata: { name },
    spec: {
      selector: { app: 'none' },
      ports: [{ port: 53, protocol: 'UDP' }],
      ...(externalIPs ? { externalIPs } : {}),
    },
  });
  let refused: unknown;
  try {
    await core.createNamespacedService({ namespace: ns, body: service('claim-dns', [claim]) });
  } catch (err) {
    refused = err;
  }
  assert.ok(refused, `a Service claiming ${claim} was created`);
  assert.match(describeApiError(refused), /external ?IPs/i, describeApiError(refused));
  const plain = await core.createNamespacedService({ namespace: ns, body: service('plain') });
  assert.equal(plain.metadata?.name, 'plain');
});
