import { GraderError } from '../errors.js';
import { addressInSubnet } from '../check/listing.js';
import { sh, type Node } from '../node.js';
import { paceOf, paced } from './pace.js';

export interface TestHost {
  name: string;
  /** "10.1.2.3/24" */
  cidr: string;
  address: string;
  /** The node's own address on the test host's subnet. */
  nodeAddress: string;
}

/**
 * Plugs a test host into the node's LAN: its own network namespace with a veth
 * on the bridge behind the node's eth0. The node gets an address on the same
 * subnet (the subnet's last usable address, or the one before it when taken).
 */
export async function addTestHost(node: Node, name: string, cidr: string): Promise<TestHost> {
  if (!/^[a-z][a-z0-9-]{0,10}$/.test(name))
    throw new GraderError(`test host name "${name}": use up to 11 lower-case letters, digits and dashes`);
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m)
    throw new GraderError(`test host ${name}: "${cidr}" is not an IPv4 address with a prefix length, like 10.1.2.3/24`);
  const address = m[1] ?? '';
  const len = m[2] ?? '24';
  let nodeAddress = addressInSubnet(cidr, -1);
  if (nodeAddress === address) nodeAddress = addressInSubnet(cidr, -2);
  const script = `set -e
ip netns add ${name}
ip -n kgrade-lan link add lan-${name} type veth peer name eth0 netns ${name}
ip -n kgrade-lan link set lan-${name} master br0 up
ip -n ${name} link set lo up
ip -n ${name} addr add ${cidr} dev eth0
ip -n ${name} link set eth0 up
if ! ip -o -4 addr show dev eth0 | grep -q " ${nodeAddress}/"; then
  ip addr add ${nodeAddress}/${len} dev eth0 2>/dev/null || true
fi
ip -o -4 addr show dev eth0 | grep -q " ${nodeAddress}/"
echo ready`;
  const r = await sh(node, script);
  if (r.code !== 0 || !r.stdout.includes('ready'))
    throw new GraderError(`could not set up test host ${name} (${cidr}): ${r.stderr.trim()}`);
  return { name, cidr, address, nodeAddress };
}

export interface Reachability {
  icmp: boolean;
  tcp: boolean;
  detail: string;
}

export const NODE_PROBE_PORT = 18080;

/**
 * Shell lines that start the node's TCP listener for test hosts to reach when it is not listening
 * (a submission's script may have killed it: a closed port would read as a drop), and end the
 * script with "listener=failed" when it does not come up.
 */
function listenerLines(node: Node): string {
  return `listening() { ss -ltn | grep -q ':${NODE_PROBE_PORT} '; }
if ! listening; then
  setsid socat TCP-LISTEN:${NODE_PROBE_PORT},fork,reuseaddr SYSTEM:'echo kgrade-node' </dev/null >/dev/null 2>&1 &
  up=; for i in $(seq ${paced(paceOf(node), 5) * 10}); do listening && { up=1; break; }; sleep 0.1; done
  [ -n "$up" ] || { echo listener=failed; exit 1; }
fi`;
}

/**
 * Whether the node answers the test host: ICMP echo and a TCP connection to the probe listener, tried
 * at once. A drop shows as silence for the probe's wait (`waitS`, in the node's time); an answer on
 * the test LAN, which never leaves the node's kernel, comes in well under a millisecond of it.
 */
export async function probeNodeFrom(node: Node, host: TestHost, waitS = 1): Promise<Reachability> {
  const r = await sh(
    node,
    `${listenerLines(node)}
ip netns exec ${host.name} ping -n -c 2 -i 0.2 -W ${waitS} ${host.nodeAddress} >/dev/null 2>&1 && echo icmp=yes || echo icmp=no &
icmp=$!
ip netns exec ${host.name} nc -z -w ${waitS} ${host.nodeAddress} ${NODE_PROBE_PORT} >/dev/null 2>&1 && echo tcp=yes || echo tcp=no &
wait $icmp $!`,
    { timeoutMs: 20_000 },
  );
  if (r.stdout.includes('listener=failed'))
    throw new GraderError(`could not start the node's probe listener on port ${NODE_PROBE_PORT}: ${r.stderr.trim()}`);
  return reachability(host, r.stdout.includes('icmp=yes'), r.stdout.includes('tcp=yes'));
}

function reachability(host: TestHost, icmp: boolean, tcp: boolean, how = ''): Reachability {
  return {
    icmp,
    tcp,
    detail: `from ${host.name} (${host.address}) to the node (${host.nodeAddress})${how}: ping ${icmp ? 'answered' : 'got no answer'}, TCP port ${NODE_PROBE_PORT} ${tcp ? 'connected' : 'did not connect'}`,
  };
}

/**
 * For checks that expect an answer: a probe that misses one is tried again with a longer wait, so
 * that a node slow to answer (a loaded host) never reads as one that drops. An answer seen in either
 * probe counts.
 */
export async function probeExpectingAnswer(node: Node, host: TestHost): Promise<Reachability> {
  const first = await probeNodeFrom(node, host);
  if (first.icmp && first.tcp) return first;
  const again = await probeNodeFrom(node, host, 4);
  return reachability(host, first.icmp || again.icmp, first.tcp || again.tcp, ', probed twice (1 s, then 4 s)');
}
