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
