/** Parsers for what commands print on a node. */

/** The processes in a `ps -ax` / `ps ax` listing: one entry per line after the header. */
export function parsePsListing(text: string): Array<{ pid: number; command: string }> {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.findIndex((l) => /^PID\b/.test(l));
  if (header < 0) return [];
  const out: Array<{ pid: number; command: string }> = [];
  for (const line of lines.slice(header + 1)) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) break;
    const cols = (m[2] ?? '').split(/\s+/);
    out.push({ pid: Number(m[1]), command: cols.slice(3).join(' ') || cols.join(' ') });
  }
  return out;
}

/** Interface names from /proc/net/dev. */
export function parseNetDev(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^\s:|]+):/.exec(line);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

/** Interface names from `ip -o link` (drops the @peer suffix). */
export function parseIpLink(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

/** Whitespace-separated words of a command's output. */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** The address at `index` of a CIDR's range counted from the network address; negative counts back from broadcast. */
export function addressInSubnet(cidr: string, index: number): string {
  const [base = '', lenText = '32'] = cidr.split('/');
  const len = Number(lenText);
  const n = base.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const size = 2 ** (32 - len);
  const network = Math.floor(n / size) * size;
  const value = index >= 0 ? network + index : network + size - 1 + index;
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join('.');
}

/** `ctr -n k8s.io task ls`: container id -> its main process on the node. */
export function parseCtrTasks(text: string): Map<string, { pid: number; status: string }> {
  const out = new Map<string, { pid: number; status: string }>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{12,})\s+(\d+)\s+(\S+)/.exec(line.trim());
    if (m?.[1]) out.set(m[1], { pid: Number(m[2]), status: m[3] ?? '' });
  }
  return out;
}

export interface MountinfoEntry {
  majorMinor: string;
  /** The path inside the source file system that is mounted. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/mountinfo. */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || right === undefined) continue;
    const f = left.trim().split(' ');
    const r = right.trim().split(' ');
    if (f.length < 5) continue;
    out.push({
      majorMinor: f[2] ?? '',
      root: unescapeOctal(f[3] ?? ''),
      mountPoint: unescapeOctal(f[4] ?? ''),
      fsType: r[0] ?? '',
      source: r[1] ?? '',
    });
  }
  return out;
}

export interface IpInterface {
  index: number;
  name: string;
  /** The peer's interface index in the other namespace ("eth0@if7" -> 7). */
  peerIndex?: number;
  addresses: Array<{ family: 'inet' | 'inet6'; address: string; prefix: number }>;
}

/** `ip a` / `ip addr` (iproute2 or busybox), multi-line or -o form. */
export function parseIpAddr(text: string): IpInterface[] {
  const out: IpInterface[] = [];
  let current: IpInterface | undefined;
  for (const raw of text.split('\n')) {
    const head = /^(\d+):\s+([^:@\s]+)(?:@(?:if(\d+)|[^:\s]+))?:?\s/.exec(raw);
    if (head) {
      const index = Number(head[1]);
      const existing = out.find((i) => i.index === index);
      if (existing) current = existing;
      else {
        current = { index, name: head[2] ?? '', addresses: [] };
        if (head[3]) current.peerIndex = Number(head[3]);
        out.push(current);
      }
    }
    if (!current) continue;
    for (const m of raw.matchAll(/\b(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)/g)) {
      current.addresses.push({
        family: m[1] === 'inet6' ? 'inet6' : 'inet',
        address: m[2] ?? '',
        prefix: Number(m[3]),
      });
    }
  }
  return out;
}

export interface Route {
  destination: string;
  dev?: string;
  via?: string;
}

/** `ip route` (IPv4). */
export function parseIpRoute(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (!w[0]) continue;
    const at = (k: string) => {
      const i = w.indexOf(k);
      return i >= 0 ? w[i + 1] : undefined;
    };
    const dev = at('dev');
    const via = at('via');
    out.push({ destination: w[0], ...(dev ? { dev } : {}), ...(via ? { via } : {}) });
  }
  return out;
}

/** The most specific route for an address: a host route "10.244.0.7" or "10.244.0.7/32", else the longest prefix. */
export function routeFor(
  routes: Route[],
  ip: string,
  contains: (cidr: string, ip: string) => boolean,
): Route | undefined {
  const prefix = (r: Route) => (r.destination === 'default' ? 0 : Number(r.destination.split('/')[1] ?? 32));
  return routes
    .filter((r) => r.destination === 'default' || contains(r.destination, ip))
    .sort((a, b) => prefix(b) - prefix(a))[0];
}

/** The nameservers of a resolv.conf. */
export function resolvNameservers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x));
}

/**
 * The addresses an nslookup answered for the name (busybox or BIND format): the Address lines
 * after the first "Name:" line; the server's own "Address:" line comes before it.
 */
export function nslookupAnswers(text: string): string[] {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => /^Name:/.test(l.trim()));
  if (first < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(first)) {
    const m = /^Address(?:es)?(?:\s+\d+)?:\s*(\S+)/.exec(l.trim());
    if (m?.[1]) out.push(m[1].replace(/#\d+$/, ''));
  }
  return out;
}

/** Whether a process's argv is the command: the first word compared by its base name ("/bin/sleep" is "sleep"), the rest exactly. */
export function argvIs(argv: string[], words: string[]): boolean {
  if (argv.length !== words.length || argv.length === 0) return false;
  const base = (argv[0] ?? '').split('/').at(-1);
  return base === words[0] && argv.slice(1).every((a, i) => a === words[i + 1]);
}

/** `ps -e -o pid=,ppid=`: the processes below `root`, root included. */
export function descendants(psText: string, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of psText.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const ppid = Number(m[2]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift() as number;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}
