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

test("kgrade check on the kind cluster: every shared claim and the smoke lab's course checks hold", {
  timeout: 600_000,
}, async () => {
  const r = await kgrade('check', SMOKE);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const lines = claims(r.stdout);
  assert.ok(lines.length >= 11, r.stdout);
  assert.ok(
    lines.every((l) => l.startsWith('holds')),
    r.stdout,
  );
  assert.match(r.stdout, /cluster-setup: swap is off on the node/);
  assert.match(r.stdout, /smoke-cluster: kube-proxy sends the kube-dns service/);
});

test('kgrade check through a kubeconfig alone: node checks go through debug pods, and they are removed', {
  timeout: 600_000,
}, async () => {
  const kind = new KindProvider();
  const real = await readFile(kind.ref.kubeconfig, 'utf8');
  const context = /current-context: (\S+)/.exec(real)?.[1] ?? 'kind-kgrade';
  const r = await kgrade('check', SMOKE, '--kubeconfig', kind.ref.kubeconfig, '--context', context);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`using cluster ${context}`));
  assert.ok(
    claims(r.stdout).every((l) => l.startsWith('holds')),
    r.stdout,
  );
  const pods = await kind
    .kubeConfig()
    .makeApiClient((await import('../../src/vendor/kubernetes-client.js')).CoreV1Api)
    .listNamespacedPod({ namespace: 'kgrade-system' })
    .catch(() => ({ items: [] }));
  const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
  assert.deepEqual(
    live.map((p) => p.metadata?.name),
    [],
    'debug pods left running',
  );
});

test('a claim that does not hold: exit 1, the claim named with what was seen', { timeout: 600_000 }, async (t) => {
  const root = await tempRoot('check-false', t);
  const lab = await writeLab(root, 'false-claim', {
    yaml: labYaml('false-claim', { files: ['pod.yaml'], extra: { environment: 'cluster' } }),
    features: {
      'claims.feature': `Feature: claims
  @course @severity:medium
  Scenario: the node has a file that no node has
    Put /etc/kgrade-no-such-file on the node.

    When the node runs "cat /etc/kgrade-no-such-file"
    Then it succeeds

  @course @severity:low
  Scenario: the node has /etc
    Reinstall the node.

    When the node runs "test -d /etc"
    Then it succeeds
`,
    },
    reference: { 'pod.yaml': 'kind: Pod\n' },
  });
  const r = await kgrade('check', lab);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAILS\s+medium\s+false-claim: the node has a file that no node has/);
  assert.match(r.stdout, /kgrade-no-such-file/);
  assert.match(r.stdout, /remediation: Put \/etc\/kgrade-no-such-file on the node\./);
  assert.match(r.stdout, /holds\s+low\s+false-claim: the node has \/etc/);

  // as a scanner: a threshold above the failure's severity passes; the JSON run is a baseline
  // under which the same failure no longer counts; JUnit and SARIF carry the same verdicts
  const high = await kgrade('check', lab, '--fail-on', 'high');
  assert.equal(high.exitCode, 0, high.stdout + high.stderr);
  const json = await kgrade('check', lab, '--format', 'json');
  assert.equal(json.exitCode, 1, json.stderr);
  const run = JSON.parse(json.stdout) as {
    claims: Array<{ name: string; outcome: string; severity: string; remediation: string; uri: string }>;
  };
  const failing = run.claims.filter((c) => c.outcome === 'fails');
  assert.deepEqual(
    failing.map((c) => [c.name, c.severity]),
    [['the node has a file that no node has', 'medium']],
    json.stdout,
  );
  assert.ok(
    run.claims.filter((c) => c.outcome !== 'fails').every((c) => c.outcome === 'holds'),
    json.stdout,
  );
  const saved = path.join(root, 'baseline.json');
  await writeFile(saved, json.stdout);
  const again = await kgrade('check', lab, '--baseline', saved);
  assert.equal(again.exitCode, 0, again.stdout + again.stderr);
  assert.match(
    again.stdout,
    /FAILS\s+medium\s+false-claim: the node has a file that no node has {2}\(in the baseline\)/,
  );
  const sarif = await kgrade('check', lab, '--format', 'sarif');
  assert.equal(sarif.exitCode, 1, sarif.stderr);
  const results =
    (JSON.parse(sarif.stdout) as { runs: Array<{ results: Array<{ kind: string; message: { text: string } }> }> })
      .runs[0]?.results ?? [];
  assert.deepEqual(
    results.filter((x) => x.kind === 'fail').map((x) => x.message.text.includes('kgrade-no-such-file')),
    [true],
  );
  const junit = await kgrade('check', lab, '--format', 'junit');
  assert.equal(junit.exitCode, 1, junit.stderr);
  assert.equal((junit.stdout.match(/<failure /g) ?? []).length, 1, junit.stdout);
});

test('a bad --baseline or --fail-on is a usage error (exit 2) before the cluster is touched', {
  timeout: 120_000,
}, async (t) => {
  const root = await tempRoot('check-baseline', t);
  const stale = path.join(root, 'stale.json');
  await writeFile(stale, '{\n  "format": "kgrade-check/1",\n  "kgrade": "0.0.0-old",\n  "claims": []\n}\n');
  const r = await kgrade('check', SMOKE, '--baseline', stale);
  assert.equal(r.exitCode, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /stale\.json:3: saved by kgrade 0\.0\.0-old/);
  assert.doesNotMatch(r.stderr, /checking/);
  const bad = await kgrade('check', SMOKE, '--fail-on', 'urgent');
  assert.equal(bad.exitCode, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /--fail-on urgent: must be one of critical, high, medium, low/);
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
  // every claim is listed as not checked, with the reason, in the machine formats too
  const sarif = await kgrade('check', SMOKE, '--kubeconfig', file, '--context', context, '--format', 'sarif');
  assert.equal(sarif.exitCode, 3, sarif.stderr);
  const run = (
    JSON.parse(sarif.stdout) as {
      runs: Array<{
        results: Array<{ kind: string }>;
        invocations: Array<{ toolExecutionNotifications: Array<{ message: { text: string } }> }>;
      }>;
    }
  ).runs[0];
  assert.ok(run && run.results.length >= 11 && run.results.every((x) => x.kind === 'open'), sarif.stdout);
  assert.ok(
    run.invocations[0]?.toolExecutionNotifications.every((n) => /127\.0\.0\.1:9/.test(n.message.text)),
    sarif.stdout,
  );
});
