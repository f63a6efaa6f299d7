/**
 * Failure diagnostics and what students see, graded for real in a sandbox: a failing
 * scenario carries the script's last output and the command that failed, in results.json,
 * JUnit, the summaries and Allure; lab.yaml's feedback and a scenario's @feedback tag decide
 * what Gradescope and Classroom show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GradeResult } from '../../src/grade/model.js';
import type { GradescopeResults } from '../../src/report/gradescope.js';
import { requireDocker, runCli } from '../helpers/grading.js';
import { labYaml, script, tempRoot, writeLab } from '../helpers/labs.js';

const FEATURE = `Feature: diagnostics
  @points:2
  Scenario: setup.sh leaves a marker file
    setup.sh must write /tmp/marker.

    When the submission's "setup.sh" runs
    And the node runs "cat /tmp/marker"
    Then it succeeds

  @points:1 @feedback:message
  Scenario: setup.sh prints ready
    It must print ready.

    When the submission's "setup.sh" runs
    Then its output contains "ready"

  @points:1 @feedback:hidden
  Scenario: setup.sh exits 0
    It must end well.

    When the submission's "setup.sh" runs
    Then it succeeds
`;

test("a failing scenario shows the script's last output and the failing command; feedback levels decide what students see", {
  timeout: 300_000,
}, async (t) => {
  await requireDocker();
  const root = await tempRoot('feedback', t);
  const lab = await writeLab(root, 'feedback-lab', {
    yaml: labYaml('feedback-lab', { files: ['setup.sh'], timeouts: { script: 20, command: 15, wait: 5 } }),
    features: { 'diag.feature': FEATURE },
    reference: { 'setup.sh': script('echo ready; echo ok > /tmp/marker') },
    wrong: {
      broken: {
        'setup.sh': script(
          'for i in $(seq 1 60); do echo "step $i"; done; echo "mkdir: cannot create /tmp/nowhere/x" >&2; exit 3',
        ),
      },
    },
  });
  const out = path.join(root, 'out');
  const r = await runCli(
    ['grade', lab, '--submission', path.join(lab, 'wrong', 'broken'), '--no-build', '--out', out, '--allure'],
    { timeoutMs: 280_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as GradeResult;
  const marker = result.scenarios.find((s) => s.name === 'setup.sh leaves a marker file');
  assert.equal(marker?.outcome, 'failed');
  const d = marker?.diagnostics;
  assert.ok(d?.script, JSON.stringify(marker));
  assert.equal(d.script.what, 'setup.sh');
  assert.equal(d.script.exitCode, 3);
  assert.match(d.script.stdout, /step 60$/, 'the last lines are kept');
  assert.doesNotMatch(d.script.stdout, /^step 1$/m, 'the first lines are cut to the bound');
  assert.match(d.script.stderr, /cannot create \/tmp\/nowhere/);
  assert.equal(d.command?.what, 'cat /tmp/marker');
  assert.notEqual(d.command?.exitCode, 0);
  assert.equal(d.truncated, true);
  assert.equal(marker?.feedback, 'full');

  // Gradescope: full shows what the grader saw, message shows the message only, hidden waits
  const gs = JSON.parse(await readFile(path.join(out, 'gradescope', 'results.json'), 'utf8')) as GradescopeResults;
  const byName = new Map(gs.tests.map((x) => [x.name, x]));
  assert.match(
    byName.get('setup.sh leaves a marker file')?.output ?? '',
    /What the grader saw:\nThe script setup\.sh \(exit 3\):[\s\S]*\| step 60/,
  );
  const message = byName.get('setup.sh prints ready');
  assert.equal(message?.status, 'failed');
  assert.doesNotMatch(message?.output ?? '', /Hint|What the grader saw/);
  assert.match(message?.output ?? '', /expected the output to contain "ready"/);
  assert.equal(byName.get('setup.sh exits 0')?.visibility, 'after_published');

  // the instructor's reports carry them in full
  const junit = await readFile(path.join(out, 'junit.xml'), 'utf8');
  assert.match(junit, /<system-out>[\s\S]*What the grader saw:\nThe script setup\.sh \(exit 3\)/);
  assert.match(await readFile(path.join(out, 'summary.md'), 'utf8'), /<summary>What the grader saw<\/summary>/);
  assert.match(r.stdout, /seen: The script setup\.sh \(exit 3\)/);
  const allure = path.join(out, 'allure-results');
  const attachments = await Promise.all(
    (await readdir(allure))
      .filter((f) => f.endsWith('-attachment.json'))
      .map((f) => readFile(path.join(allure, f), 'utf8')),
  );
  assert.ok(
    attachments.some((a) => a.includes('"what":"setup.sh"')),
    'Allure holds the diagnostics as an attachment',
  );

  // a passing grade carries none
  const good = path.join(root, 'good');
  const ok = await runCli(['grade', lab, '--submission', path.join(lab, 'reference'), '--no-build', '--out', good], {
    timeoutMs: 280_000,
  });
  assert.equal(ok.code, 0, ok.stderr);
  const passed = JSON.parse(await readFile(path.join(good, 'results.json'), 'utf8')) as GradeResult;
  assert.equal(passed.score, 4);
  assert.ok(passed.scenarios.every((s) => s.diagnostics === undefined));
});
