import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GradeResult } from '../../src/grade/model.js';
import { generateAllureHtml } from '../../src/report/allure-html.js';
import { toGradescope } from '../../src/report/gradescope.js';
import { toJUnitXml } from '../../src/report/junit.js';
import { toMarkdown } from '../../src/report/markdown.js';
import { readResultsJson, validateGradeResult, writeResultsJson } from '../../src/report/results-json.js';
import { toSummary } from '../../src/report/summary.js';
import { writeReports } from '../../src/report/write-all.js';
import { completeResult, incompleteResult } from './fixtures.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../../test/golden/', import.meta.url));
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

async function matchesGolden(name: string, actual: string): Promise<void> {
  const file = path.join(GOLDEN_DIR, name);
  if (UPDATE) {
    await mkdir(GOLDEN_DIR, { recursive: true });
    await writeFile(file, actual, 'utf8');
    return;
  }
  let expected: string;
  try {
    expected = await readFile(file, 'utf8');
  } catch {
    assert.fail(`${file} is missing: create it with UPDATE_GOLDEN=1 node --test dist/test/unit/report.test.js`);
  }
  assert.equal(
    actual,
    expected,
    `${name} differs from its golden file ${file}; if the change is intended, regenerate with UPDATE_GOLDEN=1`,
  );
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-report-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const fixtures: Array<[string, () => GradeResult]> = [
  ['complete', completeResult],
  ['incomplete', incompleteResult],
];

for (const [name, make] of fixtures) {
  test(`${name}: every format matches its golden file`, async () => {
    const result = make();
    await matchesGolden(`${name}.results.json`, `${JSON.stringify(result, null, 2)}\n`);
    await matchesGolden(`${name}.junit.xml`, toJUnitXml(result));
    await matchesGolden(`${name}.gradescope.json`, `${JSON.stringify(toGradescope(result), null, 2)}\n`);
    await matchesGolden(`${name}.summary.txt`, toSummary(result, { color: false }));
    await matchesGolden(`${name}.summary.ansi.txt`, toSummary(result, { color: true }));
    await matchesGolden(`${name}.md`, toMarkdown(result));
  });

  test(`${name}: the schema accepts the fixture`, () => {
    assert.deepEqual(validateGradeResult(make(), name), make());
  });

  test(`${name}: results.json round-trips through write and read`, async (t) => {
    const dir = await tempDir(t);
    const file = await writeResultsJson(make(), dir);
    assert.equal(file, path.join(dir, 'results.json'));
    const text = await readFile(file, 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.startsWith('{\n  "schemaVersion": 1,'));
    assert.deepEqual(await readResultsJson(file), make());
  });
}

test('the schema rejects a bad outcome and names the field', () => {
  const bad = completeResult() as unknown as { scenarios: Array<{ outcome: string }> };
  const second = bad.scenarios[1];
  assert.ok(second, 'the complete result has a second scenario');
  second.outcome = 'flaky';
  assert.throws(
    () => validateGradeResult(bad, 'results.json'),
    (err: Error) => {
      assert.match(err.message, /^results\.json does not match schemas\/results\.schema\.json:/);
      assert.match(
        err.message,
        /scenarios\[1\]\.outcome \(scenario "The NodePort answers on every node"\): is "flaky", must be one of "passed", "failed", "error", "skipped"/,
      );
      return true;
    },
  );
});

test('the schema lists every bad field: missing, unknown, wrong type', () => {
  const bad = completeResult() as unknown as Record<string, unknown> & { lab: Record<string, unknown> };
  delete bad['finishedAt'];
  bad['grade'] = 'A';
  bad.lab['chapter'] = 'three';
  assert.throws(
    () => validateGradeResult(bad, 'results.json'),
    (err: Error) => {
      assert.match(err.message, /\(top level\): missing field "finishedAt"/);
      assert.match(err.message, /\(top level\): unknown field "grade"/);
      assert.match(err.message, /lab\.chapter: must be integer/);
      return true;
    },
  );
});

test('fields that contradict each other are rejected', () => {
  const bad = incompleteResult();
  bad.complete = true;
  bad.score = 5;
  bad.counts.failed = 0;
  assert.throws(
    () => validateGradeResult(bad, 'results.json'),
    (err: Error) => {
      assert.match(err.message, /counts\.failed: is 0 but 1 scenario ended failed/);
      assert.match(err.message, /complete: is true but 1 scenario ended in error/);
      assert.match(err.message, /score: is 5 but the scenarios' points add up to 2/);
      return true;
    },
  );
});

test('an invalid result writes no results.json', async (t) => {
  const dir = await tempDir(t);
  const bad = completeResult();
  bad.maxScore = 100;
  await assert.rejects(writeResultsJson(bad, dir), /maxScore: is 100/);
  await assert.rejects(stat(path.join(dir, 'results.json')), { code: 'ENOENT' });
});

test('readResultsJson names the file when it is not JSON', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'results.json');
  await writeFile(file, '{"schemaVersion": 1,', 'utf8');
  await assert.rejects(readResultsJson(file), (err: Error) => err.message.startsWith(`${file}: not valid JSON`));
});

