/** Readers for what ping prints (busybox's and iputils' forms). */

export interface PingRun {
  /** The host as ping named it in "--- HOST ping statistics ---". */
  target: string;
  transmitted: number;
  received: number;
}

/**
 * Every statistics block in a text, in order:
 *   --- ping-target ping statistics ---
 *   3 packets transmitted, 3 packets received, 0% packet loss   (busybox)
 *   3 packets transmitted, 3 received, 0% packet loss, time 2003ms   (iputils)
 */
export function pingRuns(text: string): PingRun[] {
  const lines = text.split('\n').map((l) => l.trim());
  const runs: PingRun[] = [];
  lines.forEach((line, i) => {
    const head = /^---\s+(\S+)\s+ping statistics\s+---$/.exec(line);
    if (!head?.[1]) return;
    const counts = lines.slice(i + 1).find((l) => l !== '');
    const m = counts ? /^(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(counts) : null;
    if (m) runs.push({ target: head[1], transmitted: Number(m[1]), received: Number(m[2]) });
  });
  return runs;
}

/** Lines where ping said it could not start: an unknown host, a refused socket. */
export function pingErrors(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^ping: /.test(l));
}

/**
 * Whether `target` names the service `service` of `namespace`: its short name, the
 * name with the namespace, the service's full DNS name (any cluster domain, with or
 * without the final dot, in any letter case), or one of the addresses the name resolves to.
 */
export function namesService(
  target: string,
  service: string,
  namespace: string,
  addresses: readonly string[],
): boolean {
  const t = target.replace(/\.$/, '').toLowerCase();
  if (addresses.includes(t)) return true;
  if (t === service || t === `${service}.${namespace}` || t === `${service}.${namespace}.svc`) return true;
  return t.startsWith(`${service}.${namespace}.svc.`);
}
