/**
 * kgrade cluster up --node-image IMAGE runs a given kind node image instead of building one
 * (kind's published image on a machine that reaches a registry). Tested with the locally built
 * node image under another name, on a second kind cluster of its own: the main cluster stays.
 * That cluster's kube-proxy runs in nftables mode (--kube-proxy-mode), the other form the
 * course's kube-proxy checks must read: kgrade check runs ch03-pods-on-kind's there.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from '../../src/vendor/execa.js';
import { defaultKindOptions } from '../../src/env/cluster/kind.js';
import { KGRADE_BIN } from '../helpers/grading.js';

const CLUSTER = 'kgrade-node-image';
const RENAMED = 'kgrade-test/kind-node:renamed';
const env = { ...process.env, KGRADE_CLUSTER: CLUSTER, NO_COLOR: '1' };

async function docker(...args: string[]) {
  return execa('docker', args, { reject: false, timeout: 300_000 });
}

async function kgrade(...args: string[]) {
  return execa('node', [KGRADE_BIN, ...args], { reject: false, timeout: 600_000, env });
}

after(async () => {
  await kgrade('cluster', 'down');
  await docker('rmi', RENAMED);
});

test('cluster up --node-image: the cluster runs that image, is healthy, and down removes it', {
  timeout: 900_000,
}, async () => {
  const tagged = await docker('tag', defaultKindOptions().image, RENAMED);
  assert.equal(tagged.exitCode, 0, tagged.stderr);
  const up = await kgrade('cluster', 'up', '--node-image', RENAMED, '--kube-proxy-mode', 'nftables');
  assert.equal(up.exitCode, 0, up.stdout + up.stderr);
  assert.doesNotMatch(up.stderr, /build-all\.sh/, 'a given node image is never built');
  const image = await docker('inspect', '--format', '{{.Config.Image}}', `${CLUSTER}-control-plane`);
  assert.equal(image.stdout.trim(), RENAMED);
  const status = await kgrade('cluster', 'status');
  assert.equal(status.exitCode, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /healthy/);
  const again = await kgrade('cluster', 'up', '--node-image', RENAMED, '--kube-proxy-mode', 'nftables');
  assert.match(again.stderr, /reusing healthy cluster/, again.stderr);

  // kube-proxy in nftables mode: the course's claims about its rules hold, read from its own table
  const check = await kgrade(
    'check',
    'labs/ch03-pods-on-kind',
    '--node-image',
    RENAMED,
    '--kube-proxy-mode',
    'nftables',
  );
  assert.equal(check.exitCode, 0, check.stdout + check.stderr);
  assert.match(check.stderr, /reusing healthy cluster/, 'the check ran on this cluster, not a new one');
  const held = check.stdout.split('\n');
  for (const claim of [
    "kube-proxy programs the node's packet filter for the kubernetes service",
    "kube-proxy spreads kube-dns's dns-tcp port over the CoreDNS pods",
  ]) {
    const at = held.findIndex((l) => l.startsWith('holds') && l.endsWith(claim));
    assert.ok(at >= 0, `${claim} holds:\n${check.stdout}`);
    assert.match(
      held[at + 1] ?? '',
      /\(nftables, read (on the node|in pod kube-system\/kube-proxy-\S+)\): the service-ips map sends /,
      check.stdout,
    );
  }
  const down = await kgrade('cluster', 'down');
  assert.equal(down.exitCode, 0, down.stderr);
  const gone = await docker('inspect', `${CLUSTER}-control-plane`);
  assert.notEqual(gone.exitCode, 0, 'the node container is gone');
});

test('--node-image with --kubernetes-version, or with an existing cluster, and an unknown kube-proxy mode are usage errors', async () => {
  const both = await kgrade('cluster', 'up', '--node-image', RENAMED, '--kubernetes-version', 'v1.31.0');
  assert.equal(both.exitCode, 2, both.stderr);
  assert.match(both.stderr, /exclude each other/);
  const existing = await kgrade(
    'cluster',
    'status',
    '--kubeconfig',
    '/dev/null',
    '--context',
    'x',
    '--node-image',
    RENAMED,
  );
  assert.equal(existing.exitCode, 2, existing.stderr);
  const mode = await kgrade('cluster', 'up', '--kube-proxy-mode', 'ipvs');
  assert.equal(mode.exitCode, 2, mode.stderr);
  assert.match(mode.stderr, /--kube-proxy-mode must be iptables or nftables, not "ipvs"/);
  const bad = await kgrade('cluster', 'up', '--kubernetes-version', '1.31');
  assert.equal(bad.exitCode, 2, bad.stderr);
  assert.match(bad.stderr, /must look like v1\.31\.0/);
});
