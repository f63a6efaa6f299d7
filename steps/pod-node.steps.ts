import * as k8s from '../src/vendor/kubernetes-client.js';
import { Given, Then } from '@cucumber/cucumber';
import { cidrContains } from '../src/check/iptables.js';
import {
  argvIs,
  parseIpAddr,
  parseIpRoute,
  parseMountinfo,
  resolvNameservers,
  routeFor,
  words,
} from '../src/check/listing.js';
import { sh } from '../src/node.js';
import { fail, GraderError, SubmissionAssertionError } from '../src/errors.js';
import { api, graderApi } from '../src/kube/client.js';
import { internalIP, listNodes, podCIDRs } from '../src/kube/control-plane.js';
import {
  containerInfo,
  containerMemoryCgroup,
  containerPid,
  containerProcesses,
  nodeFileIdentity,
  nodePids,
  quantityBytes,
  runningContainers,
} from '../src/kube/pod-node.js';
import { imageName } from '../src/kube/image-ref.js';
import { qosOfCgroupPath } from '../src/check/cgroup.js';
import { podState } from '../src/kube/pods.js';
import { podOutput } from './pod-exec.js';
import type { KgradeWorld } from './world.js';
import { podStarted, RUNNING_SETTLE_MS, waitForSteadyPod } from '../src/kube/readiness.js';

async function nodeOf(world: KgradeWorld, pod: k8s.V1Pod) {
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) fail(`pod ${pod.metadata?.name ?? '?'} is not on any node yet (${podState(pod)})`);
  return world.clusterNode(nodeName);
}

const CRASHING = new Set([
  'CrashLoopBackOff',
  'RunContainerError',
  'CreateContainerError',
  'CreateContainerConfigError',
  'StartError',
]);

/** The last lines a crashed container printed, for the student: "sleep: missing operand", a usage text. */
async function crashLog(world: KgradeWorld, namespace: string, pod: k8s.V1Pod | undefined): Promise<string> {
  const crashed = (pod?.status?.containerStatuses ?? []).filter(
    (c) => (c.restartCount ?? 0) > 0 || c.state?.terminated || c.lastState?.terminated,
  );
  const parts: string[] = [];
  for (const c of crashed) {
    const previous = !c.state?.terminated;
    const log = await world
      .admin()
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedPodLog({ name: pod?.metadata?.name ?? '', namespace, container: c.name, previous, tailLines: 4 })
      .catch(() => '');
    if (log.trim())
      parts.push(`container ${c.name} printed: ${log.trim().split('\n').slice(-4).join(' | ').slice(0, 300)}`);
  }
  return parts.length ? `; ${parts.join('; ')}` : '';
}

Then(
  'pod {string} is Running with every container up within {int} seconds',
  async function (this: KgradeWorld, name: string, seconds: number) {
    const ns = await this.namespace();
    let pod: k8s.V1Pod;
    try {
      pod = await waitForSteadyPod(this.admin(), ns.name, name, {
        state: 'running',
        timeoutMs: seconds * 1000,
        settleMs: RUNNING_SETTLE_MS,
        hopeless: (p) =>
          (p.status?.containerStatuses ?? []).some(
            (c) =>
              CRASHING.has(c.state?.waiting?.reason ?? '') ||
              CRASHING.has(c.state?.terminated?.reason ?? '') ||
              (c.restartCount ?? 0) > 0,
          ),
      });
    } catch (err) {
      if (!(err instanceof SubmissionAssertionError)) throw err;
      const log = await crashLog(this, ns.name, await this.submissionPod(name).catch(() => undefined));
      throw new SubmissionAssertionError(
        `${err.message}${log}; a container's command must keep running (sleep 10000), not exit`,
        { cause: err },
      );
    }
    this.note(`pod ${name}: ${podState(pod)} on node ${pod.spec?.nodeName ?? '?'}`);
  },
);

