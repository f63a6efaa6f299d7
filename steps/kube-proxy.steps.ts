import * as k8s from '../src/vendor/kubernetes-client.js';
import { After, Then, When } from '@cucumber/cucumber';
import { eventually } from '../src/eventually.js';
import { GraderError } from '../src/errors.js';
import { graderApi } from '../src/kube/client.js';
import { listNodes } from '../src/kube/control-plane.js';
import {
  compareTargets,
  describeSpread,
  kubeProxyMode,
  nftInKubeProxyPod,
  readServiceRouting,
  readyEndpoints,
  spreadProblems,
  type ReadyEndpoint,
} from '../src/kube/kube-proxy.js';
import { nslookupAnswers } from '../src/check/listing.js';
import { deleteOneReplica, waitForFullStrength, type DeletedReplica } from '../src/kube/replicas.js';
import { runInPod } from './pod-exec.js';
import type { KgradeWorld } from './world.js';

interface NodeRouting {
  node: string;
  ok: boolean;
  line: string;
}

/** Reads every node's rules for the service port and compares them with the endpoints. */
async function routingOnEveryNode(
  world: KgradeWorld,
  servicePort: string,
  endpoints: ReadyEndpoint[],
): Promise<NodeRouting[]> {
  const nodes = await listNodes(world.admin());
  if (nodes.length === 0) throw new GraderError('the cluster has no nodes');
  const out: NodeRouting[] = [];
  for (const n of nodes) {
    const node = await world.clusterNode(n.metadata?.name ?? '');
    const timeoutMs = world.timeouts.command * 1000;
    const { routing, variant, seen } = await readServiceRouting(
      node,
      servicePort,
      timeoutMs,
      nftInKubeProxyPod(world.admin(), node.name, timeoutMs),
    );
    if (!routing) {
      const mode = await kubeProxyMode(world.admin());
      out.push({
        node: node.name,
        ok: false,
        line: `${node.name}: no rules for ${servicePort} in iptables or nftables (${seen.join('; ') || 'no iptables-save and no nft on the node'}); kube-proxy's configured mode: ${mode ?? 'unknown'}`,
      });
      continue;
    }
    const cmp = compareTargets(routing.targets, endpoints);
    const spread = spreadProblems(routing);
    const targets = routing.targets.map((t) => `${t.chain} DNAT to ${t.ip}:${t.port}`).join(', ') || 'none';
    const diff = [
      cmp.missing.length ? `missing ${cmp.missing.join(', ')}` : '',
      cmp.extra.length ? `extra ${cmp.extra.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    out.push({
      node: node.name,
      ok: cmp.same && spread.length === 0,
      line: `${node.name} (${variant}): ${routing.foundBy}; ${describeSpread(routing)}; ${targets}${diff ? `; against the endpoints: ${diff}` : ''}${spread.length ? `; ${spread.join('; ')}` : ''}`,
    });
  }
  return out;
}

function describeEndpoints(eps: ReadyEndpoint[]): string {
  return eps.map((e) => `${e.ip}:${e.port}${e.pod ? ` (${e.pod})` : ''}`).join(', ') || 'none';
}

Then(
  'kube-proxy on every node sends port {string} of service {string} in namespace {string} to its ready endpoints, spread evenly',
  async function (this: KgradeWorld, portName: string, service: string, namespace: string) {
    const servicePort = `${namespace}/${service}:${portName}`;
    let endpoints: ReadyEndpoint[] = [];
    const seen = await eventually(
      async () => {
        endpoints = await readyEndpoints(this.admin(), namespace, service, portName);
        if (endpoints.length === 0) return { ok: false, value: [], seen: `${servicePort} has no ready endpoints` };
        const nodes = await routingOnEveryNode(this, servicePort, endpoints);
        return {
          ok: nodes.every((n) => n.ok),
          value: nodes,
          seen: `endpoints ${describeEndpoints(endpoints)}; ${nodes.map((n) => n.line).join(' | ')}`,
        };
      },
      {
        what: `kube-proxy's rules for ${servicePort} to DNAT to exactly its ready endpoints, each with an equal share`,
        timeoutMs: this.timeouts.wait * 1000,
        intervalMs: 2000,
      },
    );
    for (const n of seen) this.note(n.line);
    this.note(`${servicePort} endpoints (EndpointSlices): ${describeEndpoints(endpoints)}`);
    if (endpoints.length === 1)
      this.note('one endpoint only: kube-proxy writes no statistic match for a single endpoint');
  },
);

const deleted = new WeakMap<KgradeWorld, DeletedReplica & { recovered: boolean }>();

