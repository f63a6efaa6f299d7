import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// Allure's own JUnit reader parses with fast-xml-parser: the same parser reads kgrade's junit.xml there.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { GradeResult } from '../../src/grade/model.js';
import { loadLab } from '../../src/lab/load.js';
import { REPO_ROOT } from '../../src/paths.js';
import { stepVocabulary } from '../../src/cucumber/vocabulary.js';
import { generateAllureHtml } from '../../src/report/allure-html.js';
import { toGradescope } from '../../src/report/gradescope.js';
import { toJUnitXml } from '../../src/report/junit.js';
import { toMarkdown } from '../../src/report/markdown.js';
import { readResultsJson, validateGradeResult } from '../../src/report/results-json.js';
import { toSummary } from '../../src/report/summary.js';
import { writeReports } from '../../src/report/write-all.js';

const TITLE = 'busybox로 디버깅하기: 디버깅 파드, init 컨테이너, Job';
const PASSED = 'busybox-debug-pod 안에서 nslookup으로 web 서비스를 찾는다';
const FAILED = '메인 컨테이너는 config.txt에 쓸 수 없다';
const COURSE = '이미지 안의 /bin/ls는 busybox 바로 그 실행 파일이다';
const HINT =
  'root로 도는 컨테이너는 파일 권한을 무시하므로 chmod 444만으로는 막을 수 없습니다.\n메인 컨테이너에서 볼륨을 readOnly: true로 마운트하세요.';
const MESSAGE = '/config/config.txt 파일을 쓰기용으로 열 수 있습니다 (uid 0)';
const NOTE = '설정 파일: 안녕하세요, init 컨테이너가 받아 온 설정입니다';
const STEP = '그리고 파드 "init-demo"은(는) emptyDir 볼륨의 파일 "config.txt"에 쓸 수 없다';

/** A graded result whose every free text is Korean: scenario names, features, hints, messages, notes, steps. */
function koreanResult(): GradeResult {
  const base = { course: false, hidden: false, attempts: 1, durationMs: 1000 };
  return {
    schemaVersion: 1,
    lab: { id: 'busybox-debugging', title: TITLE, chapter: 0 },
    submission: { name: '김철수', path: '/submissions/김철수' },
    score: 1,
    maxScore: 2,
    complete: true,
    counts: { passed: 2, failed: 1, error: 0, skipped: 0 },
    environment: { provider: 'kind', image: 'kind-kgrade', kernel: '6.8.0' },
    startedAt: '2025-03-04T10:00:00.000Z',
    finishedAt: '2025-03-04T10:01:00.000Z',
    durationMs: 60000,
    scenarios: [
      {
        ...base,
        id: 'features/debug-pod.feature:52',
        name: PASSED,
        feature: '디버깅용 busybox 파드',
        outcome: 'passed',
        points: 1,
        maxPoints: 1,
        message: '',
        hint: '파드의 DNS 설정(dnsPolicy, dnsConfig)은 건드리지 마세요.',
        notes: ['준비물 web이 네임스페이스에서 실행 중입니다'],
        steps: [
          {
            text: '만일 파드 "busybox-debug-pod"에서 "nslookup web"을(를) 실행한다',
            status: 'passed',
            durationMs: 1000,
          },
        ],
      },
      {
        ...base,
        id: 'features/init-demo.feature:30',
        name: FAILED,
        feature: 'init 컨테이너로 설정 파일 받기',
        outcome: 'failed',
        points: 0,
        maxPoints: 1,
        message: MESSAGE,
        hint: HINT,
        notes: [NOTE],
        steps: [{ text: STEP, status: 'failed', durationMs: 1000, message: MESSAGE }],
      },
      {
        ...base,
        id: 'features/busybox.feature:15',
        name: COURSE,
        feature: 'busybox는 실행 파일 하나다',
        outcome: 'passed',
        points: 0,
        maxPoints: 0,
        course: true,
        message: '',
        hint: '',
        notes: ['심볼릭 링크: /bin/ls -> busybox'],
        steps: [
          {
            text: '그러면 파드 "toolbox" 안의 "/bin/ls"은(는) "/bin/busybox"와(과) 같은 프로그램이다',
            status: 'passed',
            durationMs: 1000,
          },
        ],
      },
    ],
  };
}