Then('pod {string} has the labels {string}', async function (this: KgradeWorld, name: string, list: string) {
  const pod = await this.submissionPod(name);
  const labels = pod.metadata?.labels ?? {};
  const problems: string[] = [];
  for (const want of words(this.expand(list))) {
    const [key = '', value] = want.split('=');
    if (!(key in labels))
      problems.push(value === undefined ? `no label ${key} (any value will do)` : `no label ${key}=${value}`);
    else if (value !== undefined && labels[key] !== value)
      problems.push(`label ${key} is "${labels[key] ?? ''}", not "${value}"`);
  }
  const shown =
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || 'none';
  if (problems.length) fail(`pod ${name}: ${problems.join('; ')} (its labels: ${shown})`);
  this.note(`pod ${name} labels: ${shown}`);
});

Then('pod {string} runs a {string} image', async function (this: KgradeWorld, name: string, repository: string) {
  const pod = await this.submissionPod(name);
  const images = (pod.spec?.containers ?? []).map((c) => c.image ?? '');
  if (!images.some((i) => imageName(i) === repository))
    fail(`pod ${name} runs ${images.join(', ') || 'no image'}, not a ${repository} image`);
  this.note(`pod ${name} images: ${images.join(', ')}`);
});

Then(
  'the process {string} runs in a container of pod {string}',
  async function (this: KgradeWorld, command: string, name: string) {
    const want = words(this.expand(command));
    const pod = await this.submissionPod(name);
    const node = await nodeOf(this, pod);
    const seen: string[] = [];
    for (const c of runningContainers(pod)) {
      const pid = await containerPid(node, c.id, this.timeouts.command * 1000);
      const procs = await containerProcesses(node, pid, this.timeouts.command * 1000);
      const hit = procs.find((p) => argvIs(p.argv, want));
      if (hit) {
        const main =
          hit.pid === pid
            ? 'as its main process'
            : `under its main process ${pid} (${procs.find((p) => p.pid === pid)?.argv.join(' ') ?? '?'})`;
        this.note(`container ${c.name}: PID ${hit.pid} on node ${node.name} runs ${JSON.stringify(hit.argv)} ${main}`);
        return;
      }
      seen.push(`${c.name}: ${procs.map((p) => `${p.pid} ${JSON.stringify(p.argv)}`).join(', ')}`);
    }
    fail(
      `no container of pod ${name} runs "${want.join(' ')}"; its processes on node ${node.name}: ${seen.join('; ')}`,
    );
  },
);

Then(
  'pod {string} declares the container port {string} named {string}',
  async function (this: KgradeWorld, name: string, portProto: string, portName: string) {
    const [portText = '', proto = 'TCP'] = portProto.split('/');
    const port = Number(portText);
    const pod = await this.submissionPod(name);
    const declared = (pod.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? []).map((p) => ({ container: c.name, ...p })),
    );
    const shown =
      declared
        .map(
          (p) =>
            `${p.containerPort}/${p.protocol ?? 'TCP'}${p.name ? ` named ${p.name}` : ' unnamed'} (container ${p.container})`,
        )
        .join('; ') || 'no ports';
    const hit = declared.find(
      (p) => p.containerPort === port && (p.protocol ?? 'TCP') === proto && p.name === portName,
    );
    if (!hit)
      fail(`pod ${name} should declare container port ${port}/${proto} named ${portName}; it declares ${shown}`);
    this.note(`pod ${name} declares ${shown}`);
  },
);

