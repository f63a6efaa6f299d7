import * as k8s from '../vendor/kubernetes-client.js';
import { parseIptablesSave, type Ruleset } from '../check/iptables.js';
import { sh, type Node } from '../node.js';
import { GraderError } from '../errors.js';
import { serviceEndpoints } from './endpoints.js';
import { nftServiceRouting, parseNftDump } from './kube-proxy-nft.js';
import { execInPod } from './pods.js';
import { podStarted } from './readiness.js';

/**
 * How kube-proxy sends a service port to its endpoints. In iptables mode, read off a node's
 * nat table: the KUBE-SVC chain of the port, its jumps to KUBE-SEP chains (with the
 * statistic match that spreads the load), and the DNAT target of each KUBE-SEP chain.
 * Chains are found by kube-proxy's comments ("kube-system/kube-dns:dns-tcp"), never by
 * their hashed names. nftables mode is read by kube-proxy-nft.ts into the same shape.
 */
export interface ServiceRouting {
  /** "namespace/service:port-name", as kube-proxy writes it in its comments. */
  servicePort: string;
  serviceChain: string;
  /** How the chain was found, for the report. */
  foundBy: string;
  jumps: EndpointJump[];
  /** The share of new connections each jump gets, in order: 1/n each when the load is spread evenly. */
  shares: number[];
  targets: DnatTarget[];
  /** How the rules spread the load, in words, when the mode says it its own way (nftables' numgen map). */
  spread?: string;
}

export interface EndpointJump {
  chain: string;
  /** The statistic match's probability, or null for a jump with no statistic match. */
  probability: number | null;
  rule: string;
}

export interface DnatTarget {
  chain: string;
  ip: string;
  port: number;
  rule: string;
}

/** The value of an option in a rule's argument list (`--comment X` -> X). */
function option(rule: string[], name: string): string | undefined {
  const i = rule.indexOf(name);
  return i >= 0 ? rule[i + 1] : undefined;
}

function target(rule: string[]): string | undefined {
  return option(rule, '-j') ?? option(rule, '--jump') ?? option(rule, '-g') ?? option(rule, '--goto');
}

/** Whether a kube-proxy comment names exactly this service port ("ns/svc:port", maybe followed by " cluster IP" or " -> ip:port"). */
export function commentNames(comment: string | undefined, servicePort: string): boolean {
  if (comment === undefined) return false;
  return comment === servicePort || comment.startsWith(`${servicePort} `);
}

function ruleText(chain: string, rule: string[]): string {
  return `-A ${chain} ${rule.map((t) => (/\s/.test(t) ? `"${t}"` : t)).join(' ')}`;
}

/**
 * The KUBE-SVC chain of a service port: the target of the KUBE-SERVICES rule whose comment
 * is "<port> cluster IP"; failing that, the one KUBE-SVC chain whose rules carry the port's
 * comment (older kube-proxy versions comment the jumps with the bare port name).
 */
export function findServiceChain(
  nat: Map<string, string[][]>,
  servicePort: string,
): { chain: string; foundBy: string } | undefined {
  for (const rule of nat.get('KUBE-SERVICES') ?? []) {
    const t = target(rule);
    const comment = option(rule, '--comment');
    if (t?.startsWith('KUBE-SVC-') && comment === `${servicePort} cluster IP`) {
      return { chain: t, foundBy: `the KUBE-SERVICES rule commented "${comment}" jumps to ${t}` };
    }
  }
  const candidates = [...nat.entries()].filter(
    ([chain, rules]) =>
      chain.startsWith('KUBE-SVC-') && rules.some((r) => commentNames(option(r, '--comment'), servicePort)),
  );
  if (candidates.length === 1 && candidates[0]) {
    return {
      chain: candidates[0][0],
      foundBy: `${candidates[0][0]} is the one KUBE-SVC chain whose rules are commented "${servicePort}"`,
    };
  }
  return undefined;
}

