import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { keepHistory } from '../../src/batch/history.js';
import { adjust, parsePolicy } from '../../src/batch/policy.js';
import { parseRoster } from '../../src/batch/roster.js';
import { planBatch } from '../../src/batch/run.js';
import { writeStoredResult } from '../../src/batch/output-folder.js';
import type { StoredResult } from '../../src/batch/records.js';
import { loadLab } from '../../src/lab/load.js';
import { pointBiserial } from '../../src/report/class/items.js';
import { fixedNames, normaliseScript, normaliseYaml } from '../../src/similarity/normalise.js';
import { similarPairs, type Submission } from '../../src/similarity/match.js';
import { labFixedNames, normaliseFolder } from '../../src/similarity/store.js';
import { fixtureStored, writeFixtureClass } from '../report/fixture-class.js';
import { UsageError } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = path.join(ROOT, 'test', 'golden', 'class-extras');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
const PLANTED = path.join(ROOT, 'test', 'fixtures', 'similarity-class');
const LAB = path.join(ROOT, 'labs', 'ch01-isolation');
const run = promisify(execFile);
const kgrade = path.join(ROOT, 'bin', 'kgrade.js');

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-class-extras-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function plantedClass(): Promise<{ subs: Submission[]; lab: Submission['files'] }> {
  const lab = await loadLab(LAB);
  const fixed = await labFixedNames(lab);
  const subs: Submission[] = [];
  for (const id of (await readdir(PLANTED)).sort())
    subs.push({ id, files: (await normaliseFolder(path.join(PLANTED, id), fixed)).files });
  const own = [];
  for (const f of ['reference', 'wrong']) own.push(...(await normaliseFolder(path.join(LAB, f), fixed, `${f}/`)).files);
  return { subs, lab: own };
}

test("normalising: comments, variable names, the lab's names and YAML key order are gone", () => {
  const fixed = new Set(['web1']);
  assert.deepEqual(
    normaliseScript('# a comment\nfoo=1 # why\necho "$foo" web1 ${foo}/x\nfor ns in a b; do :; done\n', fixed),
    [['V=1'], ['echo', '"$V"', '${V}/x'], ['for', 'V', 'in', 'a', 'b', ';', 'do', ':', ';', 'done']],
  );
  const a = normaliseYaml(
    '# mine\nkind: Pod\nmetadata:\n  name: alice-pod\n  labels: {app: web1}\nspec:\n  containers: [{image: busybox, name: c}]\n',
    fixed,
  );
  const b = normaliseYaml(
    'spec:\n  containers:\n  - name: other\n    image: busybox   # copied\nmetadata:\n  labels:\n    app: web1\n  name: bob\nkind: Pod\n',
    fixed,
  );
  assert.deepEqual(a, b);
  assert.ok(fixedNames(['When the node runs "chroot /srv/x" and "web1" answers']).has('web1'));
  assert.ok(!fixedNames(['When the node runs "chroot /srv/x"']).has('chroot /srv/x'), 'a quoted command is no name');
});

test('the planted copies (renamed, reordered, comments changed) are flagged; honest look-alikes are not', async () => {
  const { subs, lab } = await plantedClass();
  const pairs = similarPairs(subs, lab);
  assert.deepEqual(pairs.map((p) => `${p.a}-${p.b}`).sort(), ['alice-frank', 'bob-grace', 'carol-heidi']);
  for (const p of pairs) {
    assert.ok(p.similarity >= 0.5 && p.similarity <= 1);
    assert.ok(
      p.fragments.length > 0 && p.fragments.every((f) => f.a.text.length > 0 && f.b.text.length > 0),
      'shared fragments side by side',
    );
  }
  // dan and erin both wrote the reference's make-root.sh: alike only through the lab's own file
  const all = similarPairs(subs, lab, { kgram: 6, window: 3, threshold: 0, commonShare: 0.3 });
  const honest = all.filter((p) => !pairs.some((q) => q.a === p.a && q.b === p.b));
  assert.ok(
    honest.every((p) => p.similarity < 0.3),
    `honest pairs stay low: ${JSON.stringify(honest.filter((p) => p.similarity > 0).map((p) => [p.a, p.b, p.similarity]))}`,
  );
  const withoutLab = similarPairs(subs, [], { kgram: 6, window: 3, threshold: 0, commonShare: 1 });
  const danErin = withoutLab.find((p) => p.a === 'dan' && p.b === 'erin');
  assert.ok(
    danErin && danErin.similarity > 0.3,
    'without the reference left out, the look-alikes would look copied: the exclusion is what keeps them apart',
  );
});