Then(
  "pod {string} has its own IP in its node's pod CIDR, apart from the node's InternalIP",
  async function (this: KgradeWorld, name: string) {
    const pod = await this.submissionPod(name);
    const podIP = pod.status?.podIP;
    const hostIP = pod.status?.hostIP;
    if (!podIP || !hostIP) fail(`pod ${name} has no IP yet (${podState(pod)})`);
    const node = (await listNodes(this.admin())).find((n) => n.metadata?.name === pod.spec?.nodeName);
    if (!node) throw new GraderError(`pod ${name}'s node ${pod.spec?.nodeName ?? '?'} is not in the node list`);
    const cidrs = podCIDRs(node);
    const nodeIP = internalIP(node);
    if (cidrs.length === 0)
      throw new GraderError(
        `node ${node.metadata?.name ?? '?'} has no spec.podCIDR: the cluster does not hand pod ranges to nodes`,
      );
    if (!nodeIP) throw new GraderError(`node ${node.metadata?.name ?? '?'} has no InternalIP`);
    if (podIP === hostIP)
      fail(
        `pod ${name} shares its node's address ${hostIP}: it runs in the node's network namespace (hostNetwork), not in its own`,
      );
    if (!cidrs.some((c) => cidrContains(c, podIP)))
      fail(`pod ${name}'s IP ${podIP} is outside its node's pod CIDR ${cidrs.join(', ')}`);
    if (hostIP !== nodeIP) fail(`pod ${name}'s hostIP ${hostIP} is not its node's InternalIP ${nodeIP}`);
    this.note(
      `pod ${name}: podIP ${podIP} in ${cidrs.join(', ')}; hostIP ${hostIP} = InternalIP of ${node.metadata?.name ?? '?'}`,
    );
  },
);

Then("the eth0 of pod {string} holds the pod's IP", async function (this: KgradeWorld, name: string) {
  const pod = await this.submissionPod(name);
  const podIP = pod.status?.podIP;
  if (!podIP) fail(`pod ${name} has no IP yet (${podState(pod)})`);
  const out = await podOutput(this, name, ['ip', 'a']);
  const eth0 = parseIpAddr(out).find((i) => i.name === 'eth0');
  if (!eth0) fail(`ip a in pod ${name} shows no eth0: ${out.trim().slice(0, 400)}`);
  const v4 = eth0.addresses.filter((a) => a.family === 'inet');
  if (!v4.some((a) => a.address === podIP))
    fail(
      `eth0 in pod ${name} holds ${v4.map((a) => `${a.address}/${a.prefix}`).join(', ') || 'no IPv4 address'}, not the pod's IP ${podIP}`,
    );
  this.note(
    `ip a in pod ${name}: eth0${eth0.peerIndex ? `@if${eth0.peerIndex}` : ''} holds ${v4.map((a) => `${a.address}/${a.prefix}`).join(', ')}`,
  );
});

const counted = new WeakMap<KgradeWorld, Map<string, Set<number>>>();

Given('the processes on every node are counted', async function (this: KgradeWorld) {
  const sets = new Map<string, Set<number>>();
  for (const n of await listNodes(this.admin())) {
    const name = n.metadata?.name ?? '';
    sets.set(name, await nodePids(await this.clusterNode(name), this.timeouts.command * 1000));
  }
  counted.set(this, sets);
  this.note(`processes before: ${[...sets.entries()].map(([n, s]) => `${n} ${s.size}`).join(', ')}`);
});

Then(
  "the node of pod {string} has more processes than before, the pod's own among the new ones",
  async function (this: KgradeWorld, name: string) {
    const before = counted.get(this);
    if (!before)
      throw new GraderError(
        'no process count was taken in this scenario; use: Given the processes on every node are counted',
      );
    const pod = await this.submissionPod(name);
    const node = await nodeOf(this, pod);
    const earlier = before.get(node.name);
    if (!earlier) throw new GraderError(`node ${node.name} was not counted before`);
    const now = await nodePids(node, this.timeouts.command * 1000);
    const fresh = [...now].filter((p) => !earlier.has(p));
    const mains: number[] = [];
    for (const c of runningContainers(pod)) mains.push(await containerPid(node, c.id, this.timeouts.command * 1000));
    const missing = mains.filter((p) => !fresh.includes(p));
    if (missing.length)
      fail(
        `the main process(es) ${missing.join(', ')} of pod ${name} were already on node ${node.name} before the pod was created`,
      );
    const grew = now.size > earlier.size ? 'more' : 'not more (other processes on the node ended meanwhile)';
    this.note(
      `node ${node.name}: ${earlier.size} processes before, ${now.size} after: ${grew}; ${fresh.length} new, among them the pod's main process(es) ${mains.join(', ')}`,
    );
  },
);

