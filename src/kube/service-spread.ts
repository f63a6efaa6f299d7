import * as k8s from '../vendor/kubernetes-client.js';
import { fail, GraderError } from '../errors.js';
import { eventually } from '../eventually.js';
import { api, graderFault, httpStatus } from './client.js';
import { serviceEndpoints, type Endpoint } from './endpoints.js';
import { answered, describeAnswer, expectedHostname, namesIn, requestFromPod } from './http-answers.js';
import { judgeSpread } from './spread-verdict.js';
import { labelsText, matchesSelector, submissionPods, workloadsSettled } from './workload.js';

/** Where a Service listens: its cluster IP and one of its ports. */
export interface ServiceFront {
  name: string;
  ip: string;
  port: number;
  targetPort: string;
  selector: Record<string, string> | undefined;
}

/** The Service's cluster IP and the port asked for; a missing Service or port is the student's failure. */
export async function serviceFront(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  port: number,
): Promise<ServiceFront> {
  let svc: k8s.V1Service;
  try {
    svc = await api(kc, `reading service ${name}`, () =>
      kc.makeApiClient(k8s.CoreV1Api).readNamespacedService({ name, namespace }),
    );
  } catch (err) {
    if (httpStatus(err) === 404) fail(`there is no Service ${name}`);
    throw graderFault(err, `reading service ${name}`);
  }
  const ports = svc.spec?.ports ?? [];
  const p = ports.find((x) => x.port === port);
  if (!p)
    fail(
      `Service ${name} has ports ${ports.map((x) => `${x.port}${x.targetPort !== undefined ? `->${String(x.targetPort)}` : ''}`).join(', ') || 'none'}; it must listen on port ${port}`,
    );
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === 'None') fail(`Service ${name} has no cluster IP (headless): it cannot spread requests itself`);
  return { name, ip, port, targetPort: String(p.targetPort ?? port), selector: svc.spec?.selector };
}

/**
 * Waits until the Service has ready endpoints on `atLeast` pods. When every
 * pod is up and no controller is making more, and the selector still picks
 * too few, waiting will not help: that fails at once, naming the labels.
 */
export async function waitForEndpoints(
  kc: k8s.KubeConfig,
  namespace: string,
  svc: ServiceFront,
  atLeast: number,
  timeoutMs: number,
): Promise<void> {
  await eventually(
    async () => {
      const eps = (await serviceEndpoints(kc, namespace, svc.name)).filter((e) => e.ready);
      const ips = new Set(eps.map((e) => e.ip));
      if (ips.size >= atLeast) return { ok: true, value: undefined, seen: '' };
      const pods = await submissionPods(kc, namespace);
      const chosen = svc.selector ? pods.filter((x) => matchesSelector(svc.selector ?? {}, x.metadata?.labels)) : [];
      const carry = [...new Set(pods.map((x) => labelsText(x.metadata?.labels)))].join('; ') || 'no pods at all';
      const picks = svc.selector
        ? `selector ${labelsText(svc.selector)} matches ${chosen.length ? chosen.map((x) => x.metadata?.name).join(', ') : 'no pod'}`
        : 'it has no selector';
      if (chosen.length < atLeast && (await workloadsSettled(kc, namespace))) {
        fail(
          `Service ${svc.name} must send requests to at least ${atLeast} pods, but its ${picks} (the pods carry: ${carry})`,
        );
      }
      const endpoints = ips.size
        ? `ready endpoints ${eps.map((e) => `${e.ip}:${e.port} (${e.pod})`).join(', ')}`
        : 'no ready endpoints';
      return { ok: false, value: undefined, seen: `${endpoints}; ${picks} (the pods carry: ${carry})` };
    },
    { what: `Service ${svc.name} to have ${atLeast} ready endpoints`, timeoutMs, intervalMs: 1000 },
  );
}

/** Distinct pods (by address) with a ready endpoint in the Service's EndpointSlices. */
function readyEndpointPods(eps: Endpoint[]): number {
  return new Set(eps.filter((e) => e.ready).map((e) => e.ip)).size;
}

/**
 * Sends `requests` requests to the Service from the grader's client pod and
 * tells the pods apart by the names in their answers. Fewer pods than asked
 * for is tried again until the deadline (kube-proxy may not have written the
 * new endpoints' rules yet), unless waiting cannot help: the selector picks
 * too few pods and nothing is starting, or every answer came without a pod's
 * name. Returns what was seen, for the report; a missed deadline reports the
 * last round's answers, endpoints and why it was not enough.
 */