test('item analysis: the point-biserial correlation with the rest score', () => {
  assert.equal(pointBiserial([true, true, false, false], [4, 3, 1, 0])?.toFixed(3), '0.949');
  assert.ok((pointBiserial([false, false, true, true], [4, 3, 1, 0]) ?? 0) < 0);
  assert.equal(pointBiserial([true, true], [1, 2]), null, 'everyone passes: undefined');
  assert.equal(pointBiserial([true, false], [1, 1]), null, 'no spread in the rest score');
});

const POLICY =
  'due: 2026-10-02T00:00:00Z\ngraceMinutes: 15\npenaltyPerDay: 10\ncap: 30\nsubmittedAt: roster\nextensions:\n  bob: { days: 2 }\n  carol: 2026-10-10T00:00:00Z\n';

test('late policy: grace, a started day counts whole, the cap, extensions', async () => {
  const p = await parsePolicy(POLICY, 'policy.yaml');
  assert.equal(adjust(p, 'alice', 8, '2026-10-02T00:10:00Z').adjusted, 8, 'within the grace');
  assert.deepEqual(adjust(p, 'alice', 8, '2026-10-02T00:16:00Z'), {
    submittedAt: '2026-10-02T00:16:00Z',
    due: '2026-10-02T00:00:00.000Z',
    daysLate: 1,
    penaltyPercent: 10,
    raw: 8,
    adjusted: 7.2,
  });
  assert.equal(adjust(p, 'alice', 10, '2026-10-09T00:00:00Z').penaltyPercent, 30, 'capped');
  assert.equal(adjust(p, 'bob', 10, '2026-10-03T12:00:00Z').daysLate, 0, 'two more days');
  assert.equal(adjust(p, 'carol', 10, '2026-10-09T12:00:00Z').daysLate, 0, 'a due date of her own');
});

test('a malformed policy is an error naming the file and the line', async () => {
  const cases: Array<[string, RegExp]> = [
    [
      'due: 2026-10-02T00:00:00Z\npenaltyPerDay: ten\nsubmittedAt: roster\n',
      /policy\.yaml:2: penaltyPerDay: must be number/,
    ],
    ['due: tomorrow\npenaltyPerDay: 10\nsubmittedAt: roster\n', /policy\.yaml:1: due: must be a date and time/],
    [
      'due: 2026-10-02T00:00:00Z\npenaltyPerDay: 10\nsubmittedAt: roster\npenalty: 3\n',
      /policy\.yaml:4: \(top level\): unknown field "penalty"/,
    ],
    [
      'due: 2026-10-02T00:00:00Z\npenaltyPerDay: 10\nsubmittedAt: email\n',
      /policy\.yaml:3: submittedAt: must be one of "roster", "archive", "git"/,
    ],
    [
      'due: 2026-10-02T00:00:00Z\npenaltyPerDay: 10\nsubmittedAt: roster\nextensions:\n  bob: { days: 0 }\n',
      /policy\.yaml:5: extensions\.bob\.days: must be >= 1/,
    ],
    ['due: [2026\npenaltyPerDay: 10\n', /policy\.yaml is not valid YAML:\n {2}- policy\.yaml:\d+:/],
    ['penaltyPerDay: 10\nsubmittedAt: roster\n', /policy\.yaml:1: \(top level\): missing field "due"/],
  ];
  for (const [text, pattern] of cases)
    await assert.rejects(
      parsePolicy(text, 'policy.yaml'),
      (err: Error) => err instanceof UsageError && pattern.test(err.message),
      text,
    );
});