Then(
  'the resolv.conf of pod {string} is a mount whose nameserver is the cluster IP of service {string} in namespace {string}',
  async function (this: KgradeWorld, name: string, service: string, namespace: string) {
    const svc = await graderApi(this.admin(), `reading service ${namespace}/${service}`, () =>
      this.admin().makeApiClient(k8s.CoreV1Api).readNamespacedService({ name: service, namespace }),
    );
    const clusterIP = svc.spec?.clusterIP;
    if (!clusterIP) throw new GraderError(`service ${namespace}/${service} has no cluster IP`);
    const mounts = parseMountinfo(await podOutput(this, name, ['cat', '/proc/self/mountinfo']));
    const mount = mounts.filter((m) => m.mountPoint === '/etc/resolv.conf').at(-1);
    if (!mount) fail(`in pod ${name}, /etc/resolv.conf is not a mount point (/proc/self/mountinfo has no line for it)`);
    const nameservers = resolvNameservers(await podOutput(this, name, ['cat', '/etc/resolv.conf']));
    if (nameservers[0] !== clusterIP) {
      fail(
        `pod ${name}'s /etc/resolv.conf names ${nameservers.join(', ') || 'no nameserver'}, not ${namespace}/${service}'s cluster IP ${clusterIP}: leave the pod's DNS settings (dnsPolicy) alone`,
      );
    }
    this.note(
      `pod ${name}: /etc/resolv.conf is mounted from ${mount.root} (${mount.fsType} ${mount.majorMinor}); nameserver ${clusterIP}`,
    );
  },
);

Then(
  "the node of pod {string} holds that resolv.conf under {string}, in the pod's sandbox",
  async function (this: KgradeWorld, name: string, folder: string) {
    const under = `${this.expand(folder).replace(/\/+$/, '')}/`;
    const pod = await this.submissionPod(name);
    const node = await nodeOf(this, pod);
    const c = runningContainers(pod)[0];
    if (!c) fail(`pod ${name} has no running container`);
    const info = await containerInfo(node, c.id, this.timeouts.command * 1000);
    const source = info.mounts.get('/etc/resolv.conf');
    if (!source)
      throw new GraderError(`containerd's spec of container ${c.id.slice(0, 13)} mounts nothing at /etc/resolv.conf`);
    if (!info.sandboxId || !source.includes(`/${info.sandboxId}/`))
      throw new GraderError(
        `containerd mounts ${source} at /etc/resolv.conf, which is not in the pod's sandbox ${info.sandboxId || '(unknown)'}`,
      );
    if (!source.startsWith(under))
      throw new GraderError(
        `containerd keeps pod ${name}'s resolv.conf at ${source}, not under ${under}: this cluster's containerd has another root`,
      );
    const onNode = await nodeFileIdentity(node, source, this.timeouts.command * 1000);
    if (!onNode) throw new GraderError(`${source} is not on node ${node.name}`);
    const inside = (await podOutput(this, name, ['stat', '-L', '-c', '%d %i', '/etc/resolv.conf'])).trim();
    if (inside !== onNode)
      fail(`pod ${name}'s /etc/resolv.conf (device and inode ${inside}) is not the node's ${source} (${onNode})`);
    this.note(
      `container ${c.name} (${c.id.slice(0, 13)}), sandbox ${info.sandboxId.slice(0, 13)}: /etc/resolv.conf is the node's ${source} (same device and inode ${onNode})`,
    );
  },
);

Then('pod {string} has QoS class {string}', async function (this: KgradeWorld, name: string, qos: string) {
  const pod = await this.submissionPod(name);
  const seen = pod.status?.qosClass ?? 'none';
  const resources = (pod.spec?.containers ?? [])
    .map(
      (c) =>
        `${c.name}: requests ${JSON.stringify(c.resources?.requests ?? {})}, limits ${JSON.stringify(c.resources?.limits ?? {})}`,
    )
    .join('; ');
  if (seen !== qos) fail(`pod ${name} has QoS class ${seen}, not ${qos} (${resources})`);
  this.note(`pod ${name}: QoS ${seen} (${resources})`);
});