test('JUnit XML holds no character XML 1.0 forbids, and escapes markup', () => {
  const xml = toJUnitXml(incompleteResult());
  assert.doesNotMatch(xml, /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
  assert.match(xml, /&lt;nil&gt; &amp; &quot;exit 137&quot; 'OOMKilled'\\u0007 \\u001b\[31mred/);
  assert.match(xml, /<error message="[^"]*" type="grader-error">/);
  assert.match(xml, /<testsuite name="lab05-cgroups" tests="5" failures="1" errors="1" skipped="1" time="40\.250"/);
});

test("the summary without color has no escape sequence, not even the student's", () => {
  const plain = toSummary(incompleteResult(), { color: false });
  assert.doesNotMatch(plain, /\u001b/);
  assert.match(plain, /INCOMPLETE: 1 scenario errored/);
  const colored = toSummary(incompleteResult(), { color: true });
  assert.doesNotMatch(colored, /\u001b\[31mred/);
  assert.match(colored, /\u001b\[32m✔\u001b\[0m/);
});

test('Gradescope: course checks left out, hidden after publication, grader errors marked', () => {
  const complete = toGradescope(completeResult());
  assert.equal(complete.tests.length, 4);
  assert.ok(complete.tests.every((t) => !t.name.startsWith('kube-proxy writes')));
  assert.deepEqual(
    complete.tests.map((t) => t.visibility),
    ['visible', 'visible', 'after_published', 'after_published'],
  );
  assert.doesNotMatch(complete.output, /INCOMPLETE/);

  const incomplete = toGradescope(incompleteResult());
  const errored = incomplete.tests.find((t) => t.extra_data.outcome === 'error');
  assert.equal(errored?.status, 'failed');
  assert.match(errored?.output ?? '', /^GRADER ERROR: .*not with your submission/);
  assert.match(incomplete.output, /INCOMPLETE: .* This grade is not final: the submission will be regraded\./);
});

test('writeReports writes the four reports and returns their paths', async (t) => {
  const dir = await tempDir(t);
  const written = await writeReports(incompleteResult(), dir);
  assert.deepEqual(
    written.map((f) => path.relative(dir, f)),
    ['results.json', 'junit.xml', path.join('gradescope', 'results.json'), 'summary.md'],
  );
  for (const file of written) assert.ok((await stat(file)).size > 0, `${file} is empty`);
  const gradescope = written[2];
  assert.ok(gradescope);
  assert.deepEqual(JSON.parse(await readFile(gradescope, 'utf8')), toGradescope(incompleteResult()));
});

function allureResult(uuid: string, name: string, status: 'passed' | 'failed', start: number): object {
  return {
    uuid,
    historyId: `history-${uuid}`,
    testCaseId: `case-${uuid}`,
    fullName: `lab03-services: ${name}`,
    name,
    status,
    ...(status === 'failed' ? { statusDetails: { message: 'expected 200, got 503' } } : {}),
    stage: 'finished',
    start,
    stop: start + 1500,
    labels: [
      { name: 'suite', value: 'lab03-services' },
      { name: 'feature', value: 'Services' },
    ],
    steps: [
      {
        name: 'Given the submission is applied',
        status: 'passed',
        stage: 'finished',
        start,
        stop: start + 500,
        steps: [],
        attachments: [],
        parameters: [],
      },
    ],
    attachments: [],
    parameters: [],
    links: [],
  };
}

test('generateAllureHtml makes an offline single-file report from allure-results', async (t) => {
  const dir = await tempDir(t);
  const results = path.join(dir, 'allure-results');
  await mkdir(results);
  const cases: Array<[string, string, 'passed' | 'failed']> = [
    ['0b0e7d8a-1111-4111-8111-111111111111', 'A ClusterIP Service reaches the pod', 'passed'],
    ['0b0e7d8a-2222-4222-8222-222222222222', 'The NodePort answers on every node', 'failed'],
  ];
  for (const [uuid, name, status] of cases) {
    const json = JSON.stringify(allureResult(uuid, name, status, 1741082400000));
    await writeFile(path.join(results, `${uuid}-result.json`), json, 'utf8');
  }
  const out = path.join(dir, 'html');
  await generateAllureHtml(results, out, { reportName: 'lab03-services: alice' });
  const html = await readFile(path.join(out, 'index.html'), 'utf8');
  assert.match(html, /<html/i);
  assert.doesNotMatch(html, /googletagmanager/);
});

test('generateAllureHtml names the folder when it is missing or empty', async (t) => {
  const dir = await tempDir(t);
  const missing = path.join(dir, 'nope', 'allure-results');
  await assert.rejects(generateAllureHtml(missing, path.join(dir, 'out')), (err: Error) =>
    err.message.startsWith(`${missing}: no allure-results folder there`),
  );
  const empty = path.join(dir, 'allure-results');
  await mkdir(empty);
  await writeFile(path.join(empty, 'environment.properties'), 'provider=sandbox\n', 'utf8');
  await assert.rejects(generateAllureHtml(empty, path.join(dir, 'out')), (err: Error) =>
    err.message.startsWith(`${empty}: no *-result.json files`),
  );
});

test("generateAllureHtml says so when no result file is in Allure's format", async (t) => {
  const dir = await tempDir(t);
  const results = path.join(dir, 'allure-results');
  await mkdir(results);
  await writeFile(path.join(results, 'x-result.json'), '{not json', 'utf8');
  await assert.rejects(
    generateAllureHtml(results, path.join(dir, 'out')),
    /could not read any of its 1 \*-result\.json files/,
  );
});
