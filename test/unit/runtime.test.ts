/** Image names as Docker completes them, and what two sibling images' layers show. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullImageName } from '../../src/kube/image-ref.js';
import { layerSharing, type SiblingImages } from '../../src/kube/runtime.js';

test('fullImageName completes names the way docker run does', () => {
  assert.equal(fullImageName('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(fullImageName('busybox:1.36'), 'docker.io/library/busybox:1.36');
  assert.equal(fullImageName('kgrade-layers-ab/one:1'), 'docker.io/kgrade-layers-ab/one:1');
  assert.equal(fullImageName('registry.k8s.io/pause:3.10'), 'registry.k8s.io/pause:3.10');
  assert.equal(fullImageName('localhost:5000/x'), 'localhost:5000/x:latest');
  assert.equal(fullImageName('busybox@sha256:ab12'), 'docker.io/library/busybox@sha256:ab12');
  assert.equal(fullImageName('busybox:1.36@sha256:ab12'), 'docker.io/library/busybox:1.36@sha256:ab12');
});

function siblings(a: string[], b: string[], diffA = a, diffB = b): SiblingImages {
  return {
    base: 'busybox:1.36',
    baseDiffIds: ['sha256:base'],
    images: [
      { ref: 'one', manifest: 'sha256:m1', layers: a, diffIds: diffA },
      { ref: 'two', manifest: 'sha256:m2', layers: b, diffIds: diffB },
    ],
  };
}

test('layerSharing: the base layer shared, the last ones apart', () => {
  assert.deepEqual(layerSharing(siblings(['sha256:base', 'sha256:one'], ['sha256:base', 'sha256:two'])).problems, []);
});

test('layerSharing: each way the claim can fail is named', () => {
  const notShared = layerSharing(
    siblings(
      ['sha256:base', 'sha256:one'],
      ['sha256:other', 'sha256:two'],
      ['sha256:base', 'sha256:one'],
      ['sha256:base', 'sha256:two'],
    ),
  );
  assert.match(notShared.problems.join(), /do not share their base layers/);
  const sameTop = layerSharing(siblings(['sha256:base', 'sha256:x'], ['sha256:base', 'sha256:x']));
  assert.match(sameTop.problems.join(), /last layers are the same/);
  const otherBase = layerSharing(siblings(['sha256:z', 'sha256:one'], ['sha256:z', 'sha256:two']));
  assert.match(otherBase.problems.join(), /are not busybox:1.36's/);
});