export async function spreadOverPods(
  kc: k8s.KubeConfig,
  namespace: string,
  client: string,
  svc: ServiceFront,
  requests: number,
  atLeast: number,
  timeoutMs: number,
): Promise<string> {
  const url = `http://${svc.ip}:${svc.port}/`;
  const deadline = Date.now() + timeoutMs;
  return eventually(
    async () => {
      const budget = Math.max(1, (deadline - Date.now()) / 1000);
      const got = await requestFromPod(
        kc,
        namespace,
        client,
        Array.from({ length: requests }, () => url),
        (budget + 30) * 1000,
        budget,
      );
      // Read after the requests: a pod that answered is known by then, even one that started during the round.
      const [pods, eps, settled] = await Promise.all([
        submissionPods(kc, namespace),
        serviceEndpoints(kc, namespace, svc.name),
        workloadsSettled(kc, namespace),
      ]);
      const hostToPod = new Map(pods.map((x) => [expectedHostname(x), x.metadata?.name ?? '']));
      const hosts = [...hostToPod.keys()];
      const hits = new Map<string, number>();
      for (const a of got) {
        for (const h of namesIn(a.body, hosts)) {
          const pod = hostToPod.get(h) ?? h;
          hits.set(pod, (hits.get(pod) ?? 0) + 1);
        }
      }
      const ok = got.filter(answered).length;
      const selected = svc.selector
        ? pods.filter((x) => matchesSelector(svc.selector ?? {}, x.metadata?.labels)).length
        : 0;
      const verdict = judgeSpread(
        { requests, answered: ok, hits, readyEndpoints: readyEndpointPods(eps), selected, settled },
        atLeast,
      );
      const nameless = [
        ...new Set(got.filter((a) => answered(a) && namesIn(a.body, hosts).length === 0).map(describeAnswer)),
      ].slice(0, 3);
      const failed = [...new Set(got.filter((a) => !answered(a)).map(describeAnswer))].slice(0, 3);
      const ready = eps.filter((e) => e.ready);
      const seen =
        `${ok} of ${requests} requests to ${url} answered; pods named in the answers: ${[...hits].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}` +
        `${nameless.length ? `; answers naming no pod: ${nameless.join(', ')}` : ''}${failed.length ? `; failures: ${failed.join(', ')}` : ''}` +
        `; ready endpoints: ${ready.map((e) => `${e.ip}:${e.port} (${e.pod || '?'})`).join(', ') || 'none'}`;
      if (verdict.verdict === 'fail')
        fail(`${requests} requests to ${svc.name} cannot reach ${atLeast} different pods: ${verdict.why}; ${seen}`);
      return {
        ok: verdict.verdict === 'pass',
        value: seen,
        seen: verdict.verdict === 'retry' ? `${verdict.why}; ${seen}` : seen,
      };
    },
    { what: `${requests} requests to ${svc.name} to reach ${atLeast} different pods`, timeoutMs, intervalMs: 2000 },
  );
}

/**
 * The Service's endpoints, then its spread, under one deadline: endpoints on
 * `atLeast` pods first (no request is sent before), then requests until they
 * reach that many pods. Returns what the requests saw.
 */
export async function serviceSpreads(
  kc: k8s.KubeConfig,
  namespace: string,
  client: string,
  svc: ServiceFront,
  requests: number,
  atLeast: number,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  await waitForEndpoints(kc, namespace, svc, atLeast, timeoutMs);
  return spreadOverPods(kc, namespace, client, svc, requests, atLeast, Math.max(1000, deadline - Date.now()));
}

/**
 * Asks each pod on `port`, from the grader's client pod, and expects its own
 * name (its hostname) in the answer. Pods that do not answer yet are asked
 * again until the deadline; once all answered, what they said is final.
 */
export async function podsAnswerWithTheirNames(
  kc: k8s.KubeConfig,
  namespace: string,
  client: string,
  pods: k8s.V1Pod[],
  port: number,
  timeoutMs: number,
): Promise<string> {
  const targets = pods.map((p) => ({
    pod: p.metadata?.name ?? '',
    host: expectedHostname(p),
    url: `http://${p.status?.podIP ?? ''}:${port}/`,
  }));
  const noIp = targets.filter((t) => t.url.startsWith('http://:'));
  if (noIp.length) throw new GraderError(`Ready pods without an IP: ${noIp.map((t) => t.pod).join(', ')}`);
  return eventually(
    async () => {
      const got = await requestFromPod(
        kc,
        namespace,
        client,
        targets.map((t) => t.url),
        (targets.length * 6 + 15) * 1000,
      );
      const rows = targets.map((t, i) => ({
        ...t,
        answer: got[i] ?? { url: t.url, code: -1, body: '', error: 'no result' },
      }));
      const good = rows.filter((r) => answered(r.answer) && namesIn(r.answer.body, [r.host]).length > 0);
      const seen = rows.map((r) => `${r.pod} (${r.url}): ${describeAnswer(r.answer)}`).join('; ');
      if (good.length < rows.length && rows.every((r) => answered(r.answer))) {
        fail(`each pod must answer with its own name (its hostname); the answers were: ${seen}`);
      }
      return { ok: good.length === rows.length, value: seen, seen };
    },
    { what: `every pod to answer on port ${port} with its own name`, timeoutMs, intervalMs: 2000 },
  );
}