test('a roster: a header may name a submitted column and LMS ids; a bad time names the line', () => {
  const { entries, columns } = parseRoster(
    'id,path,submitted,email\nalice,a,2026-10-01T10:00:00+02:00,a@x.edu\nbob,b,,\n',
    '/c',
    'r.csv',
  );
  assert.deepEqual(columns, ['id', 'path', 'submitted', 'email']);
  assert.deepEqual(entries[0], {
    id: 'alice',
    source: '/c/a',
    kind: 'folder',
    line: 2,
    submitted: '2026-10-01T08:00:00.000Z',
    identity: { email: 'a@x.edu' },
  });
  assert.throws(
    () => parseRoster('id,path,submitted\nalice,a,yesterday\n', '/c', 'r.csv'),
    /r\.csv:2: submitted "yesterday" is not a date/,
  );
  assert.throws(
    () => parseRoster('id,path,grade\nalice,a,3\n', '/c', 'r.csv'),
    /r\.csv:1: unknown column\(s\) "grade"/,
  );
});

test("kgrade batch with a policy that needs the roster's time and a roster without it: exit 2 naming the roster, nothing written", async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'policy.yaml'), POLICY);
  await writeFile(path.join(dir, 'roster.csv'), 'id,path\nalice,alice\nbob,alice\ncarol,alice\n');
  await mkdir(path.join(dir, 'alice'));
  const lab = await loadLab(LAB);
  await assert.rejects(
    planBatch({
      lab,
      submissions: path.join(dir, 'roster.csv'),
      out: path.join(dir, 'out'),
      policy: path.join(dir, 'policy.yaml'),
    }),
    /roster\.csv:1: the late policy .* has no submitted column/,
  );
  const err = await run(process.execPath, [
    kgrade,
    'batch',
    LAB,
    path.join(dir, 'roster.csv'),
    '--out',
    path.join(dir, 'out'),
    '--policy',
    path.join(dir, 'policy.yaml'),
    '--no-build',
  ]).then(
    () => assert.fail('batch accepted it'),
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(err.stderr ?? '', /roster\.csv:1: the late policy/);
  await assert.rejects(stat(path.join(dir, 'out')), 'no output folder was made');
  await writeFile(path.join(dir, 'bad.yaml'), 'due: 2026-10-02\npenaltyPerDay: 10\nsubmittedAt: archive\n');
  const bad = await run(process.execPath, [
    kgrade,
    'batch',
    LAB,
    path.join(dir, 'roster.csv'),
    '--out',
    path.join(dir, 'out'),
    '--policy',
    path.join(dir, 'bad.yaml'),
    '--no-build',
  ]).then(
    () => assert.fail('batch accepted it'),
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr ?? '', /bad\.yaml:1: due: must be a date and time/);
});

