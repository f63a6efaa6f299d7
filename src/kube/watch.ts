import * as k8s from '../vendor/kubernetes-client.js';
import { graderFault, httpStatus } from './client.js';

/** How a watch of one named object ended: the verdict the judge gave, or the deadline. */
export interface WatchEnd<T, V> {
  verdict: V | 'timeout';
  /** The object as last seen; undefined when it was never seen or was deleted. */
  last: T | undefined;
  /** Whether the watch ever saw the object. */
  seen: boolean;
}

/**
 * Watches the object called `name` in the collection at `path` (not by polling) until
 * `judge` gives a verdict on it or `timeoutMs` passes. A watch the server ends (its own
 * timeout, a dropped connection) is started again until the deadline; a watch that cannot
 * be started at all is the grader's fault, thrown as a GraderError naming `what`.
 */
export async function watchNamed<T, V>(
  kc: k8s.KubeConfig,
  path: string,
  name: string,
  timeoutMs: number,
  judge: (obj: T) => V | undefined,
  what: string,
  initial?: T,
): Promise<WatchEnd<T, V>> {
  let last = initial;
  let seen = initial !== undefined;
  const verdict = await new Promise<V | 'timeout' | Error>((resolve) => {
    let controller: AbortController | undefined;
    let settled = false;
    const finish = (v: V | 'timeout' | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller?.abort();
      resolve(v);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const start = () => {
      new k8s.Watch(kc)
        .watch(
          path,
          { fieldSelector: `metadata.name=${name}` },
          (type: string, obj: T) => {
            if (type === 'DELETED') {
              last = undefined;
              return;
            }
            last = obj;
            seen = true;
            const v = judge(obj);
            if (v !== undefined) finish(v);
          },
          (err: unknown) => {
            if (settled) return;
            // A connection that failed below HTTP waits a little longer before the next try.
            const network =
              err && httpStatus(err) === undefined && !(err instanceof Error && err.name === 'AbortError');
            setTimeout(start, network ? 1000 : 200);
          },
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        })
        .catch((err: unknown) => finish(graderFault(err, `watching ${what}`)));
    };
    start();
  });
  if (verdict instanceof Error) throw verdict;
  return { verdict, last, seen };
}
