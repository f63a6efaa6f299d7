import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as k8s from '../src/vendor/kubernetes-client.js';
import { Given, Then, When } from '@cucumber/cucumber';
import { fail, GraderError } from '../src/errors.js';
import { eventually } from '../src/eventually.js';
import { api, graderApi } from '../src/kube/client.js';
import { applyManifest } from '../src/kube/apply.js';
import { serviceEndpoints } from '../src/kube/endpoints.js';
import { jsonPathText } from '../src/kube/jsonpath.js';
import { podLogs, podState, waitForPod } from '../src/kube/pods.js';
import { sh } from '../src/node.js';
import { steps } from './i18n.js';
import { runInPod } from './pod-exec.js';
import type { KgradeWorld } from './world.js';
import { podEnded, podReady, podStarted, RUNNING_SETTLE_MS, waitForSteadyPod } from '../src/kube/readiness.js';

/** Kinds that make pods of their own, under names the manifest does not spell. */
const POD_MAKERS = new Set([
  'ReplicationController',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
]);

/** When the submission's manifests can never make pod `name`, says so at once instead of waiting. */
function expectPodFromManifests(world: KgradeWorld, name: string): void {
  if (world.applied.length === 0) return;
  if (world.applied.some((a) => (a.kind === 'Pod' && a.name === name) || POD_MAKERS.has(a.kind))) return;
  fail(
    `no pod ${name} can appear: the submission's manifests created ${world.applied.map((a) => `${a.kind} ${a.name}`).join(', ')}, and none of them is Pod ${name}`,
  );
}

steps(
  When,
  ["the submission's {string} is applied", '제출물의 {string}을\\(를) 적용한다'],
  async function (this: KgradeWorld, file: string) {
    if (this.parameters.missingFiles.includes(file)) fail(`the submission has no ${file}; the lab asks for it`);
    const ns = await this.namespace();
    const text = await readFile(path.join(this.parameters.submissionDir, file), 'utf8');
    const { applied, notes } = await applyManifest(ns, file, text);
    this.applied.push(...applied);
    for (const n of notes) this.note(n);
    this.note(`${file}: created ${applied.map((a) => `${a.kind} ${a.name}`).join(', ')} in namespace ${ns.name}`);
  },
);

steps(
  Then,
  ['pod {string} is Running within {int} seconds', '파드 {string}이\\(가) {int}초 안에 Running 상태가 된다'],
  async function (this: KgradeWorld, name: string, seconds: number) {
    expectPodFromManifests(this, name);
    const ns = await this.namespace();
    await waitForSteadyPod(this.admin(), ns.name, name, {
      state: 'running',
      timeoutMs: seconds * 1000,
      settleMs: RUNNING_SETTLE_MS,
    });
  },
);

steps(
  Then,
  ['pod {string} is Ready within {int} seconds', '파드 {string}이\\(가) {int}초 안에 Ready 상태가 된다'],
  async function (this: KgradeWorld, name: string, seconds: number) {
    expectPodFromManifests(this, name);
    const ns = await this.namespace();
    await waitForPod(this.admin(), ns.name, name, {
      what: 'to be Ready',
      timeoutMs: seconds * 1000,
      until: podReady,
      hopeless: podEnded,
    });
  },
);

Then(
  'pod {string} field {string} is {string}',
  async function (this: KgradeWorld, name: string, jsonPath: string, value: string) {
    const pod = await this.submissionPod(name);
    const seen = jsonPathText(pod, jsonPath);
    const want = this.expand(value);
    if (seen !== want) fail(`pod ${name}: ${jsonPath} is "${seen}", expected "${want}"`);
  },
);

steps(
  When,
  ['pod {string} runs {string}', '파드 {string}에서 {string}을\\(를) 실행한다'],
  async function (this: KgradeWorld, name: string, command: string) {
    const cmd = this.expand(command);
    const r = await runInPod(this, name, ['sh', '-c', cmd], { hang: 'result' });
    this.last = {
      what: `${cmd} (in pod ${name})`,
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      timedOut: r.timedOut,
    };
  },
);

When('the node of pod {string} runs {string}', async function (this: KgradeWorld, name: string, command: string) {
  const pod = await this.submissionPod(name);
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) fail(`pod ${name} is not on any node yet (${podState(pod)})`);
  const node = await this.clusterNode(nodeName);
  const cmd = this.expand(command);
  const r = await sh(node, cmd, { timeoutMs: this.timeouts.command * 1000 });
  this.last = {
    what: `${cmd} (on node ${nodeName})`,
    code: r.code,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.timedOut,
  };
});

