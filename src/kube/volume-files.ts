import type * as k8s from '../vendor/kubernetes-client.js';
import { fail, GraderError } from '../errors.js';
import { describeExec, shellQuote } from '../node.js';
import { execInPod } from './pods.js';

export interface FileAccess {
  container: string;
  path: string;
  /** The uid the container's processes run as. */
  uid: string;
  writable: boolean;
  /** Why an open for writing failed: "Read-only file system", "Permission denied". */
  error: string;
}

/** The mount paths of a container's emptyDir volumes. */
export function emptyDirMounts(pod: k8s.V1Pod, container: k8s.V1Container): string[] {
  const emptyDirs = new Set((pod.spec?.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
  return (container.volumeMounts ?? []).filter((m) => emptyDirs.has(m.name)).map((m) => m.mountPath);
}

/**
 * A shell script that finds files named `name` under the mount paths and tries to open
 * each one for appending (`: >> FILE` writes nothing), printing one line per file:
 * "uid<TAB>N", then "ok<TAB>PATH" or "no<TAB>PATH<TAB>ERROR".
 */
export function writeProbeScript(mounts: string[], name: string): string {
  return [
    'echo "uid	$(id -u)"',
    `find ${mounts.map(shellQuote).join(' ')} -name ${shellQuote(name)} 2>/dev/null | while IFS= read -r f; do`,
    '  if err=$( (: >> "$f") 2>&1 ); then printf "ok\\t%s\\n" "$f"; else printf "no\\t%s\\t%s\\n" "$f" "$(echo "$err" | head -n 1)"; fi',
    'done',
  ].join('\n');
}

export function parseWriteProbe(container: string, output: string): FileAccess[] {
  const lines = output.split('\n').map((l) => l.split('\t'));
  const uid = lines.find((l) => l[0] === 'uid')?.[1] ?? '?';
  return lines
    .filter((l) => (l[0] === 'ok' || l[0] === 'no') && l[1])
    .map((l) => ({ container, path: l[1] ?? '', uid, writable: l[0] === 'ok', error: l[2] ?? '' }));
}

/**
 * Tries, in every app container of the pod that mounts an emptyDir volume, to open
 * each file called `name` in those volumes for writing, as the container's own user.
 * No such file anywhere is the submission's failure; so is no emptyDir at all.
 */
export async function emptyDirFileAccess(
  kc: k8s.KubeConfig,
  namespace: string,
  pod: k8s.V1Pod,
  name: string,
  timeoutMs: number,
): Promise<FileAccess[]> {
  const podName = pod.metadata?.name ?? '?';
  const containers = (pod.spec?.containers ?? [])
    .map((c) => ({ c, mounts: emptyDirMounts(pod, c) }))
    .filter((x) => x.mounts.length > 0);
  if (containers.length === 0) fail(`no container of pod ${podName} mounts an emptyDir volume`);
  const found: FileAccess[] = [];
  const looked: string[] = [];
  for (const { c, mounts } of containers) {
    const r = await execInPod(kc, namespace, podName, c.name, ['sh', '-c', writeProbeScript(mounts, name)], timeoutMs);
    if (r.timedOut)
      throw new GraderError(
        `looking for ${name} in container ${c.name} of pod ${podName} did not finish: ${describeExec(r)}`,
      );
    if (!/^uid\t/m.test(r.stdout)) fail(`cannot look into container ${c.name} of pod ${podName}: ${describeExec(r)}`);
    found.push(...parseWriteProbe(c.name, r.stdout));
    looked.push(`${c.name}: ${mounts.join(', ')}`);
  }
  if (found.length === 0)
    fail(`no file ${name} in the emptyDir volumes of pod ${podName} (looked in ${looked.join('; ')})`);
  return found;
}