/** Fails unless the bytes are valid UTF-8; returns the text. */
function utf8(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    assert.fail(`${what} is not valid UTF-8`);
  }
}

/** Every Korean text must be there as itself, not as \uXXXX escapes or mojibake. */
function holdsKorean(text: string, what: string, wanted: string[]): void {
  assert.doesNotMatch(text, /\\u[0-9a-fA-F]{4}/, `${what} escapes characters as \\uXXXX`);
  assert.doesNotMatch(text, /\uFFFD|Ã|ë|ì|í/, `${what} holds mangled text`);
  for (const w of wanted) assert.ok(text.includes(w), `${what} lacks "${w}"`);
}

test('results.json keeps Korean text as UTF-8, unescaped, and reads it back unchanged', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-ko-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [results] = await writeReports(koreanResult(), dir);
  assert.ok(results, 'writeReports returned no path for results.json');
  const text = utf8(await readFile(results), 'results.json');
  holdsKorean(text, 'results.json', [
    TITLE,
    PASSED,
    FAILED,
    COURSE,
    MESSAGE,
    NOTE,
    '김철수',
    ...[STEP, HINT].map((s) => JSON.stringify(s).slice(1, -1)),
  ]);
  assert.deepEqual(await readResultsJson(results), koreanResult());
  assert.deepEqual(validateGradeResult(koreanResult(), 'korean'), koreanResult());
});

test('junit.xml with Korean text is well-formed UTF-8 XML and parses back to the same text', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-ko-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeReports(koreanResult(), dir);
  const xml = utf8(await readFile(path.join(dir, 'junit.xml')), 'junit.xml');
  assert.equal(xml, toJUnitXml(koreanResult()));
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>/);
  assert.equal(
    XMLValidator.validate(xml),
    true,
    `junit.xml is not well-formed: ${JSON.stringify(XMLValidator.validate(xml))}`,
  );
  holdsKorean(xml, 'junit.xml', [TITLE, PASSED, FAILED, COURSE, MESSAGE, NOTE, STEP]);
  assert.doesNotMatch(
    xml,
    /&#(?!(?:10|13|9);)x?[0-9a-fA-F]+;/,
    'Korean is written as itself, not as character references',
  );

  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', processEntities: true }).parse(xml) as {
    testsuites: {
      testsuite: {
        testcase: Array<{ name: string; classname: string; failure?: { message: string; '#text': string } }>;
        properties: { property: Array<{ name: string; value: string }> };
      };
    };
  };
  const suite = doc.testsuites.testsuite;
  assert.deepEqual(
    suite.testcase.map((c) => c.name),
    [PASSED, FAILED, COURSE],
  );
  assert.deepEqual(
    suite.testcase.map((c) => c.classname),
    ['디버깅용 busybox 파드', 'init 컨테이너로 설정 파일 받기', 'busybox는 실행 파일 하나다'],
  );
  const failure = suite.testcase[1]?.failure;
  assert.equal(failure?.message, MESSAGE);
  assert.ok(
    failure?.['#text'].includes(`hint: ${HINT}`),
    'the failure body holds the Korean hint, line break included',
  );
  assert.ok(failure?.['#text'].includes(`note: ${NOTE}`));
  assert.equal(suite.properties.property.find((p) => p.name === 'lab.title')?.value, TITLE);
  assert.equal(suite.properties.property.find((p) => p.name === 'submission.name')?.value, '김철수');
});

