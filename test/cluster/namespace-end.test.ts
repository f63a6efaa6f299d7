/**
 * A submission namespace ends, whatever its objects hold, on the real cluster. A finalizer
 * is put past the admission policies (the namespace's label taken off for a moment), as a
 * cluster without them would take it: a PVC holding one keeps its namespace Terminating and
 * its data on the node; kgrade's teardown removes it, and the namespace, the volume and the
 * folder on the node are gone. A namespace left Terminating by an earlier run is reported and
 * finished by the next grade, which keeps full marks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '../../src/vendor/kubernetes-client.js';
import { execa } from '../../src/vendor/execa.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { SUBMISSION_LABEL } from '../../src/kube/admission.js';
import { applyManifest } from '../../src/kube/apply.js';
import { createSubmissionNamespace, deleteNamespace, type SubmissionNamespace } from '../../src/kube/namespace.js';
import { LEFT_BEHIND_MS } from '../../src/kube/namespace-end.js';
import { waitForPod } from '../../src/kube/pods.js';
import { REPO_ROOT } from '../../src/paths.js';
import { smokePod, writeTree } from '../helpers/labs.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const NODE = 'kgrade-control-plane';
const HOLD = 'example.com/hold';
const admin = () => new KindProvider().kubeConfig();
const core = () => admin().makeApiClient(k8s.CoreV1Api);
let root = '';
let held: SubmissionNamespace;
let leftover: SubmissionNamespace;

/** Puts a finalizer on an object with the policies unbound from its namespace for that one write. */
async function holdPastAdmission(ns: string, kind: 'PersistentVolumeClaim' | 'ConfigMap', name: string): Promise<void> {
  const label = (await core().readNamespace({ name: ns })).metadata?.labels?.[SUBMISSION_LABEL] ?? '';
  const objects = k8s.KubernetesObjectApi.makeApiClient(admin());
  const setLabel = (value: string | null) =>
    objects.patch(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { [SUBMISSION_LABEL]: value } },
      } as unknown as k8s.KubernetesObject,
      undefined,
      undefined,
      'kgrade-test',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
  await setLabel(null);
  try {
    // the policies' bindings follow the label within a moment
    for (let i = 0; ; i++) {
      try {
        await objects.patch(
          { apiVersion: 'v1', kind, metadata: { name, namespace: ns, finalizers: [HOLD] } },
          undefined,
          undefined,
          'kgrade-test',
          undefined,
          k8s.PatchStrategy.MergePatch,
        );
        break;
      } catch (err) {
        if (i > 20) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await setLabel(label);
  }
}

async function nodeVolumes(): Promise<string[]> {
  const r = await execa('docker', ['exec', NODE, 'ls', '-1', '/var/local-path-provisioner'], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-namespace-end-'));
  // Left Terminating first: by the last test it is older than LEFT_BEHIND_MS.
  leftover = await createSubmissionNamespace(admin(), 'namespace-end-test', 'leftover');
  await core().createNamespacedConfigMap({ namespace: leftover.name, body: { metadata: { name: 'held' } } });
  await holdPastAdmission(leftover.name, 'ConfigMap', 'held');
  await core().deleteNamespace({ name: leftover.name });

  held = await createSubmissionNamespace(admin(), 'namespace-end-test', 'pvc');
  await applyManifest(
    held,
    'pvc.yaml',
    `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  containers:
    - name: w
      image: busybox:1.36
      command: [sh, -c, "dd if=/dev/zero of=/data/fill bs=1M count=20 && sleep 3600"]
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`,
  );
  await waitForPod(admin(), held.name, 'writer', {
    what: 'Running',
    timeoutMs: 180_000,
    until: (p) => p.status?.phase === 'Running',
  });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
  for (const ns of [held, leftover]) if (ns) await deleteNamespace(admin(), ns.name, 120_000).catch(() => undefined);
});

test('a PVC holding a finalizer keeps its namespace Terminating and its data on the node: the route is real', async () => {
  const volume = (await nodeVolumes()).find((v) => v.includes(`_${held.name}_data`));
  assert.ok(volume, `the claim's folder is on the node: ${(await nodeVolumes()).join(', ')}`);
  await holdPastAdmission(held.name, 'PersistentVolumeClaim', 'data');
  await core().deleteCollectionNamespacedPod({ namespace: held.name, gracePeriodSeconds: 0 });
  await core().deleteNamespace({ name: held.name });
  await new Promise((r) => setTimeout(r, 15_000));
  const ns = await core().readNamespace({ name: held.name });
  assert.equal(ns.status?.phase, 'Terminating');
  const pvc = await core().readNamespacedPersistentVolumeClaim({ name: 'data', namespace: held.name });
  assert.ok(pvc.metadata?.finalizers?.includes(HOLD));
  assert.ok((await nodeVolumes()).includes(volume), 'the data is still on the node');
});

test("kgrade's teardown removes the finalizer: namespace, volume and the folder on the node are gone", async () => {
  const started = Date.now();
  await deleteNamespace(admin(), held.name, 120_000);
  const tookMs = Date.now() - started;
  await assert.rejects(core().readNamespace({ name: held.name }), /404|not found/i);
  const pvs = (await core().listPersistentVolume()).items.filter((pv) => pv.spec?.claimRef?.namespace === held.name);
  assert.deepEqual(
    pvs.map((pv) => pv.metadata?.name),
    [],
  );
  assert.ok(
    !(await nodeVolumes()).some((v) => v.includes(`_${held.name}_`)),
    `no folder of ${held.name} left in /var/local-path-provisioner`,
  );
  process.stdout.write(`# namespace and volume gone ${tookMs} ms after kgrade's teardown began\n`);
});

test('a namespace left Terminating by an earlier run: the next grade reports and finishes it, and keeps full marks', {
  timeout: 600_000,
}, async () => {
  const since = (await core().readNamespace({ name: leftover.name })).metadata?.deletionTimestamp;
  assert.ok(since, 'the leftover is Terminating');
  const wait = new Date(since).getTime() + LEFT_BEHIND_MS + 2_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  assert.equal(
    (await core().readNamespace({ name: leftover.name })).status?.phase,
    'Terminating',
    'still held by its finalizer',
  );
  const sub = path.join(root, 'good');
  await writeTree(sub, { 'pod.yaml': smokePod() });
  const out = path.join(root, 'out');
  const r = await execa(
    'node',
    [CLI, 'grade', path.join(REPO_ROOT, 'labs/smoke-cluster'), '--submission', sub, '--out', out],
    { reject: false, timeout: 600_000, env: { NO_COLOR: '1' } },
  );
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `namespace ${leftover.name} of an earlier grade was still Terminating .*removed ConfigMap held: ${HOLD}`,
    ),
  );
  const result = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as {
    score: number;
    maxScore: number;
  };
  assert.equal(result.score, result.maxScore);
  // the grade's process waited for it before exiting
  await assert.rejects(core().readNamespace({ name: leftover.name }), /404|not found/i);
});