/** The fixture class plus what batch keeps for the report's additions: times, a roster with LMS ids, a policy, a regrade's history, kept files. */
async function writeExtrasClass(dir: string): Promise<void> {
  await writeFixtureClass(dir);
  const times: Record<string, string> = {
    alice: '2026-10-01T20:00:00Z',
    bob: '2026-10-03T09:00:00Z',
    carol: '2026-10-02T00:14:00Z',
    "erin, o'neil": '2026-10-09T10:00:00Z',
    김민준: '2026-10-02T01:00:00Z',
    frank: '2026-10-01T00:00:00Z',
  };
  for (const s of fixtureStored()) {
    const when = times[s.student];
    if (when) await writeStoredResult(dir, { ...s, submitted: { roster: when } });
  }
  // bob was graded before against an older lab: one scenario changed
  const bob = fixtureStored().find((s) => s.student === 'bob') as StoredResult;
  const old: StoredResult = {
    ...bob,
    provenance: {
      ...bob.provenance,
      labHash: 'sha256:0000000000000000000000000000000000000000000000000000000000000001',
    },
    result: bob.result
      ? {
          ...bob.result,
          score: 4,
          scenarios: bob.result.scenarios.map((s, i) => (i === 1 ? { ...s, outcome: 'failed', points: 0 } : s)),
        }
      : undefined,
  } as StoredResult;
  await writeStoredResult(dir, old);
  await keepHistory(dir, { ...bob, submitted: { roster: times['bob'] ?? '' } });
  await writeStoredResult(dir, { ...bob, submitted: { roster: times['bob'] ?? '' } });
  await writeFile(path.join(dir, 'policy.yaml'), POLICY);
  const roster = {
    schemaVersion: 1,
    file: 'roster.csv',
    columns: ['id', 'path', 'submitted', 'name', 'email', 'sis_user_id', 'canvas_id', 'idnumber'],
    students: [
      {
        id: 'alice',
        line: 2,
        identity: {
          name: 'Alice Liddell',
          email: 'alice@example.edu',
          sis_user_id: 'S001',
          canvas_id: '101',
          idnumber: 'S001',
        },
      },
      {
        id: 'bob',
        line: 3,
        identity: {
          name: 'Bob Tables',
          email: 'bob@example.edu',
          sis_user_id: 'S002',
          canvas_id: '102',
          idnumber: 'S002',
        },
      },
      { id: 'carol', line: 4, identity: { name: 'Carol', email: 'carol@example.edu', sis_user_id: 'S003' } },
      { id: 'dave', line: 5, identity: { email: 'dave@example.edu' } },
      {
        id: "erin, o'neil",
        line: 6,
        identity: { name: "Erin O'Neil", email: 'erin@example.edu', sis_user_id: '=S005' },
      },
      { id: 'frank', line: 7, identity: { email: 'frank@example.edu' } },
      { id: 'grace', line: 8, identity: { email: 'grace@example.edu' } },
      { id: '김민준', line: 9, identity: { name: '김민준', email: 'minjun@example.edu', idnumber: 'S009' } },
    ],
  };
  await writeFile(path.join(dir, 'roster.json'), `${JSON.stringify(roster, null, 2)}\n`);
  // kept normalised files: alice and 김민준 planted copies of one script, bob and carol their own
  const { keepSubmission } = await import('../../src/similarity/store.js');
  const fixed = new Set(['web']);
  const files: Record<string, string> = {
    alice: path.join(PLANTED, 'alice'),
    김민준: path.join(PLANTED, 'frank'),
    bob: path.join(PLANTED, 'bob'),
    carol: path.join(PLANTED, 'carol'),
  };
  for (const [id, from] of Object.entries(files)) await keepSubmission(dir, id, from, `hash-${id}`, fixed);
}

