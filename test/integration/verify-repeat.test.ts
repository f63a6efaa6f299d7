/**
 * kgrade verify with verify.repeat, in the real sandbox: the reference's and
 * each correct case's @races scenarios run again until they have run that many
 * times, each round with its own report; a correct case whose @races scenario
 * fails is named with the rounds it failed in; wrong cases are graded once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GradeResult } from '../../src/grade/model.js';
import { assertNothingLeft, requireDocker, runCli, type CliRun } from '../helpers/grading.js';
import { helloAndEchoFeature, labYaml, script, tempRoot, writeLab, writeTree } from '../helpers/labs.js';

const FEATURE = helloAndEchoFeature('@races');

function show(r: CliRun): string {
  return `\nexit ${r.code} (signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

async function results(dir: string): Promise<GradeResult> {
  return JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as GradeResult;
}

test('verify.repeat: @races scenarios of correct cases run in every round; one that fails is named with its rounds', {
  timeout: 600_000,
}, async (t) => {
  await requireDocker();
  const root = await tempRoot('verify-repeat', t);
  const lab = await writeLab(root, 'races', {
    yaml: labYaml('races', {
      timeouts: { script: 5, command: 15, wait: 3 },
      expect: { silent: { score: 1, failed: ['run.sh prints hello'] } },
      extra: { verify: { repeat: 3 } },
    }),
    features: { 'races.feature': FEATURE },
    reference: { 'run.sh': script('echo hello') },
    wrong: { silent: { 'run.sh': script('true') } },
  });
  await writeTree(path.join(lab, 'correct', 'quiet'), { 'run.sh': script('echo bye') });
  const out = path.join(root, 'out');
  const r = await runCli(['verify', lab, '--no-build', '--out', out], { timeoutMs: 540_000 });
  await assertNothingLeft([r.pid]);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stdout, /^ok +races reference: 2\/2 \(expected 2\/2\) \(@races scenarios in 3 rounds\)$/m, show(r));
  assert.match(
    r.stdout,
    /^MISMATCH races correct\/quiet: 1\/2 \(expected 2\/2\) \(@races scenarios in 3 rounds\): .*"run\.sh prints hello" failed in rounds 1, 2, 3 of 3: /m,
    show(r),
  );
  assert.match(r.stdout, /^ok +races wrong\/silent: 1\/2 \(expected 1\/2\)$/m, show(r));
  assert.match(
    r.stderr,
    /races: grading reference again \(round 3 of 3\), its @races scenarios: "run\.sh prints hello"/,
    show(r),
  );
  for (const round of [2, 3]) {
    const again = await results(path.join(out, `reference.round-${round}`));
    assert.deepEqual(
      again.scenarios.map((s) => [s.name, s.outcome]),
      [['run.sh prints hello', 'passed']],
    );
  }
  assert.equal((await results(path.join(out, 'correct-quiet.round-2'))).scenarios[0]?.outcome, 'failed');
});