steps(
  Then,
  ['the log of pod {string} eventually contains {string}', '파드 {string}의 로그에 곧 {string}이\\(가) 나온다'],
  async function (this: KgradeWorld, name: string, text: string) {
    const ns = await this.namespace();
    const want = this.expand(text);
    await eventually(
      async () => {
        const log = await podLogs(this.admin(), ns.name, name);
        this.last = { what: `the log of pod ${name}`, code: 0, stdout: log, stderr: '', timedOut: false };
        return {
          ok: log.includes(want),
          value: log,
          seen: log.trim() ? log.trim().split('\n').slice(-5).join(' | ') : 'an empty log',
        };
      },
      { what: `the log of pod ${name} to contain "${want}"`, timeoutMs: this.timeouts.wait * 1000, intervalMs: 1000 },
    );
  },
);

Given(
  'the cluster IP of service {string} in namespace {string}',
  async function (this: KgradeWorld, name: string, namespace: string) {
    const svc = await graderApi(this.admin(), `reading service ${namespace}/${name}`, () =>
      this.admin().makeApiClient(k8s.CoreV1Api).readNamespacedService({ name, namespace }),
    );
    const ip = svc.spec?.clusterIP;
    if (!ip) throw new GraderError(`service ${namespace}/${name} has no cluster IP`);
    this.vars.set(`${name}.clusterIP`, ip);
  },
);

// A pod of the namespace may be on its way back (CoreDNS restarted when its Corefile changed): wait for it.
Then('every pod in namespace {string} is Running', async function (this: KgradeWorld, namespace: string) {
  const names = await eventually(
    async () => {
      const pods = await api(this.admin(), `listing pods in ${namespace}`, () =>
        this.admin().makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace }),
      );
      const bad = pods.items.filter((p) => !podStarted(p));
      const seen =
        pods.items.length === 0
          ? `namespace ${namespace} has no pods`
          : `not Running: ${bad.map((p) => `${p.metadata?.name ?? '?'} (${podState(p)})`).join('; ')}`;
      return {
        ok: pods.items.length > 0 && bad.length === 0,
        value: pods.items.map((p) => p.metadata?.name ?? '?'),
        seen,
      };
    },
    {
      what: `every pod in namespace ${namespace} to be Running`,
      timeoutMs: this.timeouts.wait * 1000,
      intervalMs: 1000,
    },
  );
  this.note(`${namespace}: ${names.join(', ')}`);
});

Given(
  'the endpoints of service {string} in namespace {string}',
  async function (this: KgradeWorld, name: string, namespace: string) {
    const eps = await eventually(
      async () => {
        const ready = (await serviceEndpoints(this.admin(), namespace, name)).filter((e) => e.ready);
        return { ok: ready.length > 0, value: ready, seen: 'no ready endpoints' };
      },
      {
        what: `service ${namespace}/${name} to have ready endpoints`,
        timeoutMs: this.timeouts.wait * 1000,
        intervalMs: 1000,
        blame: 'grader',
      },
    );
    this.vars.set(`${name}.endpoints`, [...new Set(eps.map((e) => e.ip))].join(' '));
    this.vars.set(`${name}.endpointPorts`, [...new Set(eps.map((e) => `${e.ip}:${e.port}`))].join(' '));
    this.note(
      `${namespace}/${name} endpoints: ${eps.map((e) => `${e.ip}:${e.port}${e.portName ? ` (${e.portName})` : ''} ${e.pod}`).join(', ')}`,
    );
  },
);

Then(
  'pod {string} has condition {string} within {int} seconds',
  async function (this: KgradeWorld, name: string, condition: string, seconds: number) {
    const ns = await this.namespace();
    await waitForPod(this.admin(), ns.name, name, {
      what: `to have condition ${condition}`,
      timeoutMs: seconds * 1000,
      until: (p) => p.status?.conditions?.some((c) => c.type === condition && c.status === 'True') ?? false,
    });
  },
);

steps(
  Given,
  ['the cluster IP of service {string}', '서비스 {string}의 클러스터 IP를 읽어 둔다'],
  async function (this: KgradeWorld, name: string) {
    const ns = await this.namespace();
    const svc = await graderApi(this.admin(), `reading service ${ns.name}/${name}`, () =>
      this.admin().makeApiClient(k8s.CoreV1Api).readNamespacedService({ name, namespace: ns.name }),
    );
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') throw new GraderError(`service ${ns.name}/${name} has no cluster IP`);
    this.vars.set(`${name}.clusterIP`, ip);
  },
);
