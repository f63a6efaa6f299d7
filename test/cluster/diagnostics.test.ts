/**
 * What a student sees of a failing cluster scenario, on the real cluster: the namespace's
 * warning events, the pod's status and container states, and its containers' last log lines,
 * read before the namespace goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GradeResult } from '../../src/grade/model.js';
import { execa } from '../../src/vendor/execa.js';
import { REPO_ROOT } from '../../src/paths.js';
import { tempRoot, writeTree } from '../helpers/labs.js';

const CLI = path.join(REPO_ROOT, 'bin/kgrade.js');
const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');
const RUNS = 'the busybox pod runs';
const DNS = 'the pod resolves kubernetes.default through CoreDNS';

async function gradeSmoke(root: string, name: string, podYaml: string): Promise<GradeResult> {
  const sub = path.join(root, name);
  await writeTree(sub, { 'pod.yaml': podYaml });
  const out = path.join(root, `out-${name}`);
  const r = await execa('node', [CLI, 'grade', SMOKE, '--submission', sub, '--out', out], {
    reject: false,
    timeout: 600_000,
    env: { NO_COLOR: '1' },
  });
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as GradeResult;
}

test("a pod that runs but cannot resolve names: its state and its container's last log lines", {
  timeout: 600_000,
}, async (t) => {
  const root = await tempRoot('cluster-diag', t);
  const result = await gradeSmoke(
    root,
    'no-dns',
    `apiVersion: v1
kind: Pod
metadata:
  name: smoke
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: ["127.0.0.1"]
  containers:
    - name: box
      image: busybox:1.36
      command: ["sh", "-c", "echo kgrade-diag started; echo 'kgrade-diag: config missing' >&2; exec sleep 3600"]
`,
  );
  assert.equal(result.scenarios.find((x) => x.name === RUNS)?.outcome, 'passed');
  const s = result.scenarios.find((x) => x.name === DNS);
  assert.equal(s?.outcome, 'failed', JSON.stringify(s));
  const d = s?.diagnostics;
  assert.ok(d, 'a failed cluster scenario carries diagnostics');
  const pod = d.objects?.find((o) => o.kind === 'Pod' && o.name === 'smoke');
  assert.ok(pod, JSON.stringify(d));
  assert.ok(
    pod.conditions.some((c) => /^container box: running/.test(c)),
    pod.conditions.join('\n'),
  );
  const logs = (d.logs ?? []).filter((l) => l.pod === 'smoke' && l.container === 'box');
  assert.ok(
    logs.some((l) => l.lines.includes('kgrade-diag started') && l.lines.includes('kgrade-diag: config missing')),
    JSON.stringify(d.logs),
  );
  assert.ok(!(d.objects ?? []).some((o) => o.name === 'dns-client'), "the grader's own pods are left out");
});

test('an image that does not exist: the pull failure in the warning events and the container waiting', {
  timeout: 600_000,
}, async (t) => {
  const root = await tempRoot('cluster-diag', t);
  const result = await gradeSmoke(
    root,
    'typo',
    await readFile(path.join(SMOKE, 'wrong', 'tag-typo', 'pod.yaml'), 'utf8'),
  );
  const s = result.scenarios.find((x) => x.name === RUNS);
  assert.equal(s?.outcome, 'failed', JSON.stringify(s));
  const d = s?.diagnostics;
  assert.ok(
    d?.events?.some((e) => /^Failed Pod\/smoke: .*busybox:1\.36x/.test(e)),
    JSON.stringify(d),
  );
  const pod = d?.objects?.find((o) => o.kind === 'Pod' && o.name === 'smoke');
  assert.ok(
    pod?.conditions.some((c) => /container busybox: waiting, (ErrImagePull|ImagePullBackOff)/.test(c)),
    JSON.stringify(pod),
  );
  const gradescope = JSON.parse(await readFile(path.join(root, 'out-typo', 'gradescope', 'results.json'), 'utf8')) as {
    tests: Array<{ name: string; output: string }>;
  };
  assert.match(
    gradescope.tests.find((x) => x.name === RUNS)?.output ?? '',
    /What the grader saw:\nWarning events in the namespace:\n {2}- Failed Pod\/smoke/,
  );
});

test('a container that exits a second after it starts: the pod is not Running, whatever moment the watch saw', {
  timeout: 600_000,
}, async (t) => {
  const root = await tempRoot('cluster-diag', t);
  const result = await gradeSmoke(
    root,
    'crash-later',
    `apiVersion: v1
kind: Pod
metadata:
  name: smoke
spec:
  containers:
    - name: box
      image: busybox:1.36
      command: ["sh", "-c", "echo kgrade-crash starting; sleep 1; echo 'kgrade-crash: giving up' >&2; exit 1"]
`,
  );
  const s = result.scenarios.find((x) => x.name === RUNS);
  assert.equal(s?.outcome, 'failed', JSON.stringify(s));
  const text = s?.steps.map((x) => x.message ?? '').join('\n') ?? '';
  assert.match(text, /expected pod smoke to be Running and keep running/, text);
  assert.match(text, /kgrade-crash: giving up/, text);
});
