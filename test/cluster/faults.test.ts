/**
 * Cluster faults end in a clear message and an error (exit 3), never in a
 * student's failed. Uses the real CLI; the last case needs the kind cluster up.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/lab/load.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');

async function kgrade(...args: string[]) {
  return execa('node', [CLI, ...args], { reject: false, timeout: 300_000 });
}

test('a kubeconfig that does not parse: exit 3, naming the file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-kc-'));
  const file = path.join(dir, 'broken.yaml');
  await writeFile(file, 'clusters: [ {name: x, cluster: {server: "https://127.0.0.1:1"\n');
  const r = await kgrade('cluster', 'status', '--kubeconfig', file, '--context', 'x');
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`kubeconfig ${file.replaceAll('/', '\\/')} does not parse`));
});

test('a context the kubeconfig does not have: exit 3, listing the contexts it has', async () => {
  const kc = new KindProvider();
  const r = await kgrade('cluster', 'status', '--kubeconfig', kc.ref.kubeconfig, '--context', 'no-such-context');
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /no context "no-such-context" \(it has: kind-/);
});

test('an API server that does not answer: the grade is an error, not a zero', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-kc-'));
  const real = await readFile(new KindProvider().ref.kubeconfig, 'utf8');
  // The same cluster and credentials, at a port where nothing listens.
  const dead = real.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9');
  const file = path.join(dir, 'dead.yaml');
  await writeFile(file, dead);
  const context = /current-context: (\S+)/.exec(real)?.[1] ?? 'kind-kgrade';
  const out = path.join(dir, 'out');
  const r = await kgrade('grade', SMOKE, '--submission', path.join(SMOKE, 'reference'), '--kubeconfig', file, '--context', context, '--out', out);
  assert.equal(r.exitCode, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1:9/);
  assert.doesNotMatch(r.stdout, /✘/);
});