test("the report's additions match their golden files: similarity, item analysis, regrade, late policy, LMS files", async (t) => {
  const dir = await tempDir(t);
  await writeExtrasClass(dir);
  const { stderr } = await run(process.execPath, [kgrade, 'report', dir, '--lms-omit-ungraded']);
  assert.match(
    stderr,
    /left out of canvas\.csv and moodle\.csv \(no final grade\):\n {2}- roster\.csv:5: dave has no final grade/,
  );
  assert.match(stderr, /1 pair\(s\) of similar submissions/);
  const names = [
    'similarity.json',
    'items.json',
    'regrade.json',
    'canvas.csv',
    'moodle.csv',
    'gradebook.csv',
    'index.html',
    'students/bob.html',
    'students/김민준.html',
  ];
  for (const name of names) {
    const text = await readFile(path.join(dir, 'report', ...name.split('/')), 'utf8');
    const golden = path.join(GOLDEN, ...name.split('/'));
    if (UPDATE) {
      await mkdir(path.dirname(golden), { recursive: true });
      await writeFile(golden, text);
    }
    assert.equal(
      text,
      await readFile(golden, 'utf8'),
      `${name} differs from its golden file; regenerate with UPDATE_GOLDEN=1 if intended`,
    );
  }
  const pairs = JSON.parse(await readFile(path.join(dir, 'report', 'similarity.json'), 'utf8')) as Array<{
    a: string;
    b: string;
    similarity: number;
  }>;
  assert.deepEqual(
    pairs.map((p) => [p.a, p.b]),
    [['alice', '김민준']],
  );
  assert.match(
    await readFile(path.join(dir, 'report', 'students', '김민준.html'), 'utf8'),
    /Similar to <a href="alice\.html">alice<\/a> \(\d+%\)/,
  );
  const regrade = JSON.parse(await readFile(path.join(dir, 'report', 'regrade.json'), 'utf8')) as Array<{
    student: string;
    oldScore: number;
    newScore: number;
    changed: Array<{ id: string }>;
  }>;
  assert.deepEqual(
    regrade.map((r) => [r.student, r.oldScore, r.newScore, r.changed.map((c) => c.id)]),
    [['bob', 4, 7, ['features/pod.feature:14']]],
  );
  const gradebook = await readFile(path.join(dir, 'report', 'gradebook.csv'), 'utf8');
  assert.match(gradebook, /^id,score,max,status,raw_score,submitted_at,days_late,penalty_percent,/);
  assert.match(
    gradebook,
    /\r\n"erin, o'neil",1\.4,10,graded,2,2026-10-09T10:00:00Z,8,30,/,
    'raw 2, eight started days late, capped at 30%',
  );
  const canvas = await readFile(path.join(dir, 'report', 'canvas.csv'), 'utf8');
  assert.match(canvas, /^Student,ID,SIS User ID,SIS Login ID,Section,/);
  assert.match(canvas, /\r\nAlice Liddell,101,S001,,,10\r\n/);
  assert.match(canvas, /'=S005/, 'a formula-looking id is data');
  assert.doesNotMatch(canvas, /dave|frank|grace/);
});

test('bad input at report time: exit 2 naming the file and line, and nothing stored or written changes', async (t) => {
  const dir = await tempDir(t);
  await writeExtrasClass(dir);
  await run(process.execPath, [kgrade, 'report', dir, '--lms-omit-ungraded']);
  const before = new Map<string, string>();
  const snapshot = async () => {
    const m = new Map<string, string>();
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) m.set(path.join(e.parentPath, e.name), await readFile(path.join(e.parentPath, e.name), 'utf8'));
    }
    return m;
  };
  for (const [k, v] of await snapshot()) before.set(k, v);
  const fails = async (args: string[], pattern: RegExp) => {
    const err = await run(process.execPath, [kgrade, 'report', dir, ...args]).then(
      () => assert.fail(`report ${args.join(' ')} succeeded`),
      (e: { code?: number; stderr?: string }) => e,
    );
    assert.equal(err.code, 2, err.stderr);
    assert.match(err.stderr ?? '', pattern);
    assert.deepEqual(await snapshot(), before, 'nothing changed');
  };
  // students without a grade, and a roster that maps LMS ids: named by their roster line
  await fails(
    [],
    /canvas\.csv and moodle\.csv would have no grade for 3 student\(s\)[\s\S]*roster\.csv:5: dave[\s\S]*roster\.csv:7: frank[\s\S]*roster\.csv:8: grace/,
  );
  await writeFile(
    path.join(dir, '..', `${path.basename(dir)}-bad.yaml`),
    'due: 2026-10-02T00:00:00Z\npenaltyPerDay: 10\ncap: 300\nsubmittedAt: roster\n',
  );
  t.after(() => rm(path.join(dir, '..', `${path.basename(dir)}-bad.yaml`), { force: true }));
  await fails(
    ['--lms-omit-ungraded', '--policy', path.join(dir, '..', `${path.basename(dir)}-bad.yaml`)],
    /-bad\.yaml:3: cap: must be <= 100/,
  );
  const git = path.join(dir, '..', `${path.basename(dir)}-git.yaml`);
  await writeFile(git, 'due: 2026-10-02T00:00:00Z\npenaltyPerDay: 10\nsubmittedAt: git\n');
  t.after(() => rm(git, { force: true }));
  await fails(
    ['--lms-omit-ungraded', '--policy', git],
    /takes the submission time from "git"[\s\S]*results\/alice\.json: no git time for alice/,
  );
  await fails(['--similarity-threshold', '2'], /--similarity-threshold 2/);
  const typo = path.join(dir, '..', `${path.basename(dir)}-typo.yaml`);
  await writeFile(
    typo,
    'due: 2026-10-02T00:00:00Z\npenaltyPerDay: 10\nsubmittedAt: roster\nextensions:\n  bob: { days: 1 }\n  alcie: { days: 2 }\n',
  );
  t.after(() => rm(typo, { force: true }));
  await fails(
    ['--lms-omit-ungraded', '--policy', typo],
    /-typo\.yaml:6: extensions: "alcie" is no student of this class/,
  );
});