test('Gradescope results.json keeps Korean names, hints and notes as UTF-8', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-ko-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeReports(koreanResult(), dir);
  const text = utf8(await readFile(path.join(dir, 'gradescope', 'results.json')), 'gradescope/results.json');
  holdsKorean(text, 'gradescope/results.json', [PASSED, FAILED, MESSAGE, NOTE]);
  const parsed = JSON.parse(text) as ReturnType<typeof toGradescope>;
  assert.deepEqual(parsed, toGradescope(koreanResult()));
  assert.deepEqual(
    parsed.tests.map((t) => t.name),
    [PASSED, FAILED],
  );
  assert.equal(parsed.tests[1]?.output, `${MESSAGE}\n\nHint: ${HINT}\n\nNotes:\n- ${NOTE}`);
});

test('summary.md keeps Korean text, escaping only Markdown metacharacters', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-ko-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeReports(koreanResult(), dir);
  const md = utf8(await readFile(path.join(dir, 'summary.md')), 'summary.md');
  assert.equal(md, toMarkdown(koreanResult()));
  holdsKorean(md, 'summary.md', [PASSED, FAILED, COURSE, MESSAGE, NOTE, '김철수']);
  // The title's colon and the hint's line break are the only things Markdown changes.
  assert.ok(md.includes(TITLE), 'the lab title');
  assert.ok(md.includes(HINT.replace('\n', '<br>')), 'the hint, its line break as <br>');
});

