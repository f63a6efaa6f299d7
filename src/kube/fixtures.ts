import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as k8s from '../vendor/kubernetes-client.js';
import yaml from 'js-yaml';
import { GraderError, LabError } from '../errors.js';
import type { Fixture } from '../lab/types.js';
import { describeApiError, graderFault } from './client.js';
import { podState } from './pods.js';
import { podReady, podServing } from './readiness.js';

/** The objects of a fixture's manifest; a manifest that does not parse is the lab's fault. */
export async function fixtureObjects(labDir: string, fixture: Fixture): Promise<k8s.KubernetesObject[]> {
  const file = path.join(labDir, fixture.manifest);
  let docs: unknown[];
  try {
    docs = yaml.loadAll(await readFile(file, 'utf8'), undefined, { filename: file });
  } catch (err) {
    throw new LabError(`fixture ${fixture.name}: ${file}: ${(err as Error).message}`, { cause: err });
  }
  const objects = docs.filter((d): d is k8s.KubernetesObject => d !== null && typeof d === 'object');
  for (const o of objects) {
    if (!o.kind || !o.metadata?.name)
      throw new LabError(`fixture ${fixture.name}: ${file}: every object needs a kind and metadata.name`);
  }
  return objects;
}

/**
 * Starts a fixture in the namespace with the grader's rights and waits until its pods are
 * Ready, its Deployments available and its Services' EndpointSlices list those pods.
 * Anything that goes wrong is the grader's error: the fixture is the lab's, not the student's.
 */
export async function startFixture(
  admin: k8s.KubeConfig,
  namespace: string,
  labDir: string,
  fixture: Fixture,
  timeoutMs: number,
): Promise<void> {
  const objects = await fixtureObjects(labDir, fixture);
  const client = k8s.KubernetesObjectApi.makeApiClient(admin);
  for (const o of objects) {
    try {
      await client.create({ ...o, metadata: { ...o.metadata, namespace } });
    } catch (err) {
      throw graderFault(err, `fixture ${fixture.name}: creating ${o.kind} ${o.metadata?.name ?? ''} in ${namespace}`);
    }
  }
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const apps = admin.makeApiClient(k8s.AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    const pending: string[] = [];
    for (const o of objects) {
      const name = o.metadata?.name ?? '';
      if (o.kind === 'Pod') {
        const pod = await core.readNamespacedPod({ name, namespace }).catch(() => undefined);
        if (!pod || !podReady(pod)) pending.push(`pod ${name}: ${podState(pod)}`);
      } else if (o.kind === 'Deployment') {
        const d = await apps.readNamespacedDeployment({ name, namespace }).catch(() => undefined);
        const want = d?.spec?.replicas ?? 1;
        if ((d?.status?.availableReplicas ?? 0) < want)
          pending.push(`deployment ${name}: ${d?.status?.availableReplicas ?? 0}/${want} available`);
      }
    }
    if (pending.length === 0)
      pending.push(
        ...(await servicesBehind(admin, namespace, objects).catch((err: unknown) => [
          `reading the services: ${describeApiError(err)}`,
        ])),
      );
    if (pending.length === 0) return;
    seen = pending.join('; ');
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new GraderError(
    `fixture ${fixture.name} did not come up within ${Math.round(timeoutMs / 1000)} s in ${namespace}; last seen: ${seen}`,
  );
}

/** The ready addresses a Service's EndpointSlices list, with or without ports (a headless Service may have none). */
async function readyAddresses(admin: k8s.KubeConfig, namespace: string, service: string): Promise<Set<string>> {
  const slices = await admin
    .makeApiClient(k8s.DiscoveryV1Api)
    .listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  return new Set(
    slices.items.flatMap((sl) =>
      (sl.endpoints ?? []).filter((e) => e.conditions?.ready ?? false).flatMap((e) => e.addresses),
    ),
  );
}

/**
 * What keeps the fixture's Services from reaching its Ready pods: a pod the
 * selector picks that the EndpointSlices do not list yet. Until they do, CoreDNS
 * does not resolve a headless Service to it, and kube-proxy does not send to it.
 */
async function servicesBehind(
  admin: k8s.KubeConfig,
  namespace: string,
  objects: k8s.KubernetesObject[],
): Promise<string[]> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const behind: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'Service')) {
    const name = o.metadata?.name ?? '';
    const selector = (o as k8s.V1Service).spec?.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const labelSelector = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items.filter(
      (p) => podServing(p) && p.status?.podIP,
    );
    const listed = await readyAddresses(admin, namespace, name);
    const missing = pods.filter((p) => !listed.has(p.status?.podIP ?? ''));
    if (pods.length === 0) behind.push(`service ${name}: no Ready pod matches ${labelSelector}`);
    else if (missing.length)
      behind.push(
        `service ${name}: its EndpointSlices do not list ${missing.map((p) => `${p.metadata?.name ?? '?'} (${p.status?.podIP ?? ''})`).join(', ')} yet`,
      );
  }
  return behind;
}
