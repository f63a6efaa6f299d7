import type * as k8s from '../vendor/kubernetes-client.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';
import { shellQuote } from '../node.js';
import { execInPod } from './pods.js';

/** One HTTP request made from inside the cluster, and what came back. */
export interface HttpAnswer {
  url: string;
  /** wget's exit status: 0 when the server answered 200 in full. */
  code: number;
  /** The body, at most BODY_CAP bytes; what arrived even when wget failed later. */
  body: string;
  /** wget's complaint when it failed (connection refused, reset, timeout). */
  error: string;
}

const BODY_CAP = 4096;
const REQUEST_SECONDS = 5;

/**
 * The shell script a busybox client runs: one wget per URL, each bounded by
 * `timeout` (busybox 1.35's `wget -T` crashes), its body and error base64-encoded
 * on one line so that no answer can break the listing. With `budgetSeconds`, no
 * request starts once that much time has passed: the rest have no result.
 */
export function requestScript(urls: string[], budgetSeconds?: number): string {
  const lines = [
    'd=$(mktemp -d)',
    'i=0',
    ...(budgetSeconds !== undefined ? [`end=$(( $(date +%s) + ${Math.max(1, Math.floor(budgetSeconds))} ))`] : []),
    `for u in ${urls.map(shellQuote).join(' ')}; do`,
    ...(budgetSeconds !== undefined ? ['  [ "$(date +%s)" -lt "$end" ] || break'] : []),
    `  timeout ${REQUEST_SECONDS} wget -qO "$d/body" "$u" 2>"$d/err"; rc=$?`,
    `  printf '@@kgrade %s %s %s %s\\n' "$i" "$rc" "$(head -c ${BODY_CAP} "$d/body" 2>/dev/null | base64 -w0)" "$(head -c 512 "$d/err" | base64 -w0)"`,
    '  rm -f "$d/body" "$d/err"; i=$((i+1))',
    'done',
    'rm -rf "$d"',
  ];
  return lines.join('\n');
}

/** Reads what requestScript printed back into answers, in the order of the URLs. */
export function parseAnswers(urls: string[], output: string): HttpAnswer[] {
  const byIndex = new Map<number, HttpAnswer>();
  for (const line of output.split('\n')) {
    const [mark, index, code, body = '', error = ''] = line.replace(/\r$/, '').split(' ');
    if (mark !== '@@kgrade' || !/^\d+$/.test(index ?? '') || !/^\d+$/.test(code ?? '')) continue;
    const i = Number(index);
    const url = urls[i];
    if (url === undefined) continue;
    byIndex.set(i, {
      url,
      code: Number(code),
      body: Buffer.from(body, 'base64').toString('utf8'),
      error: Buffer.from(error, 'base64').toString('utf8').trim(),
    });
  }
  return urls.map(
    (url, i) =>
      byIndex.get(i) ?? { url, code: -1, body: '', error: 'no result (the client stopped before this request)' },
  );
}

/** Whether the server answered at all: a body arrived, even if the connection ended badly afterwards. */
export function answered(a: HttpAnswer): boolean {
  return a.code === 0 || a.body.trim() !== '';
}

/** One answer in a few words for a report. */
export function describeAnswer(a: HttpAnswer): string {
  if (answered(a)) {
    const body = a.body.trim().replace(/\s+/g, ' ');
    return `"${body.length > 80 ? `${body.slice(0, 80)}…` : body}"${a.code === 0 ? '' : ` (then: ${a.error || `wget exit ${a.code}`})`}`;
  }
  return `no answer (${a.error || `wget exit ${a.code}`})`;
}

/**
 * The hostname the kubelet gives a pod: spec.hostname when set, else its name
 * cut to 63 characters (the limit of a hostname label).
 */
export function expectedHostname(pod: k8s.V1Pod): string {
  const name = pod.spec?.hostname ?? pod.metadata?.name ?? '';
  return name.length > 63 ? name.slice(0, 63).replace(/[-.]+$/, '') : name;
}

/** The names from `names` that a text holds as whole words (not as part of a longer name). */
export function namesIn(text: string, names: string[]): string[] {
  return names.filter((n) => {
    const at = (from: number): number => text.indexOf(n, from);
    for (let i = at(0); i >= 0; i = at(i + 1)) {
      const before = text[i - 1] ?? ' ';
      const after = text[i + n.length] ?? ' ';
      if (!/[A-Za-z0-9-]/.test(before) && !/[A-Za-z0-9-]/.test(after)) return true;
    }
    return false;
  });
}

/**
 * Makes the requests from a pod the grader started (a busybox client in the
 * namespace). Anything that keeps the client from running is the grader's error.
 * `budgetSeconds` stops starting requests after that long (see requestScript).
 */
export async function requestFromPod(
  kc: k8s.KubeConfig,
  namespace: string,
  client: string,
  urls: string[],
  timeoutMs: number,
  budgetSeconds?: number,
): Promise<HttpAnswer[]> {
  let r;
  try {
    r = await execInPod(kc, namespace, client, undefined, ['sh', '-c', requestScript(urls, budgetSeconds)], timeoutMs);
  } catch (err) {
    if (err instanceof SubmissionAssertionError)
      throw new GraderError(`the grader's client pod ${client}: ${err.message}`, { cause: err });
    throw err;
  }
  if (r.timedOut)
    throw new GraderError(
      `the grader's client pod ${client} did not finish ${urls.length} requests within ${Math.round(timeoutMs / 1000)} s`,
    );
  if (r.code !== 0)
    throw new GraderError(
      `the grader's client pod ${client} could not make its requests (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`,
    );
  return parseAnswers(urls, r.stdout);
}
