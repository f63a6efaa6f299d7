import * as k8s from '../vendor/kubernetes-client.js';
import { LIMITS, tail } from '../grade/diagnostics.js';
import type { Diagnostics } from '../grade/model.js';
import type { AppliedObject } from './apply.js';
import { describeApiError } from './client.js';

type Found = Required<Pick<Diagnostics, 'events' | 'objects' | 'logs' | 'unavailable'>>;

function eventTime(e: k8s.CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function eventLine(e: k8s.CoreV1Event): string {
  const count = (e.count ?? e.series?.count ?? 1) > 1 ? ` (${e.count ?? e.series?.count} times)` : '';
  return `${e.reason ?? 'Warning'} ${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}: ${(e.message ?? '').trim()}${count}`;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

function conditionLine(c: Condition): string {
  const why = [c.reason, c.message].filter((x) => x).join(': ');
  return `${c.type ?? '?'}=${c.status ?? '?'}${why ? ` (${why})` : ''}`;
}

function containerLines(statuses: k8s.V1ContainerStatus[] | undefined, init: boolean): string[] {
  return (statuses ?? []).flatMap((c) => {
    const what = `${init ? 'init container' : 'container'} ${c.name}`;
    const restarts = c.restartCount > 0 ? `, restarted ${c.restartCount} times` : '';
    const s = c.state;
    if (s?.waiting)
      return [
        `${what}: waiting${s.waiting.reason ? `, ${s.waiting.reason}` : ''}${s.waiting.message ? `: ${s.waiting.message}` : ''}${restarts}`,
      ];
    if (s?.terminated)
      return [
        `${what}: terminated, exit ${s.terminated.exitCode}${s.terminated.reason ? ` (${s.terminated.reason})` : ''}${restarts}`,
      ];
    if (s?.running) return [`${what}: running${c.ready ? ', ready' : ', not ready'}${restarts}`];
    return [];
  });
}

function podConditions(p: k8s.V1Pod): string[] {
  return [
    `phase ${p.status?.phase ?? 'unknown'}${p.status?.reason ? ` (${p.status.reason}${p.status.message ? `: ${p.status.message}` : ''})` : ''}`,
    ...(p.status?.conditions ?? []).filter((c) => c.status !== 'True').map(conditionLine),
    ...containerLines(p.status?.initContainerStatuses, true),
    ...containerLines(p.status?.containerStatuses, false),
  ];
}

const byGrader = (p: k8s.V1Pod) => p.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'kgrade';

/**
 * Container states the kubelet reports together with a warning event (Failed, BackOff,
 * InspectFailed…). The two are written apart: the status can reach the API server a moment
 * before the event does.
 */
const EVENTFUL = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
]);
/** How long a failing scenario's diagnostics wait for the warning event such a state promises. */
export const EVENT_SETTLE_MS = 5_000;

/** The pods whose containers are in a state that comes with a warning event no event yet names. */
export function podsAwaitingEvents(pods: readonly k8s.V1Pod[], events: readonly k8s.CoreV1Event[]): string[] {
  const named = new Set(events.filter((e) => e.involvedObject.kind === 'Pod').map((e) => e.involvedObject.name));
  return pods
    .filter((p) =>
      [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].some((c) =>
        EVENTFUL.has(c.state?.waiting?.reason ?? ''),
      ),
    )
    .map((p) => p.metadata?.name ?? '')
    .filter((name) => name && !named.has(name));
}

/**
 * What a failing cluster scenario's namespace shows: its warning events, the status conditions
 * of each object the submission made (and of every pod there that is not the grader's), and the
 * last lines of those pods' containers' logs, the instance before a restart too. A read that
 * fails is named in `unavailable`; nothing here throws.
 */
export async function readNamespaceDiagnostics(
  admin: k8s.KubeConfig,
  namespace: string,
  applied: readonly AppliedObject[],
): Promise<Found> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(admin);
  const found: Found = { events: [], objects: [], logs: [], unavailable: [] };
  const unavailable = (what: string, err: unknown): undefined => {
    found.unavailable.push(`${what}: ${describeApiError(err)}`);
    return undefined;
  };

  const listEvents = () => core.listNamespacedEvent({ namespace, fieldSelector: 'type=Warning' });
  let [events, pods] = await Promise.all([
    listEvents().catch((err: unknown) => unavailable("the namespace's events", err)),
    core.listNamespacedPod({ namespace }).catch((err: unknown) => unavailable("the namespace's pods", err)),
  ]);
  // A pod seen in ErrImagePull whose Failed event is still on its way: read the events again
  // until it arrives or the deadline passes, so the student sees why.
  const student = (pods?.items ?? []).filter((p) => !byGrader(p));
  const deadline = Date.now() + EVENT_SETTLE_MS;
  let awaiting = events ? podsAwaitingEvents(student, events.items) : [];
  while (events && awaiting.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    events = await listEvents().catch(() => events);
    if (events) awaiting = podsAwaitingEvents(student, events.items);
  }
  if (awaiting.length)
    found.unavailable.push(
      `warning events about pod ${awaiting.join(', ')}: none had arrived after ${EVENT_SETTLE_MS / 1000} s of waiting for it`,
    );
  if (events)
    found.events = events.items
      .sort((a, b) => eventTime(a) - eventTime(b))
      .slice(-LIMITS.events)
      .map(eventLine);

  for (const o of applied.filter((a) => a.kind !== 'Pod')) {
    try {
      const live = (await objects.read({
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: { name: o.name, namespace },
      })) as k8s.KubernetesObject & { status?: { conditions?: Condition[] } };
      found.objects.push({
        kind: o.kind,
        name: o.name,
        conditions: (live.status?.conditions ?? []).map(conditionLine),
      });
    } catch (err) {
      unavailable(`${o.kind} ${o.name}`, err);
    }
  }
  const studentPods = (pods?.items ?? []).filter((p) => !byGrader(p));
  for (const p of studentPods)
    found.objects.push({ kind: 'Pod', name: p.metadata?.name ?? '?', conditions: podConditions(p) });

  const wanted = studentPods.flatMap((p) =>
    [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]
      .filter((c) => c.state?.running || c.state?.terminated || c.restartCount > 0)
      .flatMap((c) => [
        ...(c.state?.running || c.state?.terminated
          ? [{ pod: p.metadata?.name ?? '', container: c.name, previous: false }]
          : []),
        ...(c.restartCount > 0 ? [{ pod: p.metadata?.name ?? '', container: c.name, previous: true }] : []),
      ]),
  );
  for (const w of wanted.slice(0, LIMITS.logs)) {
    try {
      const text = await core.readNamespacedPodLog({
        name: w.pod,
        namespace,
        container: w.container,
        previous: w.previous,
        tailLines: LIMITS.lines,
        limitBytes: 64 * 1024,
      });
      found.logs.push({ ...w, lines: tail(String(text ?? '')).text });
    } catch (err) {
      unavailable(`the log of pod ${w.pod}, container ${w.container}${w.previous ? ' (previous)' : ''}`, err);
    }
  }
  if (wanted.length > LIMITS.logs)
    found.unavailable.push(`${wanted.length - LIMITS.logs} more container logs (only ${LIMITS.logs} are kept)`);
  return found;
}
