import * as k8s from '../vendor/kubernetes-client.js';
import { fail, SubmissionAssertionError } from '../errors.js';
import { api } from './client.js';
import { podLogs, podState, waitForPod } from './pods.js';

function ready(p: k8s.V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function allRunning(p: k8s.V1Pod): boolean {
  const statuses = p.status?.containerStatuses ?? [];
  return statuses.length > 0 && statuses.every((s) => s.state?.running !== undefined);
}

/** Which container run each container is on: its ID and restart count. */
function runs(p: k8s.V1Pod): string {
  return (p.status?.containerStatuses ?? []).map((s) => `${s.name}=${s.containerID ?? ''}#${s.restartCount}`).join(',');
}

function latestStart(p: k8s.V1Pod): number {
  const starts = (p.status?.containerStatuses ?? []).map((s) => {
    const t = s.state?.running?.startedAt;
    return t ? new Date(t as unknown as string).getTime() : Date.now();
  });
  return Math.max(0, ...starts);
}

/**
 * Waits until the pod is Ready with every container running, and still is, on the same
 * container runs, `settleMs` after the last container started. A container that exits at
 * once and is restarted (CrashLoopBackOff) is Ready for an instant now and then: this
 * wait does not take that instant for a running pod.
 */
export async function waitForSteadyPod(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  timeoutMs: number,
  settleMs = 5000,
): Promise<k8s.V1Pod> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let flapped: k8s.V1Pod | undefined;
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const seen = await waitForPod(kc, namespace, name, {
        what: 'to be Ready and keep running',
        timeoutMs: remaining,
        until: (p) => ready(p) && allRunning(p),
        hopeless: (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
      });
      const wait = Math.max(0, latestStart(seen) + settleMs - Date.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, settleMs)));
      const again = await api(kc, `reading pod ${name}`, () => core.readNamespacedPod({ name, namespace }));
      if (ready(again) && allRunning(again) && runs(again) === runs(seen)) return again;
      flapped = again;
      // Not steady: wait for the next start, a little later.
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    if (!(err instanceof SubmissionAssertionError)) throw err;
    fail(
      `${flapped ? `expected pod ${name} to be Ready and keep running within ${Math.round(timeoutMs / 1000)} s: it was Ready only for moments; then ` : ''}${err.message}${await lastWords(kc, namespace, name)}`,
    );
  }
  fail(
    `expected pod ${name} to be Ready and keep running: within ${Math.round(timeoutMs / 1000)} s it was Ready only for moments; its containers keep ending; last seen: ${podState(flapped)}${await lastWords(kc, namespace, name)}`,
  );
}

/** The end of the pod's log, where a container that keeps ending usually says why. */
async function lastWords(kc: k8s.KubeConfig, namespace: string, name: string): Promise<string> {
  const log = await podLogs(kc, namespace, name).catch(() => '');
  const tail = log.trim().split('\n').slice(-3).join(' | ');
  return tail ? `; its log ends: ${tail}` : '';
}
