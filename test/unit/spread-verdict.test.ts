/**
 * The spread check's decision on one round of requests: pass, try again until
 * the deadline (the cluster may still be converging), or fail at once because
 * waiting cannot help. And the request script's time budget, run by sh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import { parseAnswers, requestScript } from '../../src/kube/http-answers.js';
import { judgeSpread, type SpreadSample } from '../../src/kube/spread-verdict.js';

function sample(o: Partial<Omit<SpreadSample, 'hits'>> & { hits?: Record<string, number> }): SpreadSample {
  const { hits, ...rest } = o;
  return {
    requests: 30,
    answered: 30,
    readyEndpoints: 3,
    selected: 3,
    settled: true,
    ...rest,
    hits: new Map(Object.entries(hits ?? {})),
  };
}

test('answers from enough pods pass', () => {
  assert.deepEqual(judgeSpread(sample({ hits: { a: 20, b: 10 } }), 2), { verdict: 'pass' });
  assert.deepEqual(
    judgeSpread(sample({ answered: 12, hits: { a: 6, b: 6 } }), 2),
    { verdict: 'pass' },
    'failed requests do not matter once enough pods answered',
  );
});

test('every answer from one pod while three endpoints are ready: kube-proxy is behind, try again', () => {
  const v = judgeSpread(sample({ hits: { 'kubia-1': 30 } }), 2);
  assert.equal(v.verdict, 'retry');
  assert.match(
    v.verdict === 'retry' ? v.why : '',
    /EndpointSlices list 3 pods ready: kube-proxy may not have written the rules/,
  );
});

test('one pod answering while the controller is still making pods: try again', () => {
  const v = judgeSpread(sample({ hits: { 'kubia-1': 30 }, readyEndpoints: 1, selected: 3, settled: false }), 2);
  assert.equal(v.verdict, 'retry');
  assert.match(v.verdict === 'retry' ? v.why : '', /still starting/);
});

test('one pod answering, pods ready but the EndpointSlices not caught up: try again, saying so', () => {
  const v = judgeSpread(sample({ hits: { 'kubia-1': 30 }, readyEndpoints: 1, selected: 3 }), 2);
  assert.equal(v.verdict, 'retry');
  assert.match(v.verdict === 'retry' ? v.why : '', /EndpointSlices list 1 pod ready of the 3 pods the selector picks/);
});

test('requests that got no answer: try again, the rules may not be in place', () => {
  const v = judgeSpread(sample({ answered: 0, hits: {} }), 2);
  assert.equal(v.verdict, 'retry');
  assert.match(v.verdict === 'retry' ? v.why : '', /30 of 30 requests got no answer/);
  assert.equal(judgeSpread(sample({ answered: 29, hits: { a: 29 } }), 2).verdict, 'retry');
});

test('a selector that picks one pod, nothing starting: fail at once, naming why', () => {
  const v = judgeSpread(sample({ hits: { 'kubia-1': 30 }, readyEndpoints: 1, selected: 1 }), 2);
  assert.equal(v.verdict, 'fail');
  assert.match(v.verdict === 'fail' ? v.why : '', /selector picks 1 pod and no controller is making more/);
  assert.equal(
    judgeSpread(sample({ answered: 0, hits: {}, readyEndpoints: 0, selected: 0 }), 2).verdict,
    'fail',
    'no pod at all: waiting cannot help either',
  );
});

test('a selector that picks one pod while others are starting: not yet decided', () => {
  assert.equal(
    judgeSpread(sample({ hits: { 'kubia-1': 30 }, readyEndpoints: 1, selected: 1, settled: false }), 2).verdict,
    'retry',
  );
});

test('every request answered and no answer names a pod: fail at once (a fixed answer)', () => {
  const v = judgeSpread(sample({ hits: {} }), 2);
  assert.equal(v.verdict, 'fail');
  assert.match(v.verdict === 'fail' ? v.why : '', /no answer named the pod that sent it/);
});

test('answers from one named pod and some naming none: not decided before the deadline', () => {
  assert.equal(judgeSpread(sample({ hits: { 'kubia-1': 10 } }), 2).verdict, 'retry');
});

test('the request script stops starting requests when its time budget is spent', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-test-wget-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A wget that takes a second and answers with the URL it was given.
  await writeFile(
    path.join(dir, 'wget'),
    '#!/bin/sh\n# called as: wget -qO FILE URL\nsleep 1\necho "answer from $3" > "$2"\n',
  );
  await chmod(path.join(dir, 'wget'), 0o755);
  const urls = Array.from({ length: 8 }, (_, i) => `http://10.0.0.${i}/`);
  const env = { PATH: `${dir}:${process.env['PATH'] ?? ''}` };
  const bounded = await execa('sh', ['-c', requestScript(urls, 2)], { env, reject: false });
  assert.equal(bounded.exitCode, 0, bounded.stderr);
  const got = parseAnswers(urls, bounded.stdout);
  const made = got.filter((a) => a.code !== -1).length;
  assert.ok(
    made >= 1 && made < urls.length,
    `with a 2 s budget some requests ran and the rest did not: ${made} of ${urls.length}\n${bounded.stdout}`,
  );
  assert.match(got.at(-1)?.error ?? '', /no result/);
  const unbounded = await execa('sh', ['-c', requestScript(urls.slice(0, 3))], { env, reject: false });
  assert.equal(
    parseAnswers(urls.slice(0, 3), unbounded.stdout).filter((a) => a.code === 0).length,
    3,
    unbounded.stdout + unbounded.stderr,
  );
});