/** The share of new connections each jump of a chain gets, when jumps are tried in order. */
export function sharesOf(jumps: Array<{ probability: number | null }>): number[] {
  let left = 1;
  return jumps.map((j) => {
    const share = left * (j.probability ?? 1);
    left -= share;
    return share;
  });
}

/** Splits "10.244.0.5:53" or "[fd00::5]:53" into address and port. */
export function splitHostPort(text: string): { ip: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m?.[1] || !m[2]) return undefined;
  return { ip: m[1], port: Number(m[2]) };
}

/**
 * Reads how the nat table sends a service port to its endpoints; undefined when the table has
 * no KUBE-SVC chain for it.
 */
export function serviceRouting(rules: Ruleset, servicePort: string): ServiceRouting | undefined {
  const nat = rules.get('nat');
  if (!nat) return undefined;
  const found = findServiceChain(nat, servicePort);
  if (!found) return undefined;
  const jumps: EndpointJump[] = [];
  for (const rule of nat.get(found.chain) ?? []) {
    const t = target(rule);
    if (!t?.startsWith('KUBE-SEP-')) continue;
    const statistic = option(rule, '--mode') === 'random' ? option(rule, '--probability') : undefined;
    jumps.push({
      chain: t,
      probability: statistic === undefined ? null : Number(statistic),
      rule: ruleText(found.chain, rule),
    });
  }
  const targets: DnatTarget[] = [];
  for (const jump of jumps) {
    for (const rule of nat.get(jump.chain) ?? []) {
      if (target(rule) !== 'DNAT') continue;
      const to = splitHostPort(option(rule, '--to-destination') ?? '');
      if (to) targets.push({ chain: jump.chain, ...to, rule: ruleText(jump.chain, rule) });
    }
  }
  return { servicePort, serviceChain: found.chain, foundBy: found.foundBy, jumps, shares: sharesOf(jumps), targets };
}

/** What is wrong with how the jumps spread the load over n endpoints; empty when each gets 1/n. */
export function spreadProblems(routing: ServiceRouting): string[] {
  const n = routing.jumps.length;
  if (n === 0) return [`${routing.serviceChain} jumps to no KUBE-SEP chain`];
  const problems: string[] = [];
  routing.shares.forEach((share, i) => {
    if (Math.abs(share - 1 / n) > 1e-4) {
      const j = routing.jumps[i];
      problems.push(
        `${j?.chain ?? '?'} gets ${share.toFixed(4)} of the connections (probability ${j?.probability ?? 'none'}), not 1/${n}`,
      );
    }
  });
  return problems;
}

/** The statistic matches in words: "probability 0.5 then the rest" for two endpoints, "no statistic match" for one. */
export function describeSpread(routing: ServiceRouting): string {
  if (routing.spread) return routing.spread;
  const n = routing.jumps.length;
  if (n === 1)
    return `one endpoint: ${routing.serviceChain} jumps to ${routing.jumps[0]?.chain ?? '?'} with no statistic match`;
  const parts = routing.jumps.map((j) =>
    j.probability === null
      ? `${j.chain} (the rest)`
      : `${j.chain} with statistic mode random probability ${j.probability}`,
  );
  return `${n} endpoints: ${routing.serviceChain} jumps to ${parts.join(', then ')}`;
}

export interface NatDump {
  /** Which iptables held the service's rules: "iptables-nft", "iptables-legacy" or "iptables" (the node's default). */
  variant: string;
  rules: Ruleset;
  /** The variants that were read and whether they hold any KUBE-SERVICES chain, for the report. */
  seen: string[];
}

/** Splits the output of several iptables-save runs, each headed "### <variant>". */
export function splitDumps(text: string): Array<{ variant: string; text: string }> {
  const out: Array<{ variant: string; text: string }> = [];
  let current: { variant: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    const m = /^### (\S+)$/.exec(line);
    if (m?.[1]) {
      if (current) out.push({ variant: current.variant, text: current.lines.join('\n') });
      current = { variant: m[1], lines: [] };
    } else current?.lines.push(line);
  }
  if (current) out.push({ variant: current.variant, text: current.lines.join('\n') });
  return out;
}

