/**
 * Nothing leaves the machine from a kind cluster kgrade runs. Proven without
 * sending anything off the machine: 203.0.113.0/24 (TEST-NET-3) is routed to a
 * test host of our own, a network namespace behind a veth, so "outside" is here.
 * With the guard lifted the pod's ping reaches the test host (the path is real);
 * with it in place, not one packet arrives.
 * Needs the cluster: run after `kgrade cluster up` (scripts/test.sh does).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from '../../src/vendor/execa.js';
import { bridgeOf, guardEgress, unguardEgress } from '../../src/env/cluster/egress.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { createSubmissionNamespace, deleteNamespace, type SubmissionNamespace } from '../../src/kube/namespace.js';
import { applyManifest } from '../../src/kube/apply.js';
import { execInPod, waitForPod } from '../../src/kube/pods.js';

const NETNS = 'kg-outside';
const HOST_SIDE = 'kg-out0';
const OUTSIDE = '203.0.113.1';

async function sh(script: string) {
  return execa('bash', ['-c', script], { reject: false });
}

/** Echo requests that reached the test host, counted by a rule in its own namespace. */
async function arrived(): Promise<number> {
  const r = await sh(`ip netns exec ${NETNS} iptables -L INPUT -v -x -n | awk '/kgrade-probe/ {print $1}'`);
  return Number(r.stdout.trim() || 'NaN');
}

const provider = new KindProvider();
let ns: SubmissionNamespace;
let bridge: string;

before(async () => {
  const s = await provider.status();
  assert.deepEqual(s.problems, [], 'the kind cluster must be up and healthy (kgrade cluster up)');
  bridge = await bridgeOf('kind');
  const setup = await sh(`set -e
ip netns add ${NETNS}
ip link add ${HOST_SIDE} type veth peer name eth0 netns ${NETNS}
ip addr add 203.0.113.254/24 dev ${HOST_SIDE}
ip link set ${HOST_SIDE} up
ip -n ${NETNS} addr add ${OUTSIDE}/24 dev eth0
ip -n ${NETNS} link set eth0 up
ip -n ${NETNS} link set lo up
ip -n ${NETNS} route add default via 203.0.113.254
ip netns exec ${NETNS} iptables -A INPUT -p icmp --icmp-type echo-request -m comment --comment kgrade-probe -j ACCEPT`);
  assert.equal(setup.exitCode, 0, setup.stderr);
  ns = await createSubmissionNamespace(provider.kubeConfig(), 'egress-test', 'probe');
  await applyManifest(
    ns,
    'probe.yaml',
    `apiVersion: v1
kind: Pod
metadata: {name: probe}
spec:
  containers: [{name: busybox, image: "busybox:1.36", command: ["sleep", "3600"]}]
`,
  );
  await waitForPod(provider.kubeConfig(), ns.name, 'probe', {
    what: 'Running',
    timeoutMs: 120_000,
    until: (p) => p.status?.phase === 'Running',
  });
});

after(async () => {
  await guardEgress('kind');
  if (ns) await deleteNamespace(provider.kubeConfig(), ns.name, 120_000);
  await sh(`ip netns del ${NETNS} 2>/dev/null; ip link del ${HOST_SIDE} 2>/dev/null; true`);
});

async function pingFromPod(): Promise<number | null> {
  const r = await execInPod(
    provider.kubeConfig(),
    ns.name,
    'probe',
    'busybox',
    ['ping', '-c', '3', '-W', '1', OUTSIDE],
    30_000,
  );
  return r.code;
}

test('without the guard, a pod reaches the test host: the path the guard cuts is real', async () => {
  await unguardEgress(bridge);
  const before = await arrived();
  const code = await pingFromPod();
  const got = (await arrived()) - before;
  await guardEgress('kind');
  assert.equal(code, 0, 'the unguarded ping should be answered');
  assert.ok(got >= 1, `expected echo requests at the test host, counted ${got}`);
});

test('with the guard, not one packet from a pod reaches an address outside the machine', async () => {
  await guardEgress('kind');
  const before = await arrived();
  const code = await pingFromPod();
  const got = (await arrived()) - before;
  assert.notEqual(code, 0, 'the guarded ping must not be answered');
  assert.equal(got, 0, `the test host counted ${got} echo requests from the cluster`);
});
