import * as k8s from '../src/vendor/kubernetes-client.js';
import { Then } from '@cucumber/cucumber';
import { eventually } from '../src/eventually.js';
import { words } from '../src/check/listing.js';
import { sh, shellQuote } from '../src/node.js';
import { fail, GraderError } from '../src/errors.js';
import { api } from '../src/kube/client.js';
import { listNodes, readControlPlane } from '../src/kube/control-plane.js';
import { runningContainers } from '../src/kube/pod-node.js';
import type { KgradeWorld } from './world.js';

/** Every node of the cluster, reached through the cluster's provider. */
async function everyNode(world: KgradeWorld) {
  const nodes = await listNodes(world.admin());
  if (nodes.length === 0) throw new GraderError('the cluster has no nodes');
  return Promise.all(nodes.map((n) => world.clusterNode(n.metadata?.name ?? '')));
}

Then(
  'kube-system runs etcd, the API server, the scheduler, the controller manager, CoreDNS, kube-proxy and the CNI daemon',
  async function (this: KgradeWorld) {
    const report = await eventually(
      async () => {
        const r = await readControlPlane(this.admin());
        return { ok: r.problems.length === 0, value: r, seen: r.problems.join('; ') };
      },
      {
        what: 'every control-plane component, CoreDNS, kube-proxy and the CNI daemon Ready in kube-system',
        timeoutMs: this.timeouts.wait * 1000,
        intervalMs: 2000,
      },
    );
    for (const s of report.seen) this.note(s);
    const { wanted } = report.coredns;
    this.note(
      wanted === 2
        ? 'CoreDNS runs two replicas, as in the course'
        : `CoreDNS runs ${wanted} replica(s) here; the course's kind cluster runs two`,
    );
  },
);

Then('swap is off on every node, or the kubelet keeps pods from swapping', async function (this: KgradeWorld) {
  for (const node of await everyNode(this)) {
    const r = await sh(
      node,
      "tail -n +2 /proc/swaps; echo ---; grep -E '^(failSwapOn|memorySwap|  swapBehavior)' /var/lib/kubelet/config.yaml 2>/dev/null",
      { timeoutMs: this.timeouts.command * 1000 },
    );
    if (r.code !== 0 || r.timedOut)
      throw new GraderError(`reading /proc/swaps on node ${node.name} failed: ${r.stderr.trim()}`);
    const [swaps = '', config = ''] = r.stdout.split('---\n');
    const active = swaps.split('\n').filter((l) => l.trim());
    if (active.length === 0) {
      this.note(`${node.name}: no swap in /proc/swaps: swap is off`);
      continue;
    }
    const failSwapOn = /^failSwapOn:\s*false/m.test(config) ? false : true;
    const behavior = /swapBehavior:\s*(\S+)/.exec(config)?.[1] ?? '';
    if (failSwapOn)
      fail(
        `node ${node.name} has swap on (${active.map((l) => l.split(/\s+/)[0]).join(', ')}) and its kubelet is not told to tolerate it`,
      );
    if (behavior && behavior !== 'NoSwap')
      fail(
        `node ${node.name} has swap on and its kubelet lets pods swap (memorySwap.swapBehavior ${behavior}): memory limits no longer mean what they say`,
      );
    this.note(
      `${node.name}: the machine has swap (${active.length} device(s), the node shares the host's kernel), but the kubelet keeps pods from swapping (failSwapOn: false, swapBehavior ${behavior || 'unset: NoSwap'})`,
    );
  }
});

Then('every node has the programs {string}', async function (this: KgradeWorld, list: string) {
  const programs = words(this.expand(list));
  for (const node of await everyNode(this)) {
    const r = await sh(
      node,
      `for p in ${programs.map(shellQuote).join(' ')}; do printf '%s ' "$p"; command -v "$p" || echo MISSING; done`,
      { timeoutMs: this.timeouts.command * 1000 },
    );
    if (r.code !== 0 || r.timedOut)
      throw new GraderError(`looking for programs on node ${node.name} failed: ${r.stderr.trim()}`);
    const missing = r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' MISSING'))
      .map((l) => l.split(' ')[0]);
    if (missing.length) fail(`node ${node.name} lacks ${missing.join(', ')}`);
    this.note(`${node.name}: ${r.stdout.trim().split('\n').join(', ')}`);
  }
});

Then('the kubelet is an active systemd service on every node', async function (this: KgradeWorld) {
  for (const node of await everyNode(this)) {
    const r = await sh(
      node,
      'systemctl is-active kubelet; pid=$(systemctl show -p MainPID --value kubelet); echo "$pid"; cat /proc/"$pid"/comm 2>/dev/null; cat /proc/1/comm',
      { timeoutMs: this.timeouts.command * 1000 },
    );
    if (r.timedOut) throw new GraderError(`systemctl on node ${node.name} timed out`);
    const [state = '', pid = '', comm = '', init = ''] = r.stdout.split('\n').map((l) => l.trim());
    if (state !== 'active')
      fail(`on node ${node.name}, systemctl is-active kubelet says "${state || r.stderr.trim()}"`);
    if (comm !== 'kubelet')
      fail(`on node ${node.name}, the kubelet unit's main process ${pid} is "${comm}", not the kubelet`);
    this.note(`${node.name}: kubelet.service is active, main PID ${pid}, started by ${init} (PID 1)`);
  }
});

Then(
  "the node of each etcd pod keeps the etcd container's log in {string}",
  async function (this: KgradeWorld, folder: string) {
    const dir = this.expand(folder).replace(/\/+$/, '');
    const pods = await api(this.admin(), 'listing kube-system pods', () =>
      this.admin()
        .makeApiClient(k8s.CoreV1Api)
        .listNamespacedPod({ namespace: 'kube-system', labelSelector: 'component=etcd' }),
    );
    const etcd = pods.items.filter((p) => p.spec?.nodeName);
    if (etcd.length === 0) fail('kube-system has no etcd pod (label component=etcd)');
    for (const pod of etcd) {
      const node = await this.clusterNode(pod.spec?.nodeName ?? '');
      const name = pod.metadata?.name ?? '';
      for (const c of runningContainers(pod)) {
        const file = `${dir}/${name}_kube-system_${c.name}-${c.id}.log`;
        const r = await sh(
          node,
          `test -s ${shellQuote(file)} && readlink -f ${shellQuote(file)} && tail -n 1 ${shellQuote(file)} | cut -c1-120`,
          { timeoutMs: this.timeouts.command * 1000 },
        );
        if (r.timedOut) throw new GraderError(`reading ${file} on node ${node.name} timed out`);
        if (r.code !== 0) {
          const ls = await sh(node, `ls ${shellQuote(dir)} 2>&1 | grep -i etcd | head -n 5`);
          fail(`node ${node.name} has no log at ${file}; ${dir} holds: ${ls.stdout.trim() || 'no etcd file'}`);
        }
        const [target = '', last = ''] = r.stdout.split('\n');
        this.note(`${node.name}: ${file} -> ${target}; last line: ${last}`);
      }
    }
  },
);