/** A dump's heading ("nft", "legacy", "iptables") as the tool that wrote it: "iptables-nft", ... */
function iptablesName(variant: string): string {
  return variant === 'iptables' ? 'iptables' : `iptables-${variant}`;
}

/** Of the dumps, the one whose nat table has a KUBE-SVC chain for the port (the most kube-proxy chains first). */
export function pickDump(dumps: Array<{ variant: string; text: string }>, servicePort: string): NatDump | undefined {
  const parsed = dumps.map((d) => ({ variant: d.variant, rules: parseIptablesSave(d.text) }));
  const kubeChains = (r: Ruleset) => [...(r.get('nat')?.keys() ?? [])].filter((c) => c.startsWith('KUBE-')).length;
  const seen = parsed.map((p) => `${iptablesName(p.variant)}: ${kubeChains(p.rules)} KUBE- chains in nat`);
  const holding = parsed
    .filter((p) => serviceRouting(p.rules, servicePort))
    .sort((a, b) => kubeChains(b.rules) - kubeChains(a.rules));
  const best = holding[0];
  return best ? { variant: iptablesName(best.variant), rules: best.rules, seen } : undefined;
}

const SAVE_SCRIPT = [
  'for v in nft legacy; do',
  '  if command -v iptables-$v-save >/dev/null 2>&1; then echo "### $v"; iptables-$v-save -t nat 2>/dev/null; fi',
  'done',
  'if ! command -v iptables-nft-save >/dev/null 2>&1 && ! command -v iptables-legacy-save >/dev/null 2>&1; then echo "### iptables"; iptables-save -t nat; fi',
  // kube-proxy's nftables mode keeps its own table; the node may lack the nft tool (then see readServiceRouting)
  'if command -v nft >/dev/null 2>&1; then echo "### nftables"; nft -j list table ip kube-proxy 2>/dev/null; echo; fi',
  'echo "### end"',
].join('\n');

/** Reads `nft -j list table ip kube-proxy` elsewhere than on the node (in kube-proxy's own pod): its text and where it was read, or undefined. */
export type NftReader = () => Promise<{ text: string; where: string } | undefined>;

/**
 * Reads how the node routes the service port: kube-proxy's iptables rules (iptables-nft-save
 * and iptables-legacy-save, whichever holds them), else its nftables table. A node without
 * the nft tool has its table read by `fromPod` (kube-proxy's pod on that node, which needs
 * nft for nftables mode itself). A node the grader cannot read is the grader's error;
 * no routing when no form holds the port's rules.
 */
export async function readServiceRouting(
  node: Node,
  servicePort: string,
  timeoutMs: number,
  fromPod?: NftReader,
): Promise<{ routing?: ServiceRouting; variant?: string; seen: string[] }> {
  const r = await sh(node, SAVE_SCRIPT, { timeoutMs });
  if (r.timedOut || r.code !== 0 || r.truncated) {
    throw new GraderError(
      `reading the nat table on node ${node.name} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}${r.truncated ? ', output cut' : ''}): ${r.stderr.trim().slice(0, 300)}`,
    );
  }
  const all = splitDumps(r.stdout).filter((d) => d.variant !== 'end');
  const dumps = all.filter((d) => d.variant !== 'nftables');
  const picked = pickDump(dumps, servicePort);
  const seen =
    picked?.seen ??
    dumps.map(
      (d) =>
        `${iptablesName(d.variant)}: ${[...(parseIptablesSave(d.text).get('nat')?.keys() ?? [])].filter((c) => c.startsWith('KUBE-')).length} KUBE- chains in nat`,
    );
  if (picked) return { routing: serviceRouting(picked.rules, servicePort), variant: picked.variant, seen };
  const onNode = all.find((d) => d.variant === 'nftables');
  let nft: { text: string; where: string } | undefined = onNode
    ? { text: onNode.text, where: 'on the node' }
    : undefined;
  if (!onNode) {
    seen.push('no nft tool on the node');
    nft = fromPod ? await fromPod() : undefined;
  }
  if (!nft) return { seen };
  const dump = parseNftDump(nft.text);
  const routing = dump ? nftServiceRouting(dump, servicePort) : undefined;
  seen.push(
    `nftables ${nft.where}: ${dump ? `table ip kube-proxy, ${dump.chains.size} chains, ${routing ? `a service chain for ${servicePort}` : `no service chain for ${servicePort}`}` : 'no table ip kube-proxy'}`,
  );
  return routing ? { routing, variant: `nftables, read ${nft.where}`, seen } : { seen };
}

