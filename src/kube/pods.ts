import { PassThrough } from 'node:stream';
import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';
import type { ExecResult } from '../node.js';
import { api, apiFault, graderFault, httpStatus } from './client.js';
import { watchNamed } from './watch.js';

/** A pod's state in one line, the way a person would read `kubectl describe`. */
export function podState(pod: k8s.V1Pod | undefined): string {
  if (!pod) return 'the pod does not exist';
  const parts = [`phase ${pod.status?.phase ?? 'unknown'}`];
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status !== 'True');
  if (unscheduled) parts.push(`not scheduled: ${unscheduled.reason ?? ''} ${unscheduled.message ?? ''}`.trim());
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const s = c.state;
    if (s?.waiting)
      parts.push(`${c.name} waiting: ${s.waiting.reason ?? ''}${s.waiting.message ? ` (${s.waiting.message})` : ''}`);
    else if (s?.terminated)
      parts.push(`${c.name} terminated: ${s.terminated.reason ?? ''} exit ${s.terminated.exitCode}`);
    else if (s?.running) parts.push(`${c.name} running${c.ready ? ', ready' : ''}`);
  }
  return parts.join('; ');
}

function eventTime(e: k8s.CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp;
  return t ? new Date(t as unknown as string).getTime() : 0;
}

/** The events about an object, oldest first; none when they cannot be read. */
export async function eventsOf(kc: k8s.KubeConfig, namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  try {
    const list = await kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items.sort((a, b) => eventTime(a) - eventTime(b));
  } catch {
    return [];
  }
}

/** The last few events, newest last, in one line for a report. */
export function describeEvents(events: k8s.CoreV1Event[]): string {
  return events
    .slice(-5)
    .map((e) => `${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`.trim())
    .join(' | ');
}

/**
 * The image the kubelet began to pull and has not finished pulling (no Pulled,
 * no Failed since the last Pulling event), or undefined.
 */
export function pullStillRunning(events: k8s.CoreV1Event[]): string | undefined {
  const pulling = events.filter((e) => e.reason === 'Pulling').at(-1);
  if (!pulling) return undefined;
  const since = eventTime(pulling);
  const ended = events.some(
    (e) => (e.reason === 'Pulled' || e.reason === 'Failed' || e.reason === 'BackOff') && eventTime(e) >= since,
  );
  return ended ? undefined : (/image "([^"]+)"/.exec(pulling.message ?? '')?.[1] ?? 'its image');
}

export interface PullProblem {
  /** submission: the image name or tag does not exist; grader: the registry did not answer. */
  blame: 'submission' | 'grader';
  container: string;
  image: string;
  detail: string;
}

const PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** What a registry answers (through containerd) for a name or tag it does not have. */
const NOT_FOUND = /not found|NotFound|manifest unknown|name unknown|repository does not exist/i;

/**
 * Why a pod's image cannot be pulled, when that is what keeps it from running.
 * `previous` carries the ErrImagePull message seen earlier for the same
 * container: ImagePullBackOff's own message ("Back-off pulling image") says
 * nothing of the cause.
 */
export function imagePullProblem(pod: k8s.V1Pod | undefined, previous?: Map<string, string>): PullProblem | undefined {
  const statuses = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (!waiting?.reason || !PULL_REASONS.has(waiting.reason)) continue;
    const own = waiting.message ?? '';
    if (waiting.reason === 'ErrImagePull' && own) previous?.set(c.name, own);
    const detail = waiting.reason === 'ErrImagePull' ? own : (previous?.get(c.name) ?? own);
    const base = { container: c.name, image: c.image, detail: `${waiting.reason}: ${detail}`.trim() };
    if (waiting.reason === 'InvalidImageName' || waiting.reason === 'ErrImageNeverPull')
      return { ...base, blame: 'submission' };
    if (NOT_FOUND.test(detail)) return { ...base, blame: 'submission' };
    // A cause that is known and is not "not found": the registry failed to answer (refused, timed out, 5xx).
    if (detail && !/^Back-off pulling image/.test(detail)) return { ...base, blame: 'grader' };
  }
  return undefined;
}

export interface PodWait {
  what: string;
  timeoutMs: number;
  /** When the pod is as wanted. */
  until: (pod: k8s.V1Pod) => boolean;
  /** A state that will never become what is wanted (e.g. Failed while waiting for Running). */
  hopeless?: (pod: k8s.V1Pod) => boolean;
}

/**
 * Waits for a pod by watching it (not by sleeping), up to the deadline. When it
 * gives up it reports the last state it saw and the pod's recent events.
 */