test('a regrade keeps the grade it replaces in results/history/, once, and never a grade of the same lab', async (t) => {
  const dir = await tempDir(t);
  await writeFixtureClass(dir);
  const alice = fixtureStored().find((s) => s.student === 'alice') as StoredResult;
  await keepHistory(dir, alice);
  await assert.rejects(readdir(path.join(dir, 'results', 'history')), 'same lab hash: nothing kept');
  const next = { ...alice, provenance: { ...alice.provenance, labHash: 'sha256:ff' } };
  await keepHistory(dir, next);
  const kept = await readdir(path.join(dir, 'results', 'history', 'alice'));
  assert.deepEqual(kept, [`${alice.provenance.labHash.replace('sha256:', '')}.json`]);
  assert.equal(
    await readFile(path.join(dir, 'results', 'history', 'alice', kept[0] ?? ''), 'utf8'),
    await readFile(path.join(dir, 'results', 'alice.json'), 'utf8'),
  );
});

test('read -r NAME and local NAME bind variables too: a renamed loop variable normalises alike', () => {
  const a = normaliseScript('ldd x | while read -r so; do cp "$so" d; done\nlocal -a libs one\n', new Set());
  const b = normaliseScript('ldd x | while read -r library; do cp "$library" d; done\nlocal -a deps two\n', new Set());
  assert.deepEqual(a, b);
  assert.deepEqual(a[1], ['local', '-a', 'V', 'V']);
});

test("a Classroom repository's commit time is read without running what its Git config names", async (t) => {
  const { gitCommitTime } = await import('../../src/batch/submitted.js');
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  await mkdir(repo);
  const git = (args: string[], env: Record<string, string> = {}) =>
    run('git', ['-C', repo, ...args], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', ...env } });
  await git(['init', '-q']);
  await git(['-c', 'user.email=s@example.edu', '-c', 'user.name=s', 'commit', '-q', '--allow-empty', '-m', 'hw1'], {
    GIT_COMMITTER_DATE: '2026-10-01T10:00:00+02:00',
  });
  const marker = path.join(dir, 'ran');
  await git(['config', 'core.pager', `touch ${marker}-pager; cat`]);
  await git(['config', 'core.fsmonitor', `touch ${marker}-fsmonitor`]);
  assert.equal(await gitCommitTime(repo), '2026-10-01T08:00:00.000Z');
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('ran')),
    [],
    "no program of the student's config ran",
  );
  // The route is real: git log on a terminal runs the repository's pager.
  const script = await stat('/usr/bin/script').then(
    () => true,
    () => false,
  );
  if (script) {
    await run('script', ['-qc', `git -C ${repo} log -1 --format=%cI HEAD`, '/dev/null'], {
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' },
    });
    assert.ok(
      (await readdir(dir)).includes('ran-pager'),
      'a plain git log on a terminal ran the pager the repository names',
    );
  }
  assert.equal(await gitCommitTime(dir), undefined, 'no repository: no time');
});

test('kgrade batch with a bad policy leaves an existing output folder exactly as it was', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'out');
  await writeFixtureClass(out);
  const before = await readFile(path.join(out, 'results', 'alice.json'), 'utf8');
  const names = async () => (await readdir(out, { recursive: true })).sort();
  const list = await names();
  await writeFile(
    path.join(dir, 'policy.yaml'),
    'due: 2026-10-02T00:00:00Z\npenaltyPerDay: -5\nsubmittedAt: archive\n',
  );
  await mkdir(path.join(dir, 'subs', 'alice'), { recursive: true });
  const err = await run(process.execPath, [
    kgrade,
    'batch',
    LAB,
    path.join(dir, 'subs'),
    '--out',
    out,
    '--policy',
    path.join(dir, 'policy.yaml'),
    '--no-build',
  ]).then(
    () => assert.fail('batch accepted it'),
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(err.stderr ?? '', /policy\.yaml:2: penaltyPerDay: must be >= 0/);
  assert.deepEqual(await names(), list);
  assert.equal(await readFile(path.join(out, 'results', 'alice.json'), 'utf8'), before);
});