export interface ReadyEndpoint {
  ip: string;
  port: number;
  pod: string;
}

/** The ready IPv4 endpoints of one named port of a service, from its EndpointSlices. */
export async function readyEndpoints(
  kc: k8s.KubeConfig,
  namespace: string,
  service: string,
  portName: string,
): Promise<ReadyEndpoint[]> {
  const all = await serviceEndpoints(kc, namespace, service);
  const seen = new Set<string>();
  const out: ReadyEndpoint[] = [];
  for (const e of all) {
    if (!e.ready || e.portName !== portName || e.ip.includes(':')) continue;
    const key = `${e.ip}:${e.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ip: e.ip, port: e.port, pod: e.pod });
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip));
}

/** Whether the DNAT targets are exactly the endpoints (as ip:port sets), and what differs. */
export function compareTargets(
  targets: DnatTarget[],
  endpoints: Array<{ ip: string; port: number }>,
): { same: boolean; missing: string[]; extra: string[] } {
  const t = new Set(targets.map((x) => `${x.ip}:${x.port}`));
  const e = new Set(endpoints.map((x) => `${x.ip}:${x.port}`));
  const missing = [...e].filter((x) => !t.has(x)).sort();
  const extra = [...t].filter((x) => !e.has(x)).sort();
  return { same: missing.length === 0 && extra.length === 0 && targets.length === t.size, missing, extra };
}

/** kube-proxy's mode from its ConfigMap (kubeadm's kube-system/kube-proxy, config.conf): "iptables", "nftables", "ipvs"; "" is iptables on Linux. */
export async function kubeProxyMode(kc: k8s.KubeConfig): Promise<string | undefined> {
  try {
    const cm = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedConfigMap({ name: 'kube-proxy', namespace: 'kube-system' });
    const conf = cm.data?.['config.conf'] ?? '';
    const mode = /^mode:\s*"?([\w-]*)"?\s*$/m.exec(conf)?.[1];
    return mode === undefined ? undefined : mode || 'iptables (the default)';
  } catch {
    return undefined;
  }
}

/**
 * Reads kube-proxy's nftables table in its own pod on a node (host network, so the node's
 * table): for nodes that lack the nft tool. Undefined when no such pod runs or it cannot
 * read the table (kube-proxy in iptables mode need not ship nft).
 */
export function nftInKubeProxyPod(kc: k8s.KubeConfig, nodeName: string, timeoutMs: number): NftReader {
  return async () => {
    const pods = await kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({
        namespace: 'kube-system',
        labelSelector: 'k8s-app=kube-proxy',
        fieldSelector: `spec.nodeName=${nodeName}`,
      })
      .catch(() => undefined);
    const pod = pods?.items.find(podStarted)?.metadata?.name;
    if (!pod) return undefined;
    const r = await execInPod(
      kc,
      'kube-system',
      pod,
      undefined,
      ['nft', '-j', 'list', 'table', 'ip', 'kube-proxy'],
      timeoutMs,
    );
    if (r.code !== 0 || r.timedOut) return undefined;
    return { text: r.stdout, where: `in pod kube-system/${pod}` };
  };
}
