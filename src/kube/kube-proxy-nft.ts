import type { DnatTarget, EndpointJump, ServiceRouting } from './kube-proxy.js';

/*
 * kube-proxy in nftables mode, read off `nft -j list table ip kube-proxy`. It writes no
 * comment per service: instead each chain's name carries a hash and then the readable
 * service port, "service-<HASH>-<namespace>/<service>/<protocol>/<port name>", and its
 * endpoint chains "endpoint-<HASH>-<namespace>/<service>/<protocol>/<port name>__<ip>/<port>".
 * The service chain is found by that readable part and by the element of the service-ips
 * verdict map that sends the cluster IP to it, never by the hash. Its load spreading is one
 * `numgen random mod N vmap { 0 : goto A, 1 : goto B, ... }`: each key gets 1/N.
 */

/** One statement list of `nft -j` (a rule's "expr"); only the fields read here are typed. */
type Expr = Record<string, unknown>;

interface NftRule {
  chain: string;
  expr: Expr[];
}

interface NftDump {
  chains: Set<string>;
  rules: NftRule[];
  /** The service-ips map: "ip . proto . port" -> target chain. */
  serviceIps: Array<{ key: string; target: string }>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The chain a verdict ({"goto": {"target": X}} or {"jump": ...}) sends to. */
function verdictTarget(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  for (const k of ['goto', 'jump']) {
    const t = v[k];
    if (isObject(t) && typeof t.target === 'string') return t.target;
  }
  return undefined;
}

function keyText(k: unknown): string {
  if (isObject(k) && Array.isArray(k.concat)) return k.concat.map(String).join(' . ');
  return String(k);
}

/** Parses the JSON of `nft -j list table ip kube-proxy`; undefined when it is not that (no table, not JSON). */
export function parseNftDump(text: string): NftDump | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const items = isObject(doc) && Array.isArray(doc.nftables) ? (doc.nftables as unknown[]) : undefined;
  if (!items) return undefined;
  const dump: NftDump = { chains: new Set(), rules: [], serviceIps: [] };
  for (const item of items) {
    if (!isObject(item)) continue;
    const chain = item.chain;
    if (isObject(chain) && typeof chain.name === 'string') dump.chains.add(chain.name);
    const rule = item.rule;
    if (isObject(rule) && typeof rule.chain === 'string' && Array.isArray(rule.expr))
      dump.rules.push({ chain: rule.chain, expr: rule.expr.filter(isObject) });
    const map = item.map;
    if (isObject(map) && map.name === 'service-ips' && Array.isArray(map.elem)) {
      for (const e of map.elem) {
        if (!Array.isArray(e)) continue;
        const target = verdictTarget(e[1]);
        if (target) dump.serviceIps.push({ key: keyText(e[0]), target });
      }
    }
  }
  return dump.chains.size ? dump : undefined;
}

/** "kube-system/kube-dns:dns-tcp" -> the readable tail of its chains' names, without the protocol. */
function readableParts(servicePort: string): { nsName: string; port: string } | undefined {
  const m = /^([^/]+\/[^:]+):(.+)$/.exec(servicePort);
  return m?.[1] && m[2] ? { nsName: m[1], port: m[2] } : undefined;
}

/** Whether a chain name is the service chain of the port: "service-<HASH>-ns/svc/<proto>/<port>". */
export function isServiceChainOf(chain: string, servicePort: string): boolean {
  const parts = readableParts(servicePort);
  if (!parts) return false;
  const m = /^service-[A-Z0-9]+-(.+)\/(tcp|udp|sctp)\/([^/]+)$/.exec(chain);
  return m?.[1] === parts.nsName && m[3] === parts.port;
}

/** The numgen verdict map of a service chain: [key, endpoint chain] pairs and N, or undefined. */
function numgenMap(rule: NftRule): { mod: number; keys: Array<{ key: number; target: string }> } | undefined {
  for (const e of rule.expr) {
    const vmap = e.vmap;
    if (!isObject(vmap) || !isObject(vmap.key) || !isObject(vmap.key.numgen) || !isObject(vmap.data)) continue;
    const numgen = vmap.key.numgen;
    if (numgen.mode !== 'random' || typeof numgen.mod !== 'number') continue;
    const set = Array.isArray(vmap.data.set) ? vmap.data.set : [];
    const keys: Array<{ key: number; target: string }> = [];
    for (const pair of set) {
      if (!Array.isArray(pair)) continue;
      const target = verdictTarget(pair[1]);
      if (typeof pair[0] === 'number' && target) keys.push({ key: pair[0], target });
    }
    return { mod: numgen.mod, keys };
  }
  return undefined;
}

/** A rule as nft prints it, roughly: enough for a reader of the report to find it. */
function ruleText(rule: NftRule): string {
  const parts = rule.expr.map((e) => {
    if (isObject(e.dnat)) return `dnat to ${String(e.dnat.addr)}:${String(e.dnat.port)}`;
    if (isObject(e.vmap) && isObject(e.vmap.key) && isObject(e.vmap.key.numgen) && isObject(e.vmap.data)) {
      const set = Array.isArray(e.vmap.data.set) ? e.vmap.data.set : [];
      const pairs = set.map((p) => (Array.isArray(p) ? `${String(p[0])} : goto ${verdictTarget(p[1]) ?? '?'}` : '?'));
      return `numgen random mod ${String(e.vmap.key.numgen.mod)} vmap { ${pairs.join(', ')} }`;
    }
    return Object.keys(e)[0] ?? '';
  });
  return `chain ${rule.chain}: ${parts.join(' ')}`;
}

/**
 * How kube-proxy's nftables rules send a service port to its endpoints; undefined when the
 * table holds no service chain for it that the service-ips map reaches.
 */
export function nftServiceRouting(dump: NftDump, servicePort: string): ServiceRouting | undefined {
  const entry = dump.serviceIps.find((e) => isServiceChainOf(e.target, servicePort));
  if (!entry) return undefined;
  const chain = entry.target;
  const foundBy = `the service-ips map sends ${entry.key} to ${chain}, whose name ends in the service port`;
  const rules = dump.rules.filter((r) => r.chain === chain);
  const jumps: EndpointJump[] = [];
  const shares: number[] = [];
  for (const rule of rules) {
    const map = numgenMap(rule);
    if (!map) continue;
    const text = ruleText(rule);
    const counts = new Map<string, number>();
    for (let k = 0; k < map.mod; k++) {
      const t = map.keys.find((x) => x.key === k)?.target;
      if (t) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    for (const [target, count] of counts) {
      jumps.push({ chain: target, probability: null, rule: text });
      shares.push(count / map.mod);
    }
  }
  const targets: DnatTarget[] = [];
  for (const jump of jumps) {
    for (const rule of dump.rules.filter((r) => r.chain === jump.chain)) {
      for (const e of rule.expr) {
        const dnat = e.dnat;
        if (isObject(dnat) && typeof dnat.addr === 'string' && typeof dnat.port === 'number') {
          targets.push({ chain: jump.chain, ip: dnat.addr, port: dnat.port, rule: ruleText(rule) });
        }
      }
    }
  }
  const n = jumps.length;
  const mods = rules.map(numgenMap).filter((m) => m !== undefined);
  const spread =
    n === 0
      ? `${chain} has no numgen map to endpoint chains`
      : `${n} endpoint(s): ${chain} picks with numgen random mod ${mods.map((m) => m.mod).join(', ')}, ${jumps.map((j, i) => `${j.chain} ${(shares[i] ?? 0).toFixed(4)}`).join(', ')}`;
  return { servicePort, serviceChain: chain, foundBy, jumps, shares, targets, spread };
}
