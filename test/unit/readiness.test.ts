/** What Ready and Running mean (src/kube/readiness.ts), on pod statuses as the API server writes them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as k8s from '../../src/vendor/kubernetes-client.js';
import {
  containerHasRun,
  containerRuns,
  containersUp,
  podEnded,
  podReady,
  podServing,
  podStarted,
} from '../../src/kube/readiness.js';

function pod(phase: string, ready: boolean, states: k8s.V1ContainerState[], deleting = false): k8s.V1Pod {
  return {
    metadata: { name: 'p', ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: {
      phase,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: states.map((state, i) => ({
        name: `c${i}`,
        image: 'busybox:1.36',
        imageID: '',
        ready,
        restartCount: 0,
        containerID: `containerd://${i}`,
        state,
      })),
    },
  };
}

const running: k8s.V1ContainerState = { running: { startedAt: new Date() } };
const crashLoop: k8s.V1ContainerState = { waiting: { reason: 'CrashLoopBackOff' } };
const exited: k8s.V1ContainerState = { terminated: { exitCode: 1, reason: 'Error' } };

test('a crash-looping pod is Running by its phase, but its containers are not up', () => {
  const p = pod('Running', false, [crashLoop]);
  assert.equal(podStarted(p), true);
  assert.equal(containersUp(p), false);
  assert.equal(podReady(p), false);
  assert.equal(containerHasRun(p), false);
});

test('one container of two ended: not up; one that ended has run', () => {
  const p = pod('Running', false, [running, exited]);
  assert.equal(containersUp(p), false);
  assert.equal(containerHasRun(p), true);
});

test('a Ready pod being deleted is Ready but no longer serving', () => {
  assert.equal(podServing(pod('Running', true, [running])), true);
  const leaving = pod('Running', true, [running], true);
  assert.equal(podReady(leaving), true);
  assert.equal(podServing(leaving), false);
});

test('Succeeded and Failed are ended; a restarted container is another run', () => {
  assert.equal(podEnded(pod('Succeeded', false, [])), true);
  assert.equal(podEnded(pod('Failed', false, [])), true);
  assert.equal(podEnded(pod('Running', true, [running])), false);
  const before = pod('Running', true, [running]);
  const after = structuredClone(before);
  const s = after.status?.containerStatuses?.[0];
  assert.ok(s);
  s.restartCount = 1;
  s.containerID = 'containerd://other';
  assert.notEqual(containerRuns(before), containerRuns(after));
});
