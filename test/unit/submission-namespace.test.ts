/**
 * The pure parts of a submission namespace's bounds: which namespace a manifest may name,
 * which finalizers teardown removes, the admission objects kgrade installs and the quota a
 * lab's allowances change. What the API server does with them is test/cluster/'s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubmissionAssertionError } from '../../src/errors.js';
import { admissionObjects, SUBMISSION_LABEL, SYSTEM_FINALIZERS } from '../../src/kube/admission.js';
import { parseManifest } from '../../src/kube/apply.js';
import { splitFinalizers } from '../../src/kube/namespace-end.js';
import { LIMIT_RANGE, namespaceQuota } from '../../src/kube/namespace.js';

const pod = (meta: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n${meta}spec:\n  containers: [{name: c, image: busybox}]\n`;

test('parseManifest: no namespace, or "default", is moved into the scenario\'s namespace; "default" with a note', () => {
  assert.deepEqual(parseManifest('pod.yaml', pod('')).notes, []);
  const moved = parseManifest('pod.yaml', pod('  namespace: default\n'));
  assert.equal(moved.objects.length, 1);
  assert.match(
    moved.notes[0] ?? '',
    /pod\.yaml, document 1: metadata\.namespace "default" was moved into the scenario's own namespace/,
  );
});

test("parseManifest: any other namespace is the student's failure, naming the file, the document and the namespace", () => {
  for (const ns of ['kube-system', 'kgrade-other', 'kube-public']) {
    assert.throws(
      () =>
        parseManifest(
          'pod.yaml',
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\n${pod(`  namespace: ${ns}\n`)}`,
        ),
      (err: unknown) =>
        err instanceof SubmissionAssertionError &&
        err.message.includes('pod.yaml, document 2') &&
        err.message.includes(`"${ns}"`),
      ns,
    );
  }
});

test("splitFinalizers: the submission's go, the cluster's stay; when finishing only a provisioner's stay", () => {
  const fs = [
    'example.com/hold',
    'kubernetes.io/pvc-protection',
    'foregroundDeletion',
    'external-provisioner.volume.kubernetes.io/finalizer',
  ];
  assert.deepEqual(splitFinalizers(fs, false), {
    keep: ['kubernetes.io/pvc-protection', 'foregroundDeletion', 'external-provisioner.volume.kubernetes.io/finalizer'],
    remove: ['example.com/hold'],
  });
  assert.deepEqual(splitFinalizers(fs, true), {
    keep: ['external-provisioner.volume.kubernetes.io/finalizer'],
    remove: ['example.com/hold', 'kubernetes.io/pvc-protection', 'foregroundDeletion'],
  });
  assert.deepEqual(splitFinalizers(undefined, true), { keep: [], remove: [] });
  // a name that only looks like the cluster's is the submission's
  assert.deepEqual(splitFinalizers(['kubernetes.io/pvc-protection-x'], false).remove, [
    'kubernetes.io/pvc-protection-x',
  ]);
});

test('admissionObjects: one binding per policy, each bound to submission namespaces only, with a stable hash', () => {
  const objs = admissionObjects();
  const policies = objs.filter((o) => o.kind === 'ValidatingAdmissionPolicy');
  const bindings = objs.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding');
  assert.ok(policies.length >= 5);
  assert.deepEqual(bindings.map((b) => b.metadata?.name).sort(), policies.map((p) => p.metadata?.name).sort());
  for (const o of objs) {
    const spec = (o as unknown as { spec: Record<string, unknown> }).spec;
    const selector = JSON.stringify(spec['matchConstraints'] ?? spec['matchResources']);
    assert.ok(
      selector.includes(`"key":"${SUBMISSION_LABEL}","operator":"Exists"`),
      `${o.kind} ${o.metadata?.name}: ${selector}`,
    );
    if (o.kind === 'ValidatingAdmissionPolicyBinding') assert.deepEqual(spec['validationActions'], ['Deny']);
  }
  assert.deepEqual(
    admissionObjects().map((o) => o.metadata?.annotations),
    objs.map((o) => o.metadata?.annotations),
  );
  const finalizers = JSON.stringify(policies.find((p) => p.metadata?.name === 'kgrade-submission-finalizers'));
  for (const f of SYSTEM_FINALIZERS) assert.ok(finalizers.includes(`'${f}'`), f);
});

test('namespaceQuota: NodePorts and load balancers are zero unless the lab allows them; storage and ephemeral storage bounded', () => {
  const q = namespaceQuota();
  assert.equal(q['services.nodeports'], '0');
  assert.equal(q['services.loadbalancers'], '0');
  for (const k of ['requests.storage', 'requests.ephemeral-storage', 'limits.ephemeral-storage', 'limits.memory'])
    assert.ok(q[k], k);
  const allowed = namespaceQuota({ nodePorts: true, loadBalancers: true });
  assert.notEqual(allowed['services.nodeports'], '0');
  assert.notEqual(allowed['services.loadbalancers'], '0');
  const container = LIMIT_RANGE.find((l) => l.type === 'Container');
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    assert.ok(container?._default?.[r], `default limit ${r}`);
    assert.ok(container?.defaultRequest?.[r], `default request ${r}`);
  }
});
