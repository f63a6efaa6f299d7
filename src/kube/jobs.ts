import * as k8s from '../vendor/kubernetes-client.js';
import { fail } from '../errors.js';
import { graderFault, httpStatus } from './client.js';
import { podLogs, podState } from './pods.js';
import { watchNamed } from './watch.js';

function condition(job: k8s.V1Job, type: string): k8s.V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function counts(job: k8s.V1Job | undefined): string {
  if (!job) return 'no such Job';
  const s = job.status;
  return `${s?.active ?? 0} active, ${s?.succeeded ?? 0} succeeded, ${s?.failed ?? 0} failed`;
}

/** The job's pods and, for the last one that failed, the end of its log. */
async function jobPods(kc: k8s.KubeConfig, namespace: string, job: k8s.V1Job | undefined): Promise<string> {
  const uid = job?.metadata?.uid;
  if (!uid) return '';
  const pods = await kc
    .makeApiClient(k8s.CoreV1Api)
    .listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/controller-uid=${uid}` })
    .catch(() => undefined);
  const items = pods?.items ?? [];
  if (items.length === 0) return '; no pods';
  const parts = items.map((p) => `${p.metadata?.name ?? '?'}: ${podState(p)}`);
  const failed = items.filter((p) => p.status?.phase === 'Failed').at(-1);
  if (failed?.metadata?.name) {
    const log = await podLogs(kc, namespace, failed.metadata.name).catch(() => '');
    const tail = log.trim().split('\n').slice(-5).join(' | ');
    if (tail) parts.push(`log of ${failed.metadata.name}: ${tail}`);
  }
  return `; pods: ${parts.join('; ')}`;
}

/**
 * Watches the Job until it has the condition Complete, up to the deadline. A watch
 * (not a poll) also sees a Job that completes and is removed at once by
 * ttlSecondsAfterFinished. A Job marked Failed, one that does not complete in time,
 * or no such Job is the submission's failure, reported with its counts, its pods and
 * the log of a failed pod.
 */
export async function waitForJobComplete(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<k8s.V1Job> {
  const {
    verdict: outcome,
    last,
    seen,
  } = await watchNamed<k8s.V1Job, 'complete' | 'failed'>(
    kc,
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
    name,
    timeoutMs,
    (job) => (condition(job, 'Complete') ? 'complete' : condition(job, 'Failed') ? 'failed' : undefined),
    `job ${namespace}/${name}`,
  );
  if (outcome === 'complete' && last) return last;
  if (!seen) {
    const exists = await kc
      .makeApiClient(k8s.BatchV1Api)
      .readNamespacedJob({ name, namespace })
      .then(() => true)
      .catch((err: unknown) =>
        httpStatus(err) === 404 ? false : Promise.reject(graderFault(err, `reading job ${namespace}/${name}`)),
      );
    if (!exists) fail(`there is no Job ${name} in the submission's namespace`);
  }
  const failed = last ? condition(last, 'Failed') : undefined;
  const verdict = failed
    ? `it failed (${failed.reason ?? ''}: ${failed.message ?? ''})`
    : `not within ${Math.round(timeoutMs / 1000)} s`;
  fail(`expected Job ${name} to complete: ${verdict}; last seen: ${counts(last)}${await jobPods(kc, namespace, last)}`);
}