export async function waitForPod(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  wait: PodWait,
): Promise<k8s.V1Pod> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let last: k8s.V1Pod | undefined;
  try {
    last = await core.readNamespacedPod({ name, namespace });
  } catch (err) {
    if (httpStatus(err) !== 404) throw graderFault(err, `reading pod ${namespace}/${name}`);
  }
  if (last && wait.until(last)) return last;
  const pullMessages = new Map<string, string>();
  const missingImage = (p: k8s.V1Pod) => imagePullProblem(p, pullMessages)?.blame === 'submission';
  const watched = await watchNamed<k8s.V1Pod, 'ok' | 'hopeless'>(
    kc,
    `/api/v1/namespaces/${namespace}/pods`,
    name,
    wait.timeoutMs,
    (pod) => (wait.until(pod) ? 'ok' : wait.hopeless?.(pod) || missingImage(pod) ? 'hopeless' : undefined),
    `pod ${namespace}/${name}`,
    last,
  );
  const outcome = watched.verdict;
  last = watched.last;
  if (outcome === 'ok' && last) return last;
  const eventList = await eventsOf(kc, namespace, name);
  const events = describeEvents(eventList);
  const pulling = outcome === 'timeout' && last?.status?.phase === 'Pending' ? pullStillRunning(eventList) : undefined;
  if (pulling) {
    throw new GraderError(
      `pod ${name}: pulling ${pulling} had not finished after ${Math.round(wait.timeoutMs / 1000)} s: the image registry did not answer; this is the grading cluster's fault, not the submission's (events: ${events})`,
    );
  }
  const pull = imagePullProblem(last, pullMessages);
  if (pull?.blame === 'grader') {
    throw new GraderError(
      `pod ${name} could not pull ${pull.image}: the image registry did not answer (${pull.detail}); this is the grading cluster's fault, not the submission's`,
    );
  }
  if (pull) {
    throw new SubmissionAssertionError(
      `expected pod ${name} ${wait.what}: its image ${pull.image} cannot be pulled, it does not exist (${pull.detail}); check the image's name and tag`,
    );
  }
  const seconds = Math.round(wait.timeoutMs / 1000);
  const verdict = outcome === 'hopeless' ? `it can no longer get there` : `not within ${seconds} s`;
  throw new SubmissionAssertionError(
    `expected pod ${name} ${wait.what}: ${verdict}; last seen: ${podState(last)}${events ? `; events: ${events}` : ''}`,
  );
}

/** Runs argv in a container of a pod and collects its output and exit code. */
export async function execInPod(
  kc: k8s.KubeConfig,
  namespace: string,
  pod: string,
  container: string | undefined,
  argv: string[],
  timeoutMs: number,
): Promise<ExecResult> {
  const started = Date.now();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  let containerName = container;
  if (!containerName) {
    const p = await api(kc, `reading pod ${pod}`, () =>
      kc.makeApiClient(k8s.CoreV1Api).readNamespacedPod({ name: pod, namespace }),
    );
    containerName = p.spec?.containers[0]?.name ?? '';
  }
  const exec = new k8s.Exec(kc);
  return await new Promise<ExecResult>((resolve, reject) => {
    let ws: { close: () => void } | undefined;
    const timer = setTimeout(() => {
      ws?.close();
      resolve({
        argv,
        code: null,
        stdout: out,
        stderr: err,
        timedOut: true,
        truncated: false,
        durationMs: Date.now() - started,
      });
    }, timeoutMs);
    exec
      .exec(namespace, pod, containerName ?? '', argv, stdout, stderr, null, false, (status: k8s.V1Status) => {
        clearTimeout(timer);
        let code = status.status === 'Success' ? 0 : 1;
        const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
        if (cause?.message) code = Number(cause.message);
        else if (status.status !== 'Success' && status.message) err += `${status.message}\n`;
        setImmediate(() =>
          resolve({
            argv,
            code,
            stdout: out,
            stderr: err,
            timedOut: false,
            truncated: false,
            durationMs: Date.now() - started,
          }),
        );
      })
      .then((socket) => {
        ws = socket;
      })
      .catch((e: unknown) => {
        clearTimeout(timer);
        reject(apiFault(e, `running a command in pod ${pod}`));
      });
  });
}

export async function podLogs(kc: k8s.KubeConfig, namespace: string, pod: string, container?: string): Promise<string> {
  try {
    return await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedPodLog({ name: pod, namespace, ...(container ? { container } : {}) });
  } catch (err) {
    throw apiFault(err, `reading the log of pod ${pod}${container ? ` (container ${container})` : ''}`);
  }
}
