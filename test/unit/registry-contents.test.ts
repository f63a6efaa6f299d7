/**
 * What the registry's warm check compares and reads: the differences it names, the loopback
 * port it takes from `docker inspect`, the per-cluster names, and the kind config it hashes.
 * The registry and cluster themselves are in test/cluster/registry-locked.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopbackPort, pushedContents, registryDifferences, registryNames } from '../../src/env/cluster/registry.js';
import { CONFIG_LABEL, clusterConfigHash, kindConfig } from '../../src/env/cluster/kind.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

test('the same contents: no difference', () => {
  assert.deepEqual(
    registryDifferences(
      { 'library/busybox': { '1.36': A, latest: A } },
      { 'library/busybox': { latest: A, '1.36': A } },
    ),
    [],
  );
});

test('a repointed, an added and a removed tag, an added and a removed repository are each named', () => {
  const diff = registryDifferences(
    { 'library/busybox': { '1.36': A, latest: A }, pause: { '3.10': A } },
    { 'library/busybox': { latest: B, escape: A }, 'evil/box': { '1': B } },
  );
  assert.deepEqual(diff.sort(), [
    'library/busybox:1.36 gone',
    'library/busybox:escape added',
    'library/busybox:latest is bbbbbbbbbbbb, not aaaaaaaaaaaa',
    'repository evil/box added',
    'repository pause gone',
  ]);
});

test('after a push, whatever else the registry serves is named, and what it should serve takes the pushed digests', () => {
  const served = { 'library/busybox': { '1.36': A, latest: A, escape: B }, 'evil/box': { '1': B } };
  const expected = pushedContents(['library/busybox:1.36', 'library/busybox:latest', 'pause:3.10'], served);
  assert.deepEqual(expected, { 'library/busybox': { '1.36': A, latest: A }, pause: { '3.10': '(not served)' } });
  assert.deepEqual(registryDifferences(expected, served).sort(), [
    'library/busybox:escape added',
    'repository evil/box added',
    'repository pause gone',
  ]);
  assert.deepEqual(
    registryDifferences(
      pushedContents(['library/busybox:1.36', 'library/busybox:latest'], {
        'library/busybox': { '1.36': A, latest: A },
      }),
      { 'library/busybox': { '1.36': A, latest: A } },
    ),
    [],
  );
});

test('the loopback port comes from the 5000/tcp binding on 127.0.0.1 only', () => {
  assert.equal(loopbackPort('{"5000/tcp":[{"HostIp":"127.0.0.1","HostPort":"32769"}]}'), 32769);
  assert.equal(loopbackPort('{"5000/tcp":[{"HostIp":"0.0.0.0","HostPort":"5001"}]}'), undefined);
  assert.equal(loopbackPort('{"5000/tcp":null}'), undefined);
  assert.equal(loopbackPort('{}'), undefined);
  assert.equal(loopbackPort('not json'), undefined);
});

test("the default cluster keeps kind's network and kgrade-registry; another cluster gets its own of each", () => {
  assert.deepEqual(registryNames('kgrade'), {
    serve: 'kgrade-registry',
    writer: 'kgrade-registry-writer',
    volume: 'kgrade-registry-data',
    network: 'kind',
  });
  const other = registryNames('isocl');
  assert.equal(other.network, 'kind-isocl');
  assert.equal(other.serve, 'kgrade-registry-isocl');
});

test("the kind config sets the pod PID limit and DenyServiceExternalIPs, and labels the node with their hash whatever kube-proxy's mode", () => {
  const plain = kindConfig();
  assert.match(plain, /podPidsLimit: \d+/);
  assert.match(plain, /enable-admission-plugins: NodeRestriction,DenyServiceExternalIPs/);
  assert.match(plain, new RegExp(`${CONFIG_LABEL}: "${clusterConfigHash()}"`));
  assert.match(clusterConfigHash(), /^[0-9a-f]{12}$/);
  assert.match(kindConfig('nftables'), new RegExp(`kubeProxyMode: nftables[\\s\\S]*${clusterConfigHash()}`));
});
