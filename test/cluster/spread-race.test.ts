/**
 * The spread check against the kind cluster while it converges: a Deployment
 * is scaled from 1 to 3 replicas right as the check starts, so its first
 * rounds of requests all reach the one pod that is ready (the state that
 * used to fail a correct submission at once); the check keeps asking and
 * passes once the new pods are ready and kube-proxy sends to them. A Service
 * whose selector picks one pod still fails, with the reason.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { debugPodImage } from '../../src/config.js';
import { eventually } from '../../src/eventually.js';
import { SubmissionAssertionError } from '../../src/errors.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { startClientPod } from '../../src/kube/client-pod.js';
import { serviceEndpoints } from '../../src/kube/endpoints.js';
import { answered, namesIn, requestFromPod } from '../../src/kube/http-answers.js';
import { deleteNamespace } from '../../src/kube/namespace.js';
import { serviceFront, serviceSpreads, spreadOverPods } from '../../src/kube/service-spread.js';
import { judgeSpread } from '../../src/kube/spread-verdict.js';
import { requireController, scaleController, submissionPods, waitForReadyPods } from '../../src/kube/workload.js';

const WAIT_MS = 180_000;

// busybox httpd answering each request with the pod's hostname; a new pod turns
// Ready only 15 s after it starts, so the old pod answers alone for a while.
const SERVER = [
  'mkdir -p /www/cgi-bin',
  "cat > /www/cgi-bin/index.cgi <<'CGI'",
  '#!/bin/sh',
  "printf 'Content-Type: text/plain\\r\\n\\r\\n'",
  'hostname',
  'CGI',
  'chmod +x /www/cgi-bin/index.cgi',
  'exec httpd -f -p 8080 -h /www',
].join('\n');

function webDeployment(replicas: number): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'web',
              image: debugPodImage(),
              command: ['sh', '-c', SERVER],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/', port: 'http' }, initialDelaySeconds: 15, periodSeconds: 2 },
              resources: { requests: { cpu: '5m', memory: '4Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
            },
          ],
        },
      },
    },
  };
}

function webService(selector: Record<string, string>): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

async function scratchNamespace(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ kc: k8s.KubeConfig; ns: string }> {
  const kc = new KindProvider().kubeConfig();
  const ns = `kgrade-test-spread-${randomBytes(3).toString('hex')}`;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  t.after(() => deleteNamespace(kc, ns, 120_000));
  return { kc, ns };
}

test('scaled from 1 to 3 as the check starts: one pod answers at first, and the check passes once the cluster converges', {
  timeout: 600_000,
}, async (t) => {
  const { kc, ns } = await scratchNamespace(t);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await startClientPod(kc, ns, 'client', debugPodImage(), WAIT_MS);
  await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: webDeployment(1) });
  await core.createNamespacedService({ namespace: ns, body: webService({ app: 'web' }) });
  await waitForReadyPods(kc, ns, 'web', { count: 1, timeoutMs: WAIT_MS });
  const svc = await serviceFront(kc, ns, 'web', 80);
  // kube-proxy sends the Service to its one pod before the race begins.
  await eventually(
    async () => {
      const got = await requestFromPod(kc, ns, 'client', [`http://${svc.ip}/`, `http://${svc.ip}/`], 60_000);
      return { ok: got.every(answered), value: undefined, seen: JSON.stringify(got) };
    },
    { what: 'the Service web to answer from its one pod', timeoutMs: WAIT_MS, intervalMs: 1000, blame: 'grader' },
  );

  await scaleController(kc, ns, await requireController(kc, ns, 'web'), 3);
  // What the check sees first: every answer from the one Ready pod, while two more are on their way.
  const pods = await submissionPods(kc, ns);
  const hosts = pods.map((p) => p.metadata?.name ?? '');
  const first = await requestFromPod(
    kc,
    ns,
    'client',
    Array.from({ length: 30 }, () => `http://${svc.ip}/`),
    200_000,
  );
  const named = new Set(first.flatMap((a) => namesIn(a.body, hosts)));
  assert.equal(first.filter(answered).length, 30, JSON.stringify(first.slice(0, 3)));
  assert.equal(named.size, 1, `the first round should reach the one Ready pod only: ${[...named].join(', ')}`);
  const early = judgeSpread(
    {
      requests: 30,
      answered: 30,
      hits: new Map([[[...named][0] ?? '', 30]]),
      readyEndpoints: 1,
      selected: pods.length,
      settled: false,
    },
    2,
  );
  assert.equal(early.verdict, 'retry', 'all answers from one pod while pods are starting must not fail');

  const seen = await spreadOverPods(kc, ns, 'client', svc, 30, 2, WAIT_MS);
  const reached = [...seen.matchAll(/(web-[a-z0-9-]+) ×(\d+)/g)].map((m) => m[1]);
  assert.ok(new Set(reached).size >= 2, seen);
  t.diagnostic(`converged: ${seen}`);
});

test('a Service whose selector picks one pod fails, saying so, whether the endpoints or the requests see it first', {
  timeout: 600_000,
}, async (t) => {
  const { kc, ns } = await scratchNamespace(t);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await startClientPod(kc, ns, 'client', debugPodImage(), WAIT_MS);
  await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: webDeployment(3) });
  await waitForReadyPods(kc, ns, 'web', { count: 3, timeoutMs: WAIT_MS });
  const one = (await submissionPods(kc, ns))[0]?.metadata?.name ?? '';
  await core.patchNamespacedPod(
    { name: one, namespace: ns, body: [{ op: 'add', path: '/metadata/labels/solo', value: 'yes' }] },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );
  await core.createNamespacedService({ namespace: ns, body: webService({ solo: 'yes' }) });
  const svc = await serviceFront(kc, ns, 'web', 80);

  await assert.rejects(serviceSpreads(kc, ns, 'client', svc, 30, 2, WAIT_MS), (err: unknown) => {
    assert.ok(err instanceof SubmissionAssertionError, String(err));
    assert.match(
      err.message,
      new RegExp(`Service web must send requests to at least 2 pods, but its selector solo=yes matches ${one}`),
    );
    return true;
  });
  // The requests' own verdict once the EndpointSlice lists the one pod: the selector picks one pod, nothing is starting.
  await eventually(
    async () => {
      const ready = (await serviceEndpoints(kc, ns, 'web')).filter((e) => e.ready);
      return { ok: ready.length === 1, value: undefined, seen: `${ready.length} ready endpoints` };
    },
    { what: 'the EndpointSlice of web to list its one pod', timeoutMs: WAIT_MS, blame: 'grader' },
  );
  await assert.rejects(spreadOverPods(kc, ns, 'client', svc, 30, 2, WAIT_MS), (err: unknown) => {
    assert.ok(err instanceof SubmissionAssertionError, String(err));
    assert.match(
      err.message,
      /cannot reach 2 different pods: the Service's selector picks 1 pod and no controller is making more/,
    );
    assert.match(err.message, /ready endpoints: [\d.]+:8080 \(web-/);
    return true;
  });
});
