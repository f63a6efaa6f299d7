import type * as k8s from '../vendor/kubernetes-client.js';
import { fail } from '../errors.js';
import { podLogs, waitForPod } from './pods.js';

/** The exit code of an init container's last run: the one that ended, or the one before a restart. */
function lastExit(s: k8s.V1ContainerStatus): k8s.V1ContainerStateTerminated | undefined {
  return s.state?.terminated ?? s.lastState?.terminated;
}

/**
 * Waits until every init container of the pod has run to the end with exit code
 * `code`, and says which one did not: an init container that exits otherwise is
 * restarted (or fails the pod), so its first other exit code settles it.
 * Returns the init containers' names.
 */
export async function waitForInitContainers(
  kc: k8s.KubeConfig,
  namespace: string,
  pod: string,
  code: number,
  timeoutMs: number,
): Promise<string[]> {
  const statuses = (p: k8s.V1Pod) => p.status?.initContainerStatuses ?? [];
  const done = (p: k8s.V1Pod) =>
    (p.spec?.initContainers?.length ?? 0) === 0 ||
    (statuses(p).length > 0 && statuses(p).every((s) => s.state?.terminated?.exitCode === code));
  const wrong = (p: k8s.V1Pod) =>
    statuses(p).find((s) => {
      const t = lastExit(s);
      return t !== undefined && t.exitCode !== code;
    });
  const seen = await waitForPod(kc, namespace, pod, {
    what: `to have run its init containers to exit code ${code}`,
    timeoutMs,
    until: (p) => done(p) || wrong(p) !== undefined,
  });
  const names = (seen.spec?.initContainers ?? []).map((c) => c.name);
  if (names.length === 0) fail(`pod ${pod} has no init containers (spec.initContainers is empty)`);
  const bad = wrong(seen);
  if (bad) {
    const t = lastExit(bad);
    const log = (await podLogs(kc, namespace, pod, bad.name).catch(() => '')).trim().split('\n').slice(-5).join(' | ');
    fail(
      `init container ${bad.name} of pod ${pod} exited with code ${t?.exitCode ?? '?'}${t?.reason ? ` (${t.reason})` : ''}, not ${code}${bad.restartCount ? `, restarted ${bad.restartCount} times` : ''}; its log: ${log || '(empty)'}`,
    );
  }
  return names;
}
