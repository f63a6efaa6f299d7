import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';
import { api } from './client.js';
import { waitForPod } from './pods.js';
import { podStarted } from './readiness.js';

/**
 * A busybox pod of the grader's own in a namespace, to look at the cluster from inside it
 * (DNS, services). It is the grader's: a pod that does not come up is the grader's error.
 */
export async function startClientPod(
  admin: k8s.KubeConfig,
  namespace: string,
  name: string,
  image: string,
  timeoutMs: number,
): Promise<void> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  await api(admin, `creating the grader's pod ${name}`, () =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'kgrade' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'client',
              image,
              command: ['sleep', '3600'],
              securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: false },
              resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
            },
          ],
        },
      },
    }),
  );
  try {
    await waitForPod(admin, namespace, name, {
      what: 'Running',
      timeoutMs,
      until: podStarted,
    });
  } catch (err) {
    if (err instanceof SubmissionAssertionError)
      throw new GraderError(`the grader's pod ${name} did not start: ${err.message}`, { cause: err });
    throw err;
  }
}
