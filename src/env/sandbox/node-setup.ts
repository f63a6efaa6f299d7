import { GraderError } from '../../errors.js';
import type { Node } from '../../node.js';

/** What every sandbox may use, whatever keeps it apart from the host. */
export const LIMITS = { memoryBytes: 2 * 1024 ** 3, pids: 4096, cpus: 1.5 } as const;

/**
 * The node's PID 1: a bash loop. It reaps orphans (the submission's background
 * servers) and, being PID 1, is the one process `kill -9 -1` cannot reach, so a
 * submission that kills everything still leaves the node standing. (tini would
 * exit with its child.)
 */
export const INIT = ['bash', '-c', 'while :; do sleep 2147483647 & wait $!; done'];

/** The node's hostname, as a kind node has its own. */
export const HOSTNAME = 'node';

/**
 * Gives the node an eth0 like a real node's: a veth whose peer sits on a bridge
 * in the namespace kgrade-lan, where test hosts are plugged in too. The sandbox
 * itself has no network: nothing reaches past it.
 */
const NODE_NETWORK = `set -e
ip link set lo up
ip netns add kgrade-lan
ip -n kgrade-lan link set lo up
ip -n kgrade-lan link add br0 type bridge
ip -n kgrade-lan link set br0 up
ip link add eth0 type veth peer name node0 netns kgrade-lan
ip -n kgrade-lan link set node0 master br0 up
ip link set eth0 up
`;

/** Makes a freshly started sandbox look like a node: its network. Throws GraderError. */
export async function prepareNode(node: Node): Promise<void> {
  const net = await node.exec(['bash', '-c', NODE_NETWORK]);
  if (net.code !== 0) throw new GraderError(`could not give the sandbox ${node.name} its eth0: ${net.stderr.trim()}`);
}
