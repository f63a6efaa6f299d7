import * as k8s from '../vendor/kubernetes-client.js';
import { fail, SubmissionAssertionError } from '../errors.js';
import { api } from './client.js';
import { podState, waitForPod } from './pods.js';

/*
 * What "Ready" and "Running" mean, one function a meaning, for every check and wait that asks:
 * - podReady: the kubelet says the pod is Ready (its readiness probes pass);
 * - podServing: Ready, Running and not being deleted: a replica that counts and that a Service sends to;
 * - podStarted: its phase is Running (scheduled, sandbox up, one container started): enough for
 *   the grader's own pods, never a verdict on a student's;
 * - containersUp: Running with every container running at this moment;
 * - podEnded: Succeeded or Failed, from where it will never run again;
 * - containerHasRun: a container is running or has run (a pod that prints and exits);
 * - nodeReady: a node the kubelet reports Ready.
 * A student's pod is judged Running or Ready by waitForSteadyPod: up, and still up on the same
 * container runs a moment later, so that a container that exits at once does not pass.
 */

function condition(conditions: Array<{ type: string; status: string }> | undefined, type: string): boolean {
  return conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

export function podReady(pod: k8s.V1Pod): boolean {
  return condition(pod.status?.conditions, 'Ready');
}

export function podServing(pod: k8s.V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' && podReady(pod);
}

export function podStarted(pod: k8s.V1Pod): boolean {
  return pod.status?.phase === 'Running';
}

export function containersUp(pod: k8s.V1Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  return podStarted(pod) && statuses.length > 0 && statuses.every((s) => s.state?.running !== undefined);
}

export function podEnded(pod: k8s.V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function containerHasRun(pod: k8s.V1Pod): boolean {
  if (podEnded(pod)) return true;
  return (pod.status?.containerStatuses ?? []).some(
    (c) => c.state?.running || c.state?.terminated || c.lastState?.terminated,
  );
}

export function nodeReady(node: k8s.V1Node): boolean {
  return condition(node.status?.conditions, 'Ready');
}

/** Which container run each container is on: its ID and restart count. */
export function containerRuns(pod: k8s.V1Pod): string {
  return (pod.status?.containerStatuses ?? [])
    .map((s) => `${s.name}=${s.containerID ?? ''}#${s.restartCount}`)
    .join(',');
}

function latestStart(pod: k8s.V1Pod): number {
  const starts = (pod.status?.containerStatuses ?? []).map((s) => {
    const t = s.state?.running?.startedAt;
    return t ? new Date(t as unknown as string).getTime() : Date.now();
  });
  return Math.max(0, ...starts);
}

/** How long a student's pod must stay up, on the same container runs, for a step that asks for Running. */
export const RUNNING_SETTLE_MS = 3000;
/** A container up this long before the grader first saw it up is not one the kubelet's lag could hide an exit of. */
const LONG_UP_MS = 10_000;

/**
 * How long to wait before the second look at a pod first seen up at `seenAt`, whose last container
 * started at `startedAt`: `settleMs` from when the grader saw it up, which is `settleMs` after the
 * start too. The kubelet writes a container's start and its exit into the pod's status late on a
 * loaded node, and alike late: timed from the start alone, the second look could come before the
 * exit was written and take a container that had already ended for a running one (CI saw this
 * with a container that exits a second after it starts). A container up for long when first seen
 * is not waited for twice.
 */
export function settlePauseMs(startedAt: number, seenAt: number, settleMs: number): number {
  return seenAt - startedAt > settleMs + LONG_UP_MS ? 0 : settleMs;
}

export interface SteadyWait {
  /** 'ready': Ready with every container running; 'running': every container running. */
  state: 'ready' | 'running';
  timeoutMs: number;
  /** How long after the last container started it must still be so, on the same runs. */
  settleMs?: number;
  /** A pod that can never get there besides one that ended: a container restarted, for a step that allows none. */
  hopeless?: (pod: k8s.V1Pod) => boolean;
}

/**
 * Waits (a watch) until the pod is in the state, and still is, on the same container runs,
 * `settleMs` after the last container started. A container that exits at once and is
 * restarted (CrashLoopBackOff) is up for an instant now and then: this wait does not take
 * that instant for a running pod. The deadline bounds reaching the state; the settling look
 * comes after it, so that a pod that gets there at the last moment is not failed for the look.
 */
export async function waitForSteadyPod(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  wait: SteadyWait,
): Promise<k8s.V1Pod> {
  const settleMs = wait.settleMs ?? 5000;
  const up = wait.state === 'ready' ? (p: k8s.V1Pod) => podReady(p) && containersUp(p) : containersUp;
  const wanted = wait.state === 'ready' ? 'Ready and keep running' : 'Running and keep running';
  const word = wait.state === 'ready' ? 'Ready' : 'up';
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + wait.timeoutMs;
  const seconds = Math.round(wait.timeoutMs / 1000);
  let flapped: k8s.V1Pod | undefined;
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const seen = await waitForPod(kc, namespace, name, {
        what: `to be ${wanted}`,
        timeoutMs: remaining,
        until: up,
        hopeless: (p) => podEnded(p) || (wait.hopeless?.(p) ?? false),
      });
      const pause = settlePauseMs(latestStart(seen), Date.now(), settleMs);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
      const again = await api(kc, `reading pod ${name}`, () => core.readNamespacedPod({ name, namespace }));
      if (up(again) && containerRuns(again) === containerRuns(seen)) return again;
      flapped = again;
      if (wait.hopeless?.(again)) break;
      // Not steady: wait for the next start, a little later.
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    if (!(err instanceof SubmissionAssertionError)) throw err;
    fail(
      `${flapped ? `expected pod ${name} to be ${wanted} within ${seconds} s: it was ${word} only for moments; then ` : ''}${err.message}${await lastWords(kc, namespace, name)}`,
    );
  }
  fail(
    `expected pod ${name} to be ${wanted}: within ${seconds} s it was ${word} only for moments; its containers keep ending; last seen: ${podState(flapped)}${await lastWords(kc, namespace, name)}`,
  );
}

/**
 * The end of the pod's log, where a container that keeps ending usually says why: the running
 * container's, else (waiting to start again) the one that ended last.
 */
async function lastWords(kc: k8s.KubeConfig, namespace: string, name: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const read = (previous: boolean) =>
    core.readNamespacedPodLog({ name, namespace, previous, tailLines: 20 }).catch(() => '');
  const log = (await read(false)).trim() || (await read(true));
  const tail = log.trim().split('\n').slice(-3).join(' | ');
  return tail ? `; its log ends: ${tail}` : '';
}
