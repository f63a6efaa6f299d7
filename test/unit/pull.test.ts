/**
 * Whose fault an image that cannot be pulled is: a name or tag the registry does
 * not have is the submission's; a registry that does not answer is the grader's.
 * The messages are containerd 1.7's, as the kubelet puts them in a pod's status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as k8s from '../../src/vendor/kubernetes-client.js';
import { imagePullProblem, pullStillRunning } from '../../src/kube/pods.js';
import { podsAwaitingEvents } from '../../src/kube/diagnostics.js';

function pod(reason: string, message: string, image = 'busybox:1.36x'): k8s.V1Pod {
  return {
    status: {
      phase: 'Pending',
      containerStatuses: [
        { name: 'box', image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } },
      ],
    },
  };
}

const NOT_FOUND =
  'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/busybox:1.36x": failed to resolve reference "docker.io/library/busybox:1.36x": docker.io/library/busybox:1.36x: not found';
const REFUSED =
  'rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/busybox:latest": failed to resolve reference "docker.io/library/busybox:latest": failed to do request: Head "http://kgrade-registry:5000/v2/library/busybox/manifests/latest?ns=docker.io": dial tcp 172.18.0.2:5000: connect: connection refused';
const BACK_OFF = 'Back-off pulling image "busybox:1.36x"';

test("a tag the registry does not have is the submission's doing", () => {
  const p = imagePullProblem(pod('ErrImagePull', NOT_FOUND));
  assert.equal(p?.blame, 'submission');
  assert.equal(p?.image, 'busybox:1.36x');
  assert.match(p?.detail ?? '', /^ErrImagePull: .*not found$/);
});

test("a registry that refuses the connection is the grader's doing", () => {
  assert.equal(imagePullProblem(pod('ErrImagePull', REFUSED, 'busybox:latest'))?.blame, 'grader');
});

test('ImagePullBackOff alone says nothing of the cause; the ErrImagePull seen before it does', () => {
  assert.equal(imagePullProblem(pod('ImagePullBackOff', BACK_OFF)), undefined);
  const seen = new Map<string, string>();
  imagePullProblem(pod('ErrImagePull', REFUSED), seen);
  const later = imagePullProblem(pod('ImagePullBackOff', BACK_OFF), seen);
  assert.equal(later?.blame, 'grader');
  assert.match(later?.detail ?? '', /^ImagePullBackOff: .*connection refused$/);
});

test("a malformed image name, or pull policy Never on an image the node lacks, is the submission's", () => {
  assert.equal(
    imagePullProblem(pod('InvalidImageName', 'Failed to apply default image tag "Busybox": invalid reference format'))
      ?.blame,
    'submission',
  );
  assert.equal(
    imagePullProblem(pod('ErrImageNeverPull', 'Container image "busybox:9" is not present with pull policy of Never'))
      ?.blame,
    'submission',
  );
});

test('a pod that waits for other reasons, or runs, has no pull problem', () => {
  assert.equal(imagePullProblem(pod('ContainerCreating', '')), undefined);
  assert.equal(imagePullProblem(pod('CrashLoopBackOff', 'back-off 10s restarting failed container')), undefined);
  assert.equal(imagePullProblem(undefined), undefined);
  assert.equal(
    imagePullProblem({
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'box', image: 'busybox:1.36', imageID: 'x', ready: true, restartCount: 0, state: { running: {} } },
        ],
      },
    }),
    undefined,
  );
});

function event(reason: string, at: string, message = ''): k8s.CoreV1Event {
  return { involvedObject: {}, metadata: {}, reason, message, lastTimestamp: new Date(at) };
}

test('a pull that began and never ended is still running; one that ended, in the same second or later, is not', () => {
  const scheduled = event('Scheduled', '2026-01-01T00:00:00Z', 'Successfully assigned ns/p to node');
  const pulling = event('Pulling', '2026-01-01T00:00:01Z', 'Pulling image "busybox:latest"');
  assert.equal(pullStillRunning([scheduled, pulling]), 'busybox:latest');
  assert.equal(
    pullStillRunning([scheduled, pulling, event('Pulled', '2026-01-01T00:00:01Z', 'Successfully pulled image')]),
    undefined,
  );
  assert.equal(
    pullStillRunning([scheduled, pulling, event('Failed', '2026-01-01T00:00:09Z', 'Error: ErrImagePull')]),
    undefined,
  );
  assert.equal(pullStillRunning([scheduled]), undefined);
  // a second attempt after a back-off that has not ended yet
  const again = event('Pulling', '2026-01-01T00:00:30Z', 'Pulling image "busybox:latest"');
  assert.equal(
    pullStillRunning([scheduled, pulling, event('BackOff', '2026-01-01T00:00:10Z'), again]),
    'busybox:latest',
  );
});

function named(p: k8s.V1Pod, name: string): k8s.V1Pod {
  return { ...p, metadata: { name } };
}

function warning(reason: string, pod: string): k8s.CoreV1Event {
  return { metadata: {}, involvedObject: { kind: 'Pod', name: pod }, reason, type: 'Warning' };
}

test('a pod in ErrImagePull whose Failed event has not arrived yet is waited for; one with its event is not', () => {
  const pods = [
    named(pod('ErrImagePull', NOT_FOUND), 'smoke'),
    named(pod('ImagePullBackOff', BACK_OFF), 'other'),
    named({ status: { phase: 'Running' } }, 'fine'),
  ];
  assert.deepEqual(podsAwaitingEvents(pods, []), ['smoke', 'other']);
  assert.deepEqual(podsAwaitingEvents(pods, [warning('Failed', 'smoke')]), ['other']);
  assert.deepEqual(podsAwaitingEvents(pods, [warning('Failed', 'smoke'), warning('BackOff', 'other')]), []);
  // An event about another kind of object of the same name is not the pod's.
  assert.deepEqual(
    podsAwaitingEvents(pods.slice(0, 1), [
      { ...warning('Failed', 'smoke'), involvedObject: { kind: 'Job', name: 'smoke' } },
    ]),
    ['smoke'],
  );
});
