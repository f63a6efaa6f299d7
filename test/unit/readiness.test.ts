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
  settlePauseMs,
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

test('the second look at a pod comes settleMs after the grader first saw it up, unless it was up for long', () => {
  const settle = 3000;
  // Seen half a second after its start: 3 s from when it was seen (2.5 s would do for the start).
  assert.equal(settlePauseMs(10_000, 10_500, settle), 3000);
  // Seen 2.5 s late (the kubelet wrote the start late): 3 s from then, not the 0.5 s left after the start.
  assert.equal(settlePauseMs(10_000, 12_500, settle), 3000);
  // Up 13 s when seen: still waited for; up longer: no second wait.
  assert.equal(settlePauseMs(10_000, 23_000, settle), 3000);
  assert.equal(settlePauseMs(10_000, 30_000, settle), 0);
  // A start stamped after the moment seen (clocks apart): waited for.
  assert.equal(settlePauseMs(50_000, 40_000, settle), 3000);
});