Then(
  'a container of pod {string} requests exactly {string} of memory',
  async function (this: KgradeWorld, name: string, quantity: string) {
    const want = quantityBytes(quantity);
    if (want === undefined) throw new GraderError(`"${quantity}" is not a quantity`);
    const pod = await this.submissionPod(name);
    const requests = (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      request: c.resources?.requests?.['memory'],
    }));
    if (!requests.some((r) => r.request !== undefined && quantityBytes(r.request) === want)) {
      fail(
        `no container of pod ${name} requests ${quantity} (${want} bytes) of memory: ${requests.map((r) => `${r.name} requests ${r.request ?? 'nothing'}${r.request ? ` (${quantityBytes(r.request)} bytes)` : ''}`).join('; ')}`,
      );
    }
  },
);

Then(
  'the node limits the memory cgroup of a container of pod {string} to exactly {int} bytes',
  async function (this: KgradeWorld, name: string, bytes: number) {
    const pod = await this.submissionPod(name);
    const node = await nodeOf(this, pod);
    const uid = pod.metadata?.uid ?? '';
    const seen: string[] = [];
    for (const c of runningContainers(pod)) {
      const cg = await containerMemoryCgroup(node, uid, c.id, this.timeouts.command * 1000);
      const file = cg.cgroup.version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
      const limit = cg.cgroup.limit === null ? 'no limit' : `${cg.cgroup.limit} bytes`;
      const line = `container ${c.name} (PID ${cg.pid}): cgroup v${cg.cgroup.version} ${cg.cgroup.dir}/${file} = ${limit} (${cg.layout} layout, under ${qosOfCgroupPath(cg.path)})`;
      if (cg.cgroup.limit === bytes) {
        this.note(line);
        return;
      }
      seen.push(line);
    }
    fail(`no container of pod ${name} is limited to ${bytes} bytes on node ${node.name}: ${seen.join('; ')}`);
  },
);

Then('the node routes the IP of every pod of the scenario through a veth device', async function (this: KgradeWorld) {
  const ns = await this.namespace();
  const pods = (
    await api(this.admin(), `listing pods in ${ns.name}`, () =>
      this.admin().makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: ns.name }),
    )
  ).items.filter((p) => p.status?.podIP && p.spec?.nodeName && podStarted(p));
  if (pods.length === 0) fail(`no pod of the submission is Running with an IP in namespace ${ns.name}`);
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '?';
    const podIP = pod.status?.podIP ?? '';
    const node = await nodeOf(this, pod);
    const r = await sh(node, 'ip route show; echo ---; ip -d -o link show', {
      timeoutMs: this.timeouts.command * 1000,
    });
    if (r.code !== 0 || r.timedOut) throw new GraderError(`ip route on node ${node.name} failed: ${r.stderr.trim()}`);
    const [routeText = '', linkText = ''] = r.stdout.split('---\n');
    const route = routeFor(parseIpRoute(routeText), podIP, cidrContains);
    const dev = route?.dev;
    if (!route || !dev) fail(`node ${node.name} has no route for pod ${name}'s IP ${podIP}:\n${routeText.trim()}`);
    const link = linkText
      .split('\n')
      .find((l) => new RegExp(`^\\d+:\\s+${dev.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[@:]`).test(l));
    const index = Number(/^(\d+):/.exec(link ?? '')?.[1]);
    if (!link || !/\sveth\s/.test(link))
      fail(
        `node ${node.name} routes pod ${name}'s IP ${podIP} through ${dev}, which is not a veth device (route: ${route.destination} dev ${dev})`,
      );
    const peer = Number((await podOutput(this, name, ['cat', '/sys/class/net/eth0/iflink'])).trim());
    const pair =
      peer === index
        ? `the other end of the pod's eth0 (ifindex ${index})`
        : `ifindex ${index}; the pod's eth0 pairs with ifindex ${peer}`;
    this.note(`node ${node.name}: pod ${name}'s ${podIP} routes as "${route.destination} dev ${dev}": a veth, ${pair}`);
  }
});
