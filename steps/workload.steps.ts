/**
 * Steps about the submission's workloads: a controller's pods, a Service in
 * front of them, a pod's environment from a ConfigMap and a Secret, a pod's
 * volume; and the grader's own pods that look at them from inside the cluster.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as k8s from '../src/vendor/kubernetes-client.js';
import { Given, Then, When } from '@cucumber/cucumber';
import { fail, LabError } from '../src/errors.js';
import { shellQuote } from '../src/node.js';
import { parseManifest } from '../src/kube/apply.js';
import { expectedHostname } from '../src/kube/http-answers.js';
import { envVerdict, freshValue, waitForLogToShow, type EnvSource } from '../src/kube/pod-env.js';
import { claimMountProblem, claimOnDefaultClass } from '../src/kube/pod-storage.js';
import { podsAnswerWithTheirNames, serviceFront, serviceSpreads } from '../src/kube/service-spread.js';
import { waitForPod } from '../src/kube/pods.js';
import {
  controllerPods,
  deletePod,
  isGraderPod,
  labelsText,
  recreatePod,
  requireController,
  respawnBody,
  scaleController,
  waitForReadyPods,
} from '../src/kube/workload.js';
import { runInPod } from './pod-exec.js';
import type { KgradeWorld } from './world.js';
import { containerHasRun, podReady } from '../src/kube/readiness.js';

// ---------------------------------------------------------------- the grader's own pods

When("the grader's pod {string} is deleted and created again", async function (this: KgradeWorld, name: string) {
  const ns = await this.namespace();
  const before = await this.submissionPod(name);
  if (!isGraderPod(before))
    throw new LabError(
      `pod ${name} is not one the grader started; a submission's pod is created again from its manifest`,
    );
  const uid = await recreatePod(
    this.admin(),
    this.admin(),
    ns.name,
    respawnBody(before),
    this.timeouts.wait * 1000,
    'its own spec',
  );
  this.note(
    `pod ${name} (uid ${before.metadata?.uid ?? '?'}) was deleted and created again from the same spec (uid ${uid})`,
  );
});

// ---------------------------------------------------------------- a controller and its pods

Then(
  'controller {string} has {int} Ready pods within {int} seconds',
  async function (this: KgradeWorld, name: string, count: number, seconds: number) {
    const ns = await this.namespace();
    const { controller, pods } = await waitForReadyPods(this.admin(), ns.name, name, {
      count,
      timeoutMs: seconds * 1000,
    });
    this.note(
      `${controller.kind} ${name} (selector ${controller.selector}): ${pods.map((p) => p.metadata?.name ?? '?').join(', ')} Ready`,
    );
  },
);

Then(
  'the pods of controller {string} are all Ready within {int} seconds',
  async function (this: KgradeWorld, name: string, seconds: number) {
    const ns = await this.namespace();
    const { controller, pods } = await waitForReadyPods(this.admin(), ns.name, name, {
      count: 'desired',
      timeoutMs: seconds * 1000,
    });
    this.note(
      `${controller.kind} ${name} (selector ${controller.selector}, ${controller.replicas} replicas): ${pods.map((p) => p.metadata?.name ?? '?').join(', ')} Ready`,
    );
  },
);

async function readyPodsOf(world: KgradeWorld, name: string): Promise<k8s.V1Pod[]> {
  const ns = await world.namespace();
  const c = await requireController(world.admin(), ns.name, name);
  const pods = (await controllerPods(world.admin(), ns.name, c)).filter(podReady);
  if (pods.length === 0) fail(`${c.kind} ${name} has no Ready pod (selector ${c.selector})`);
  return pods;
}

Then('each pod of controller {string} has its pod name as hostname', async function (this: KgradeWorld, name: string) {
  const pods = await readyPodsOf(this, name);
  const problems: string[] = [];
  const seen: string[] = [];
  for (const p of pods) {
    const pod = p.metadata?.name ?? '';
    // the student's pod, its PATH and its shell: a hostname that hangs there is the student's
    const r = await runInPod(this, pod, ['sh', '-c', 'hostname 2>/dev/null || cat /proc/sys/kernel/hostname'], {
      what: 'hostname',
      hang: 'result',
    });
    const got = r.stdout.trim();
    if (r.timedOut || r.code !== 0)
      problems.push(`hostname in pod ${pod} did not run: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    else if (got !== expectedHostname(p)) problems.push(`pod ${pod}'s hostname is "${got}"`);
    else seen.push(`${pod}: ${got}`);
  }
  if (seen.length) this.note(`hostname in each pod: ${seen.join('; ')}`);
  if (problems.length)
    fail(`${problems.join('; ')}; each pod's hostname should be its own name (leave spec.hostname unset)`);
});

Then(
  "from the grader's pod {string}, each pod of controller {string} answers on port {int} with its own name",
  async function (this: KgradeWorld, client: string, name: string, port: number) {
    const ns = await this.namespace();
    const seen = await podsAnswerWithTheirNames(
      this.admin(),
      ns.name,
      client,
      await readyPodsOf(this, name),
      port,
      this.timeouts.wait * 1000,
    );
    this.note(`answers on port ${port}: ${seen}`);
  },
);

Then(
  "from the grader's pod {string}, {int} requests to service {string} on port {int} reach at least {int} different pods",
  async function (this: KgradeWorld, client: string, requests: number, service: string, port: number, atLeast: number) {
    const ns = await this.namespace();
    const svc = await serviceFront(this.admin(), ns.name, service, port);
    this.note(
      `Service ${service}: ${svc.ip}:${port} -> target port ${svc.targetPort}, selector ${labelsText(svc.selector)}`,
    );
    this.note(await serviceSpreads(this.admin(), ns.name, client, svc, requests, atLeast, this.timeouts.wait * 1000));
  },
);

When('a Ready pod of controller {string} is deleted', async function (this: KgradeWorld, name: string) {
  const ns = await this.namespace();
  const pod = (await readyPodsOf(this, name))[0]?.metadata?.name ?? '';
  await deletePod(this.admin(), ns.name, pod);
  this.vars.set('deleted-pod', pod);
  this.note(`deleted pod ${pod}`);
});

When(
  'the grader scales controller {string} to {int} replicas',
  async function (this: KgradeWorld, name: string, replicas: number) {
    const ns = await this.namespace();
    const c = await requireController(this.admin(), ns.name, name);
    await scaleController(this.admin(), ns.name, c, replicas);
    this.note(`scaled ${c.kind} ${name} to ${replicas} through its scale subresource`);
  },
);

// ---------------------------------------------------------------- environment from a ConfigMap and a Secret

function source(kind: EnvSource['kind'], name: string, key: string): EnvSource {
  return { kind, name, key };
}

async function setFresh(world: KgradeWorld, src: EnvSource): Promise<void> {
  const ns = await world.namespace();
  const value = await freshValue(world.admin(), ns.name, src);
  world.vars.set(`${src.name}.${src.key}`, value);
  world.note(`${src.kind} ${src.name} key ${src.key} holds "${value}" for this scenario`);
}

Given(
  'ConfigMap {string} key {string} is set to a fresh value',
  async function (this: KgradeWorld, name: string, key: string) {
    await setFresh(this, source('ConfigMap', name, key));
  },
);

Given(
  'Secret {string} key {string} is set to a fresh value',
  async function (this: KgradeWorld, name: string, key: string) {
    await setFresh(this, source('Secret', name, key));
  },
);

async function takesEnv(world: KgradeWorld, pod: string, env: string, src: EnvSource): Promise<void> {
  const p = await world.submissionPod(pod);
  const v = envVerdict(p, env, src);
  if (!v.ok) fail(`pod ${pod}: ${v.why}`);
  world.note(`pod ${pod}: ${v.how}`);
}

Then(
  'pod {string} takes env {string} from key {string} of ConfigMap {string}',
  async function (this: KgradeWorld, pod: string, env: string, key: string, name: string) {
    await takesEnv(this, pod, env, source('ConfigMap', name, key));
  },
);

Then(
  'pod {string} takes env {string} from key {string} of Secret {string}',
  async function (this: KgradeWorld, pod: string, env: string, key: string, name: string) {
    await takesEnv(this, pod, env, source('Secret', name, key));
  },
);

Then(
  'pod {string} has started within {int} seconds',
  async function (this: KgradeWorld, name: string, seconds: number) {
    const ns = await this.namespace();
    await waitForPod(this.admin(), ns.name, name, {
      what: 'to start its container',
      timeoutMs: seconds * 1000,
      until: containerHasRun,
      // a key or an object the pod names does not exist: the kubelet will not start it
      hopeless: (p) =>
        (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CreateContainerConfigError'),
    });
  },
);

Then(
  'the log of pod {string} eventually shows {string} set to {string}',
  async function (this: KgradeWorld, name: string, env: string, valueText: string) {
    const ns = await this.namespace();
    const value = this.expand(valueText);
    const { log, line } = await waitForLogToShow(this.admin(), ns.name, name, env, value, this.timeouts.wait * 1000);
    this.last = { what: `the log of pod ${name}`, code: 0, stdout: log, stderr: '', timedOut: false };
    this.note(`pod ${name} printed ${line}`);
  },
);

// ---------------------------------------------------------------- a pod's volume

Then(
  'pod {string} mounts PersistentVolumeClaim {string} at {string}',
  async function (this: KgradeWorld, name: string, claim: string, at: string) {
    const p = await this.submissionPod(name);
    const problem = claimMountProblem(p, claim, at);
    if (problem) fail(problem);
    this.note(`pod ${name} mounts PersistentVolumeClaim ${claim} at ${at}`);
  },
);

Then(
  "PersistentVolumeClaim {string} is Bound on the cluster's default StorageClass",
  async function (this: KgradeWorld, name: string) {
    const ns = await this.namespace();
    this.note(await claimOnDefaultClass(this.admin(), ns.name, name, this.timeouts.wait * 1000));
  },
);

When(
  'pod {string} writes a fresh marker into {string}',
  async function (this: KgradeWorld, name: string, file: string) {
    const target = this.expand(file);
    const marker = `kgrade-marker-${randomBytes(6).toString('hex')}`;
    const r = await runInPod(
      this,
      name,
      ['sh', '-c', `echo ${marker} > ${shellQuote(target)} && cat ${shellQuote(target)}`],
      // the student's pod and volume: a write that hangs there is the student's
      { what: `writing ${target}`, hang: 'result' },
    );
    if (r.timedOut || r.code !== 0 || r.stdout.trim() !== marker)
      fail(`writing ${target} in pod ${name} failed: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
    this.vars.set('marker', marker);
    this.note(
      `pod ${name} (uid ${(await this.submissionPod(name)).metadata?.uid ?? '?'}) wrote ${marker} into ${target}`,
    );
  },
);

When(
  "pod {string} is deleted and created again from the submission's {string}",
  async function (this: KgradeWorld, name: string, file: string) {
    if (this.parameters.missingFiles.includes(file)) fail(`the submission has no ${file}; the lab asks for it`);
    const ns = await this.namespace();
    const text = await readFile(path.join(this.parameters.submissionDir, file), 'utf8');
    const { objects } = parseManifest(file, text);
    const body = objects.find((o) => o.kind === 'Pod' && o.metadata?.name === name) as k8s.V1Pod | undefined;
    if (!body) throw new LabError(`${file} has no Pod ${name} to create again (the scenario applied it before)`);
    const uid = await recreatePod(
      this.admin(),
      ns.student,
      ns.name,
      body,
      this.timeouts.wait * 1000,
      `the submission's ${file}`,
    );
    this.note(`pod ${name} was deleted and created again from ${file}, with the submission's rights (uid ${uid})`);
  },
);
