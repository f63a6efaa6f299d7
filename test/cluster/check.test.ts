/**
 * kgrade check: the course's claims about a cluster, with no submission. On the kind cluster
 * directly and through its kubeconfig alone (node checks then go through privileged debug
 * pods); a claim that does not hold is exit 1 with what was seen; an API server that does not
 * answer is exit 3.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from '../../src/vendor/execa.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/paths.js';
import { labYaml, tempRoot, writeLab } from '../helpers/labs.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');

async function kgrade(...args: string[]) {
  return execa('node', [CLI, ...args], { reject: false, timeout: 600_000, env: { NO_COLOR: '1' } });
}

function claims(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^(holds|FAILS|UNCHECKED)\s/.test(l));
}

test('kgrade check on the kind cluster: every shared claim and the smoke lab\'s course checks hold', { timeout: 600_000 }, async () => {
  const r = await kgrade('check', SMOKE);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const lines = claims(r.stdout);
  assert.ok(lines.length >= 11, r.stdout);
  assert.ok(lines.every((l) => l.startsWith('holds')), r.stdout);
  assert.match(r.stdout, /cluster-setup: swap is off on the node/);
  assert.match(r.stdout, /smoke-cluster: kube-proxy sends the kube-dns service/);
});

test('kgrade check through a kubeconfig alone: node checks go through debug pods, and they are removed', { timeout: 600_000 }, async () => {
  const kind = new KindProvider();
  const real = await readFile(kind.ref.kubeconfig, 'utf8');
  const context = /current-context: (\S+)/.exec(real)?.[1] ?? 'kind-kgrade';
  const r = await kgrade('check', SMOKE, '--kubeconfig', kind.ref.kubeconfig, '--context', context);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`using cluster ${context}`));
  assert.ok(claims(r.stdout).every((l) => l.startsWith('holds')), r.stdout);
  const pods = await kind.kubeConfig().makeApiClient((await import('../../src/vendor/kubernetes-client.js')).CoreV1Api).listNamespacedPod({ namespace: 'kgrade-system' }).catch(() => ({ items: [] }));
  const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
  assert.deepEqual(live.map((p) => p.metadata?.name), [], 'debug pods left running');
});

test('a claim that does not hold: exit 1, the claim named with what was seen', { timeout: 600_000 }, async (t) => {
  const root = await tempRoot('check-false', t);
  const lab = await writeLab(root, 'false-claim', {
    yaml: labYaml('false-claim', { files: ['pod.yaml'], extra: { environment: 'cluster' } }),
    features: {
      'claims.feature': `Feature: claims
  @course
  Scenario: the node has a file that no node has
    When the node runs "cat /etc/kgrade-no-such-file"
    Then it succeeds

  @course
  Scenario: the node has /etc
    When the node runs "test -d /etc"
    Then it succeeds
`,
    },
    reference: { 'pod.yaml': 'kind: Pod\n' },
  });
  const r = await kgrade('check', lab);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAILS\s+false-claim: the node has a file that no node has/);
  assert.match(r.stdout, /kgrade-no-such-file/);
  assert.match(r.stdout, /holds\s+false-claim: the node has \/etc/);
});

test('an API server that does not answer: exit 3, could not check', { timeout: 600_000 }, async (t) => {
  const dir = await tempRoot('check', t);
  const real = await readFile(new KindProvider().ref.kubeconfig, 'utf8');
  const file = path.join(dir, 'dead.yaml');
  await writeFile(file, real.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9'));
  const context = /current-context: (\S+)/.exec(real)?.[1] ?? 'kind-kgrade';
  const r = await kgrade('check', SMOKE, '--kubeconfig', file, '--context', context);
  assert.equal(r.exitCode, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1:9/);
});
