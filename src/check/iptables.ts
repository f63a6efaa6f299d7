/** iptables-save output, parsed: table -> chain -> rules (each rule as its argument list after "-A CHAIN"). */
export type Ruleset = Map<string, Map<string, string[][]>>;

function tokens(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
  return out;
}

export function parseIptablesSave(text: string): Ruleset {
  const tables: Ruleset = new Map();
  let current: Map<string, string[][]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1);
      current = tables.get(name) ?? new Map();
      tables.set(name, current);
    } else if (line.startsWith(':') && current) {
      const chain = line.slice(1).split(/\s+/)[0] ?? '';
      if (!current.has(chain)) current.set(chain, []);
    } else if ((line.startsWith('-A ') || line.startsWith('-I ')) && current) {
      const [, chain = '', ...rest] = tokens(line);
      const rules = current.get(chain) ?? [];
      rules.push(rest);
      current.set(chain, rules);
    }
  }
  return tables;
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** Whether the CIDR (or bare address) covers the address. */
export function cidrContains(cidr: string, address: string): boolean {
  const [base = '', lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const a = ipToInt(base);
  const b = ipToInt(address);
  if (a === undefined || b === undefined || !Number.isInteger(len) || len < 0 || len > 32) return false;
  if (len === 0) return true;
  const shift = 32 - len;
  return Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift);
}

interface RuleShape {
  source?: string;
  negatedSource: boolean;
  target?: string;
  /** Matches other than the source and comments: any of these narrows the rule. */
  narrowing: string[];
}

function shapeOf(rule: string[]): RuleShape {
  const shape: RuleShape = { negatedSource: false, narrowing: [] };
  for (let i = 0; i < rule.length; i++) {
    const t = rule[i] ?? '';
    const next = rule[i + 1];
    if (shape.target !== undefined) break; // what follows -j are the target's options (--reject-with, --log-prefix)
    if (t === '!' && (next === '-s' || next === '--source')) {
      shape.negatedSource = true;
    } else if (t === '-s' || t === '--source') {
      shape.source = next;
      i++;
    } else if (t === '-j' || t === '--jump' || t === '-g' || t === '--goto') {
      shape.target = next;
      i++;
    } else if (t === '-m' && next === 'comment') {
      i++;
    } else if (t === '--comment') {
      i++;
    } else if (t.startsWith('-')) {
      shape.narrowing.push(t);
    }
  }
  return shape;
}

export interface DropFinding {
  /** The rule (as iptables-save prints it) that drops the source, with the chain path followed. */
  rule?: string;
  /** Rules that mention the source but do not drop all of its traffic, with why. */
  nearMisses: string[];
}

/** Whether chain `chain` of table filter drops every packet from `source`, following jumps to user chains. */
export function findDropOf(rules: Ruleset, source: string, chain = 'INPUT'): DropFinding {
  const filter = rules.get('filter') ?? new Map<string, string[][]>();
  const nearMisses: string[] = [];
  const dropsUnconditionally = (name: string, seen: Set<string>): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    for (const r of filter.get(name) ?? []) {
      const s = shapeOf(r);
      if (s.narrowing.length || s.negatedSource) continue;
      if (s.source !== undefined && !cidrContains(s.source, source)) continue;
      if (s.target === 'DROP') return true;
      if (s.target && filter.has(s.target)) return dropsUnconditionally(s.target, seen);
      if (s.target === 'ACCEPT' || s.target === 'RETURN') return false;
    }
    return false;
  };
  for (const r of filter.get(chain) ?? []) {
    const s = shapeOf(r);
    const text = `-A ${chain} ${r.join(' ')}`;
    const covers = !s.negatedSource && (s.source === undefined || cidrContains(s.source, source));
    if (covers && s.narrowing.length === 0 && s.target === 'ACCEPT') {
      return { nearMisses: [...nearMisses, `${text} accepts this traffic before any DROP can see it`] };
    }
    if (s.source === undefined || s.negatedSource || !cidrContains(s.source, source)) continue;
    if (s.narrowing.length) {
      nearMisses.push(`${text} (only some traffic: ${s.narrowing.join(' ')})`);
      continue;
    }
    if (s.target === 'DROP') return { rule: text, nearMisses };
    if (s.target && filter.has(s.target) && dropsUnconditionally(s.target, new Set([chain]))) {
      return { rule: `${text} (chain ${s.target} drops)`, nearMisses };
    }
    nearMisses.push(`${text} (target ${s.target ?? 'none'}, not DROP)`);
  }
  return { nearMisses };
}
