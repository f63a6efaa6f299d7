import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StoredResult } from '../../src/batch/records.js';
import { csvText, html } from '../../src/report/class/escape.js';
import { toGradebookCsv } from '../../src/report/class/gradebook.js';
import { toClassIndexHtml } from '../../src/report/class/index-html.js';
import { toClassJUnitXml } from '../../src/report/class/junit.js';
import { assembleClass, type ClassResults, type ClassStudent, type StoredEntry } from '../../src/report/class/model.js';
import { readClassResults } from '../../src/report/class/read.js';
import { passRates, scoreHistogram } from '../../src/report/class/stats.js';
import { toStudentHtml } from '../../src/report/class/student-html.js';
import { fit } from '../../src/report/class/svg.js';
import { classReportFiles, writeClassReport } from '../../src/report/class/write.js';
import { EXPECTED, fixtureBatch, fixtureStored, INJECTION, writeFixtureClass } from '../report/fixture-class.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN_DIR = path.join(ROOT, 'test', 'golden', 'class');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-class-report-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entries(stored: StoredResult[] = fixtureStored()): StoredEntry[] {
  return stored.map((s) => ({ id: s.student, stored: s }));
}

function fixtureClass(): ClassResults {
  return assembleClass(fixtureBatch(), entries());
}

/** Every file under dir, as "/"-separated paths relative to it, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  }
  return out.sort();
}

/** A small RFC 4180 reader, to check the gradebook as a spreadsheet would read it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += c;
  }
  assert.equal(field + row.join(''), '', 'the CSV ends with a line end');
  return rows;
}

test('the class report matches its golden files, file for file', async () => {
  const files = classReportFiles(fixtureClass());
  if (UPDATE) {
    await rm(GOLDEN_DIR, { recursive: true, force: true });
    for (const [rel, text] of files) {
      const file = path.join(GOLDEN_DIR, ...rel.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text, 'utf8');
    }
  }
  assert.deepEqual(
    [...files.keys()].sort(),
    await tree(GOLDEN_DIR),
    `the report's files differ from ${GOLDEN_DIR}; regenerate with UPDATE_GOLDEN=1 if intended`,
  );
  for (const [rel, text] of files) {
    assert.equal(
      text,
      await readFile(path.join(GOLDEN_DIR, ...rel.split('/')), 'utf8'),
      `${rel} differs from its golden file; regenerate with UPDATE_GOLDEN=1 if intended`,
    );
  }
});

test('read from a batch output folder, the class is the one made from the stored results', async (t) => {
  const dir = await tempDir(t);
  await writeFixtureClass(dir);
  assert.deepEqual(await readClassResults(dir), fixtureClass());
});

test('writeClassReport writes the golden tree, removes the files of a student no longer in the batch, and nothing else', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'report');
  await mkdir(path.join(out, 'students'), { recursive: true });
  await mkdir(path.join(out, 'gradescope', 'gone'), { recursive: true });
  await writeFile(path.join(out, 'students', 'gone.html'), 'old', 'utf8');
  await writeFile(path.join(out, 'gradescope', 'gone', 'results.json'), '{}', 'utf8');
  await writeClassReport(fixtureClass(), out);
  assert.deepEqual(await tree(out), await tree(GOLDEN_DIR));
  await writeFile(path.join(out, 'students', 'notes.txt'), "the instructor's", 'utf8');
  await writeClassReport(fixtureClass(), out);
  assert.deepEqual(await tree(out), [...(await tree(GOLDEN_DIR)), 'students/notes.txt'].sort());
});

test('statuses: graded, error with its reason (with or without a partial result), missing', () => {
  const byId = new Map(fixtureClass().students.map((s) => [s.id, s]));
  assert.deepEqual(
    [...byId.values()].map((s) => [s.id, s.status]),
    [
      ['alice', 'graded'],
      ['bob', 'graded'],
      ['carol', 'graded'],
      ['dave', 'error'],
      ["erin, o'neil", 'graded'],
      ['frank', 'error'],
      ['grace', 'missing'],
      ['김민준', 'graded'],
    ],
  );
  assert.match(byId.get('dave')?.reason ?? '', /^archive dave\.zip: entry "\.\.\/\.\.\/etc\/passwd" points outside/);
  assert.equal(byId.get('frank')?.result?.complete, false);
  assert.match(byId.get('grace')?.reason ?? '', /no results\/grace\.json/);
});

test('a stored result that cannot be used is an error with why, never a grade', () => {
  const [alice] = fixtureStored();
  assert.ok(alice?.result);
  const cases: Array<[string, (s: StoredResult) => void, RegExp]> = [
    [
      'another lab version',
      (s) => (s.provenance.labHash = 'sha256:0000'),
      /another version of the lab \(lab hash 0000, this batch's is 5f1c0d9e8b7a\)/,
    ],
    [
      'another lab',
      (s) => s.result && (s.result.lab.id = 'lab01-other'),
      /graded against lab lab01-other, not lab07-pods/,
    ],
    ['graded without a grade', (s) => delete s.result, /stored as graded but holds no grade/],
    ['another student', (s) => (s.student = 'mallory'), /holds the result of "mallory", not of "alice"/],
    ['an error without a reason', (s) => (s.status = 'error'), /no reason was recorded/],
  ];
  for (const [name, change, reason] of cases) {
    const s: StoredResult = structuredClone(alice);
    change(s);
    const student: ClassStudent | undefined = assembleClass({ ...fixtureBatch(), students: ['alice'] }, [
      { id: 'alice', stored: s },
    ]).students[0];
    assert.equal(student?.status, 'error', name);
    assert.match(student?.reason ?? '', reason, name);
  }
});

test('a results file that is not JSON, or not a stored result, makes that student an error; the others are read', async (t) => {
  const dir = await tempDir(t);
  await writeFixtureClass(dir);
  await writeFile(path.join(dir, 'results', 'bob.json'), '{"schemaVersion": 1,', 'utf8');
  await writeFile(path.join(dir, 'results', 'carol.json'), '{"schemaVersion": 1, "student": "carol"}', 'utf8');
  await writeFile(path.join(dir, 'results', 'alice.json.tmp-123'), 'half a file', 'utf8');
  const cls = await readClassResults(dir);
  const bob = cls.students.find((s) => s.id === 'bob');
  const carol = cls.students.find((s) => s.id === 'carol');
  assert.equal(bob?.status, 'error');
  assert.match(bob?.reason ?? '', /^results\/bob\.json cannot be read: not valid JSON/);
  assert.match(carol?.reason ?? '', /^results\/carol\.json is not a stored result: .*status is undefined/);
  assert.equal(cls.students.find((s) => s.id === 'alice')?.status, 'graded');
  assert.equal(cls.students.length, 8);
});

test('a folder without batch.json is a usage error that says what DIR must be', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(
    readClassResults(dir),
    (err: Error) =>
      err.name === 'UsageError' &&
      /no batch\.json there: kgrade report DIR reads the output folder of kgrade batch/.test(err.message),
  );
  await writeFile(
    path.join(dir, 'batch.json'),
    JSON.stringify({ ...fixtureBatch(), students: ['../../etc/passwd'] }),
    'utf8',
  );
  await assert.rejects(readClassResults(dir), /student id "\.\.\/\.\.\/etc\/passwd" cannot be a file name/);
});

test("the gradebook: columns in the lab's order, quoted as RFC 4180 says, no score for error students", () => {
  const rows = parseCsv(toGradebookCsv(fixtureClass()));
  assert.deepEqual(rows[0], [
    'id',
    'score',
    'max',
    'status',
    'The pod runs busybox',
    '파드가 Running 상태가 된다',
    'The readiness probe gates traffic',
    'The container has a memory limit',
  ]);
  assert.deepEqual(rows.slice(1), [
    ['alice', '10', '10', 'graded', '2', '3', '3', '2'],
    ['bob', '7', '10', 'graded', '2', '3', '0', '2'],
    ['carol', '5', '10', 'graded', '2', '0', '3', '0'],
    ['dave', '', '10', 'error', '', '', '', ''],
    ["erin, o'neil", '2', '10', 'graded', '2', '0', '0', '0'],
    ['frank', '', '10', 'error', '2', '', '3', '2'],
    ['grace', '', '10', 'missing', '', '', '', ''],
    ['김민준', '7', '10', 'graded', '2', '3', '0', '2'],
  ]);
});

test('CSV fields: quotes doubled, line breaks kept inside quotes, formulas neutralised', () => {
  assert.equal(csvText('plain'), 'plain');
  assert.equal(csvText('a,b'), '"a,b"');
  assert.equal(csvText('say "hi"'), '"say ""hi"""');
  assert.equal(csvText('two\nlines'), '"two\nlines"');
  assert.equal(csvText(' padded'), '" padded"');
  assert.equal(csvText('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvText('+1'), "'+1");
  assert.equal(csvText('@sum'), "'@sum");
});

test('the histogram has a bar per point, and each bar counts the graded students with that score', () => {
  const bins = scoreHistogram(fixtureClass());
  assert.deepEqual(
    bins.map((b) => b.label),
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
  );
  assert.deepEqual(
    bins.map((b) => b.students.length),
    EXPECTED.histogram,
  );
  assert.deepEqual(bins[7]?.students, ['bob', '김민준']);
  const big = scoreHistogram({ ...fixtureClass(), lab: { ...fixtureClass().lab, maxScore: 100 } });
  assert.equal(big.length, 10);
  assert.equal(big[9]?.label, '90–100%');
});

test('pass rates: hardest first, grader errors left out of the rate and counted apart', () => {
  const rates = passRates(fixtureClass());
  assert.deepEqual(
    rates.map((r) => [r.scenario.id, r.passed, r.graded]),
    EXPECTED.passRates,
  );
  assert.equal(rates.find((r) => r.scenario.id === 'features/pod.feature:14')?.errors, 1);
  assert.ok(
    rates.every((r) => !r.scenario.id.includes('course')),
    '@course checks carry no points and have no bar',
  );
});

test('HTML: what students and labs wrote is escaped, nothing can run or load', () => {
  const cls = fixtureClass();
  const pages = [toClassIndexHtml(cls), ...cls.students.map((s) => toStudentHtml(cls, s))];
  const bob = toStudentHtml(cls, cls.students.find((s) => s.id === 'bob') ?? assert.fail('no bob'));
  assert.ok(bob.includes(html(INJECTION)), 'the injection attempt is shown, as text');
  assert.ok(bob.includes('&lt;/pre&gt;&lt;h1&gt;owned&lt;/h1&gt;'));
  for (const page of pages) {
    assert.doesNotMatch(page, /<script|<img|<iframe|<link|<object|<embed|<[a-z][^>]*\son\w+\s*=|<h1>owned/i);
    assert.doesNotMatch(
      page,
      /\b(?:src|href|action|xlink:href)\s*=\s*"(?:[a-z]+:|\/\/)/i,
      'no link or source to another site or scheme',
    );
    assert.doesNotMatch(page, /url\(|@import|https?:/i, 'no URL anywhere');
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  }
  const index = toClassIndexHtml(cls);
  assert.match(index, /<h1>lab07-pods: Pods, probes &amp; limits<\/h1>/);
  assert.match(index, /<a href="students\/erin%2C%20o&#39;neil\.html">erin, o&#39;neil<\/a>/);
  assert.match(index, /<a href="students\/%EA%B9%80%EB%AF%BC%EC%A4%80\.html">김민준<\/a>/);
});

test('HTML: the charts and the lists hold what the class shows', () => {
  const index = toClassIndexHtml(fixtureClass());
  const histogram = /<svg class="chart histogram"[\s\S]*?<\/svg>/.exec(index)?.[0] ?? assert.fail('no histogram');
  assert.deepEqual(
    [...histogram.matchAll(/<rect class="bar"[^>]*data-count="(\d+)"/g)].map((m) => Number(m[1])),
    EXPECTED.histogram,
  );
  const bars = /<svg class="chart pass-rate"[\s\S]*?<\/svg>/.exec(index)?.[0] ?? assert.fail('no pass-rate chart');
  assert.deepEqual(
    [...bars.matchAll(/<g class="row" data-scenario="([^"]+)">[\s\S]*?data-passed="(\d+)" data-graded="(\d+)"/g)].map(
      (m) => [m[1], Number(m[2]), Number(m[3])],
    ),
    EXPECTED.passRates,
  );
  const errors = /<section id="errors">[\s\S]*?<\/section>/.exec(index)?.[0] ?? assert.fail('no error list');
  assert.deepEqual(
    [...errors.matchAll(/<li data-student="([^"]+)"/g)].map((m) => m[1]),
    EXPECTED.errorStudents,
  );
  assert.match(errors, /points outside the submission; nothing was graded/);
  assert.equal([...index.matchAll(/<tr data-student=/g)].length, 8);
});

test('a student page: each scenario with its outcome, message, hint and notes', () => {
  const cls = fixtureClass();
  const carol = toStudentHtml(cls, cls.students.find((s) => s.id === 'carol') ?? assert.fail('no carol'));
  assert.match(carol, /<article class="scenario failed" id="features\/pod\.feature:14" data-outcome="failed">/);
  assert.match(carol, /<h3>파드가 Running 상태가 된다<\/h3>/);
  assert.match(
    carol,
    /<pre class="message">파드 &quot;web&quot;이 60초 안에 Running이 되지 않았습니다\nlast seen: CrashLoopBackOff/,
  );
  assert.match(carol, /<b>Hint:<\/b> 컨테이너의 command가 바로 끝나지 않는지 확인하세요\./);
  assert.match(carol, /hidden from students until published/);
  assert.equal([...carol.matchAll(/<article class="scenario /g)].length, 5);
  const frank = toStudentHtml(cls, cls.students.find((s) => s.id === 'frank') ?? assert.fail('no frank'));
  assert.match(frank, /No final grade<\/b> \(not a zero\)/);
  assert.match(frank, /a partial result, not a final one/);
  assert.match(frank, /not the submission: this scenario must be graded again/);
});

test('JUnit: a testsuite per student, a testcase per graded scenario, errors and failures apart', () => {
  const xml = toClassJUnitXml(fixtureClass());
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kgrade lab07-pods: Pods, probes &amp; limits" tests="27" failures="6" errors="4" skipped="1"/,
  );
  assert.deepEqual(
    [...xml.matchAll(/<testsuite name="([^"]*)" tests="(\d+)" failures="(\d+)" errors="(\d+)"/g)].map((m) => [
      m[1],
      Number(m[2]),
      Number(m[3]),
      Number(m[4]),
    ]),
    [
      ['alice', 4, 0, 0],
      ['bob', 4, 1, 0],
      ['carol', 4, 2, 0],
      ['dave', 1, 0, 1],
      ["erin, o'neil", 4, 2, 0],
      ['frank', 5, 0, 2],
      ['grace', 1, 0, 1],
      ['김민준', 4, 1, 0],
    ],
  );
  assert.match(
    xml,
    /<testcase classname="dave" name="\(grade\)" time="0\.000">\n {6}<error message="archive dave\.zip: entry &quot;\.\.\/\.\.\/etc\/passwd&quot;/,
  );
  assert.match(xml, /<error message="the API server did not answer within 30s[^"]*" type="grader-error">/);
  assert.match(xml, /<error message="not graded yet: no results\/grace\.json" type="missing">/);
  assert.ok(xml.includes('&lt;script&gt;alert("pwned")&lt;/script&gt;'));
  assert.doesNotMatch(xml, /<script|<img/);
  assert.doesNotMatch(xml, /kubelet runs as a systemd service/, '@course checks are left out');
});

test('gradescope/<id>/results.json for graded students and partial results; none for a student with no result', () => {
  const files = [...classReportFiles(fixtureClass()).keys()].filter((f) => f.startsWith('gradescope/'));
  assert.deepEqual(files, [
    'gradescope/alice/results.json',
    'gradescope/bob/results.json',
    'gradescope/carol/results.json',
    "gradescope/erin, o'neil/results.json",
    'gradescope/frank/results.json',
    'gradescope/김민준/results.json',
  ]);
  const frank = JSON.parse(classReportFiles(fixtureClass()).get('gradescope/frank/results.json') ?? '{}') as {
    output: string;
  };
  assert.match(frank.output, /INCOMPLETE: .* This grade is not final/);
});

test('labels in the pass-rate chart are cut to fit, wide characters counted twice', () => {
  assert.equal(fit('short', 10), 'short');
  assert.equal(fit('a'.repeat(12), 10), `${'a'.repeat(9)}…`);
  assert.equal(fit('파드가 Running 상태가 된다', 10), '파드가 Ru…');
});

test('kgrade report DIR writes the report into DIR/report and prints where index.html is; bad usage is exit 2', async (t) => {
  const dir = await tempDir(t);
  await writeFixtureClass(dir);
  const run = promisify(execFile);
  const kgrade = path.join(ROOT, 'bin', 'kgrade.js');
  const { stdout, stderr } = await run(process.execPath, [kgrade, 'report', dir]);
  assert.equal(stdout, `${path.join(dir, 'report', 'index.html')}\n`);
  assert.match(stderr, /class report of lab07-pods in .*: 8 students, 5 graded, 2 error, 1 missing/);
  assert.deepEqual(await tree(path.join(dir, 'report')), await tree(GOLDEN_DIR));
  const out = path.join(dir, 'elsewhere');
  await run(process.execPath, [kgrade, 'report', dir, '--out', out]);
  assert.equal(
    await readFile(path.join(out, 'gradebook.csv'), 'utf8'),
    await readFile(path.join(GOLDEN_DIR, 'gradebook.csv'), 'utf8'),
  );
  for (const args of [
    ['report'],
    ['report', dir, dir],
    ['report', '--html', dir, dir],
    ['report', '--classroom', dir, dir],
    ['report', dir, '--out', dir],
  ]) {
    await assert.rejects(
      run(process.execPath, [kgrade, ...args]),
      (err: { code?: number }) => err.code === 2,
      args.join(' '),
    );
  }
  await assert.rejects(
    run(process.execPath, [kgrade, 'report', path.join(dir, 'results')]),
    (err: { code?: number; stderr?: string }) => err.code === 2 && /no batch\.json there/.test(err.stderr ?? ''),
  );
});

test('an empty batch still makes a report: no bars to draw, no student files', () => {
  const files = classReportFiles(assembleClass({ ...fixtureBatch(), students: [] }, []));
  assert.deepEqual(
    [...files.keys()],
    ['index.html', 'gradebook.csv', 'junit.xml', 'canvas.csv', 'moodle.csv', 'items.json'],
  );
  assert.equal(files.get('items.json'), '[]\n');
  assert.equal(files.get('gradebook.csv'), 'id,score,max,status\r\n');
  assert.match(files.get('index.html') ?? '', /No graded scenario in the stored results yet\./);
  assert.match(files.get('index.html') ?? '', /data-bins="11" data-students="0"/);
});