When(
  'a pod of deployment {string} in namespace {string} is deleted',
  async function (this: KgradeWorld, deployment: string, namespace: string) {
    const d = await deleteOneReplica(this.admin(), namespace, deployment, this.timeouts.wait * 1000);
    deleted.set(this, { ...d, recovered: false });
    this.note(
      `deleted pod ${namespace}/${d.pod} (IP ${d.ip || 'none'}) of deployment ${deployment}, which wants ${d.replicas} replica(s)`,
    );
  },
);

Then(
  'within {int} seconds kube-proxy on every node follows the new endpoints of port {string} of service {string} in namespace {string}',
  async function (this: KgradeWorld, seconds: number, portName: string, service: string, namespace: string) {
    const gone = deleted.get(this);
    if (!gone)
      throw new GraderError(
        'no pod was deleted in this scenario; use: When a pod of deployment "coredns" in namespace "kube-system" is deleted',
      );
    const servicePort = `${namespace}/${service}:${portName}`;
    let endpointsBack = false;
    let last: ReadyEndpoint[] = [];
    try {
      const nodes = await eventually(
        async () => {
          const eps = await readyEndpoints(this.admin(), namespace, service, portName);
          last = eps;
          const replaced = eps.length >= gone.replicas && !eps.some((e) => e.pod === gone.pod);
          endpointsBack = replaced;
          if (!replaced)
            return {
              ok: false,
              value: [],
              seen: `endpoints ${describeEndpoints(eps)} (waiting for a replacement of ${gone.pod})`,
            };
          const routing = await routingOnEveryNode(this, servicePort, eps);
          return {
            ok: routing.every((n) => n.ok),
            value: routing,
            seen: `endpoints ${describeEndpoints(eps)}; ${routing.map((n) => n.line).join(' | ')}`,
          };
        },
        {
          what: `kube-proxy's DNAT targets for ${servicePort} to follow its endpoints after ${gone.pod} was deleted`,
          timeoutMs: seconds * 1000,
          intervalMs: 2000,
        },
      );
      this.note(`endpoints now: ${describeEndpoints(last)} (${gone.ip} of ${gone.pod} is gone from them)`);
      for (const n of nodes) this.note(n.line);
    } catch (err) {
      if (!endpointsBack) {
        throw new GraderError(
          `the deployment behind ${servicePort} did not replace ${gone.pod} within ${seconds} s (endpoints: ${describeEndpoints(last)}): the cluster did not recover, this is not the course's claim failing`,
          { cause: err },
        );
      }
      throw err;
    }
  },
);

Then(
  'deployment {string} in namespace {string} is back to all its replicas Ready within {int} seconds',
  async function (this: KgradeWorld, deployment: string, namespace: string, seconds: number) {
    const line = await waitForFullStrength(this.admin(), namespace, deployment, seconds * 1000);
    const gone = deleted.get(this);
    if (gone) gone.recovered = true;
    this.note(line);
  },
);

// A scenario that deleted a replica leaves the cluster as it found it, even when a step failed first.
After(async function (this: KgradeWorld) {
  const gone = deleted.get(this);
  if (!gone || gone.recovered) return;
  gone.recovered = true;
  await waitForFullStrength(this.admin(), gone.namespace, gone.deployment, 120_000);
});

Then(
  'pod {string} resolves {string} to the cluster IP of service {string} in namespace {string}',
  async function (this: KgradeWorld, pod: string, host: string, service: string, namespace: string) {
    const svc = await graderApi(this.admin(), `reading service ${namespace}/${service}`, () =>
      this.admin().makeApiClient(k8s.CoreV1Api).readNamespacedService({ name: service, namespace }),
    );
    const clusterIP = svc.spec?.clusterIP;
    if (!clusterIP) throw new GraderError(`service ${namespace}/${service} has no cluster IP`);
    const name = this.expand(host);
    const output = await eventually(
      async () => {
        const r = await runInPod(this, pod, ['nslookup', name], { hang: 'result' });
        const answers = nslookupAnswers(r.stdout);
        const text = `${r.stdout}${r.stderr}`.trim().replace(/\s+/g, ' ');
        return {
          ok: answers.includes(clusterIP),
          value: text,
          seen: `nslookup ${name} ${r.timedOut ? 'timed out' : `exited ${r.code}`}; answers: ${answers.join(', ') || 'none'}; output: ${text.slice(0, 300)}`,
        };
      },
      {
        what: `nslookup ${name} in pod ${pod} to answer ${clusterIP}`,
        timeoutMs: Math.min(this.timeouts.wait, 30) * 1000,
        intervalMs: 2000,
      },
    );
    this.note(`nslookup ${name} in pod ${pod}: ${output.slice(0, 300)}`);
  },
);