test('the terminal summary prints Korean names, the message, the hint and notes as they are', () => {
  for (const color of [false, true]) {
    const out = toSummary(koreanResult(), { color });
    holdsKorean(out, `the summary (color ${color})`, [PASSED, FAILED, COURSE, MESSAGE, NOTE, '김철수']);
    const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
    assert.match(plain, new RegExp(`✘ 0/1  ${FAILED.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    // A multi-line hint: its second line lines up under the first, both intact.
    const [first = '', second = ''] = HINT.split('\n');
    assert.match(
      plain,
      new RegExp(
        `hint: ${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n +${second.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`,
      ),
    );
  }
});

test('the busybox-debugging lab loads with Korean scenario names and hints', async () => {
  const lab = await loadLab(path.join(REPO_ROOT, 'labs/busybox-debugging'));
  assert.equal(lab.environment, 'cluster');
  const byName = new Map(lab.scenarios.map((s) => [s.name, s]));
  const ro = byName.get('메인 컨테이너는 config.txt에 쓸 수 없다');
  assert.ok(ro, `no Korean scenario name; saw: ${[...byName.keys()].join(' / ')}`);
  assert.equal(ro.points, 1);
  assert.match(ro.hint, /^root로 도는 컨테이너는 파일 권한을 무시하므로/);
  assert.equal(ro.feature, 'init 컨테이너로 설정 파일 받기');
  const course = lab.scenarios.filter((s) => s.course).map((s) => s.name);
  assert.deepEqual(course, [
    'busybox --list에 ls, cat, echo, grep, wget, ping, telnet, nslookup이 있다',
    '이미지 안의 /bin/ls는 busybox 바로 그 실행 파일이다',
    'busybox 이미지는 5 MB보다 작다',
  ]);
  for (const s of lab.scenarios) {
    assert.match(s.name, /[\uAC00-\uD7A3]/, `scenario "${s.name}" has a Korean name`);
    if (!s.course) assert.match(s.hint, /[\uAC00-\uD7A3]/, `scenario "${s.name}" has a Korean hint`);
  }
  assert.equal(lab.maxScore, 10);
  // expect: names the Korean scenarios, and each one exists
  for (const [c, e] of Object.entries(lab.expect))
    for (const f of e.failed ?? []) assert.ok(byName.has(f), `expect.${c}.failed names "${f}", which is no scenario`);
});

test("kgrade steps lists each Korean sentence beside its English one, at the step's own file", async () => {
  const vocabulary = await stepVocabulary();
  const at = (pattern: string) => vocabulary.filter((s) => s.pattern === pattern);
  const pairs: Array<[string, string, string]> = [
    ["the submission's {string} is applied", '제출물의 {string}을\\(를) 적용한다', 'steps/kube.steps.ts'],
    [
      'pod {string} is Running within {int} seconds',
      '파드 {string}이\\(가) {int}초 안에 Running 상태가 된다',
      'steps/kube.steps.ts',
    ],
    ['pod {string} runs {string}', '파드 {string}에서 {string}을\\(를) 실행한다', 'steps/kube.steps.ts'],
    ['it succeeds', '성공한다', 'steps/node.steps.ts'],
    ['its output contains {string}', '출력에 {string}이\\(가) 들어 있다', 'steps/node.steps.ts'],
    [
      "the grader's client pod {string} is running",
      '채점기의 클라이언트 파드 {string}이\\(가) 실행 중이다',
      'steps/cluster.steps.ts',
    ],
    [
      'job {string} completes within {int} seconds',
      '잡 {string}이\\(가) {int}초 안에 완료된다',
      'steps/init-job.steps.ts',
    ],
    [
      'the log of pod {string} eventually shows {int} packets transmitted to {string} and {int} received',
      '파드 {string}의 로그에 곧 패킷 {int}개를 {string}에 보내고 {int}개를 받았다고 나온다',
      'steps/pod-log.steps.ts',
    ],
  ];
  for (const [english, korean, file] of pairs) {
    const [en] = at(english);
    const [ko] = at(korean);
    assert.ok(en, `kgrade steps lacks "${english}"`);
    assert.ok(ko, `kgrade steps lacks "${korean}"`);
    assert.equal(en.file, file);
    // One implementation, registered at one line of the step's own file (not at the helper).
    assert.deepEqual({ file: ko.file, line: ko.line }, { file: en.file, line: en.line }, `"${korean}"`);
  }
  assert.ok(
    vocabulary.every((s) => s.file !== 'steps/i18n.ts'),
    'no sentence is reported at the helper',
  );
  for (const fixture of ['실습 준비물이 실행 중이다', '준비물 {string}이\\(가) 실행 중이다'])
    assert.equal(at(fixture).length, 1, fixture);
});

test('the Allure HTML report carries Korean names, hints and steps as UTF-8 inside its base64 data', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-ko-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = path.join(dir, 'allure-results');
  await mkdir(results);
  const uuid = '5b0e7d8a-3333-4333-8333-333333333333';
  const start = 1741082400000;
  const result = {
    uuid,
    historyId: `history-${uuid}`,
    testCaseId: `case-${uuid}`,
    fullName: `busybox-debugging: ${FAILED}`,
    name: FAILED,
    description: HINT,
    status: 'failed',
    statusDetails: { message: MESSAGE },
    stage: 'finished',
    start,
    stop: start + 1500,
    labels: [{ name: 'feature', value: 'init 컨테이너로 설정 파일 받기' }],
    steps: [
      {
        name: STEP,
        status: 'failed',
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
  await writeFile(path.join(results, `${uuid}-result.json`), JSON.stringify(result), 'utf8');
  const out = path.join(dir, 'html');
  await generateAllureHtml(results, out, { reportName: `busybox-debugging: 김철수` });
  const html = utf8(await readFile(path.join(out, 'index.html')), 'index.html');
  // The single-file report embeds its data as base64 strings; decoded, they are JSON in UTF-8.
  const data = [...html.matchAll(/"([A-Za-z0-9+/=]{100,})"/g)]
    .map((m) => utf8(Buffer.from(m[1] ?? '', 'base64'), 'a base64 blob of index.html'))
    .join('\n');
  for (const w of [FAILED, MESSAGE, 'init 컨테이너로 설정 파일 받기', ...HINT.split('\n')])
    assert.ok(data.includes(w), `index.html's data lacks "${w}"`);
  assert.ok(data.includes(JSON.stringify(STEP).slice(1, -1)), 'the Korean step, as a JSON string');
});
