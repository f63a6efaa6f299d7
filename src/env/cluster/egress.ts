import { execa } from '../../vendor/execa.js';
import { GraderError } from '../../errors.js';
import { docker } from '../../docker.js';

export const EGRESS_COMMENT = 'kgrade: nothing from the cluster network leaves the machine';

/** The Linux bridge behind a docker network ("br-" and the first 12 characters of its id). */
export async function bridgeOf(network: string): Promise<string> {
  const r = await docker([
    'network',
    'inspect',
    '--format',
    '{{.Id}}|{{index .Options "com.docker.network.bridge.name"}}',
    network,
  ]);
  if (r.code !== 0) throw new GraderError(`docker network ${network} not found: ${r.stderr.trim()}`);
  const [id = '', name = ''] = r.stdout.trim().split('|');
  return name && name !== '<no value>' ? name : `br-${id.slice(0, 12)}`;
}

function ruleArgs(bridge: string): string[] {
  return ['DOCKER-USER', '-i', bridge, '!', '-o', bridge, '-m', 'comment', '--comment', EGRESS_COMMENT, '-j', 'DROP'];
}

/** iptables or ip6tables; -w waits for the xtables lock that a concurrent call (legacy backend) may hold. */
async function tool(cmd: string, args: string[]) {
  return execa(cmd, ['-w', '5', ...args], { reject: false, timeout: 30_000 });
}

/**
 * Drops, on the host, every packet the cluster's bridge would forward anywhere
 * but back onto itself: to the internet, to other private ranges, to other
 * docker networks. Traffic to the host itself (INPUT) and inside the cluster
 * network is untouched. IPv4 and IPv6.
 */
export async function guardEgress(network: string): Promise<string> {
  const bridge = await bridgeOf(network);
  // IPv4 and IPv6 are separate tables: both at once. IPv6 is best effort (a host may lack it).
  const guard = async (cmd: string): Promise<void> => {
    const chain = await tool(cmd, ['-S', 'DOCKER-USER']);
    if (chain.exitCode !== 0) {
      const made = await tool(cmd, ['-N', 'DOCKER-USER']);
      const jump = await tool(cmd, ['-I', 'FORWARD', '1', '-j', 'DOCKER-USER']);
      if (made.exitCode !== 0 || jump.exitCode !== 0) {
        if (cmd === 'ip6tables') return;
        throw new GraderError(`could not make ${cmd}'s DOCKER-USER chain: ${made.stderr || jump.stderr}`);
      }
    }
    const present = await tool(cmd, ['-C', ...ruleArgs(bridge)]);
    if (present.exitCode === 0) return;
    const add = await tool(cmd, ['-I', ...ruleArgs(bridge)]);
    if (add.exitCode !== 0 && cmd === 'iptables')
      throw new GraderError(`could not add the egress guard for ${bridge}: ${add.stderr}`);
  };
  await Promise.all([guard('iptables'), guard('ip6tables')]);
  return bridge;
}

/** Removes the guard rules of a bridge (every copy of them). */
export async function unguardEgress(bridge: string): Promise<void> {
  for (const cmd of ['iptables', 'ip6tables']) {
    for (let i = 0; i < 10; i++) {
      const del = await tool(cmd, ['-D', ...ruleArgs(bridge)]);
      if (del.exitCode !== 0) break;
    }
  }
}
