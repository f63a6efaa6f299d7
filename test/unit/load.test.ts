/**
 * Lab loading: lab.yaml against its schema, features parsed into scenarios with
 * their points and hints. Every error must name the file and the field or line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../../src/errors.js';
import { loadLab, parseFeature, readLabFile } from '../../src/lab/load.js';
import {
  LAB_FILE_KEYS,
  type LabFile,
  type Timeouts,
  type VerifyOptions,
  type WrongCaseExpectation,
} from '../../src/lab/types.js';
import { labYaml, tempRoot, writeLab, writeTree } from '../helpers/labs.js';

type Ctx = { after: (fn: () => Promise<void>) => void };

const GOOD_FEATURE = `Feature: good
  What the feature is about.

  @points:2
  Scenario: the script says hello
    Print hello.

    When the node runs "echo hello"
    Then its output is "hello"

  @course @hidden
  Scenario: the node has bash
    When the node runs "test -x /bin/bash"
    Then it succeeds
`;

/** Asserts that loading the lab throws a LabError whose message matches every pattern. */
async function loadFails(dir: string, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(loadLab(dir), (err: unknown) => {
    assert.ok(err instanceof LabError, `expected a LabError, got ${String(err)}`);
    message = err.message;
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
  return message;
}

function re(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

async function labWithYaml(t: Ctx, id: string, yamlText: string): Promise<string> {
  const root = await tempRoot('load', t);
  return writeLab(root, id, { yaml: yamlText, features: { 'good.feature': GOOD_FEATURE } });
}

test('a valid lab loads with its scenarios, points, hints and defaults', async (t) => {
  const root = await tempRoot('load', t);
  const outline = `Feature: outline
  @points:1
  Scenario Outline: prints <word>
    It must print <word>.

    When the node runs "echo <word>"
    Then its output is "<word>"

    Examples:
      | word |
      | one  |
      | two  |

  Rule: a rule
    @points:0.5
    Scenario: inside a rule
      Rules may hold scenarios too.

      When the node runs "true"
      Then it succeeds
`;
  const dir = await writeLab(root, 'good-lab', {
    features: { 'good.feature': GOOD_FEATURE, 'sub/outline.feature': outline },
  });
  const lab = await loadLab(dir);
  assert.equal(lab.id, 'good-lab');
  assert.equal(lab.dir, dir);
  assert.equal(lab.featuresDir, path.join(dir, 'features'));
  assert.deepEqual(lab.timeouts, { script: 60, command: 30, wait: 60 });
  assert.equal(lab.submission.maxBytes, 1048576);
  assert.equal(lab.maxScore, 2 + 1 + 1 + 0.5);
  const byName = new Map(lab.scenarios.map((s) => [s.name, s]));
  assert.deepEqual(
    lab.scenarios.map((s) => s.id),
    [
      'features/good.feature:5',
      'features/good.feature:12',
      'features/sub/outline.feature:11',
      'features/sub/outline.feature:12',
      'features/sub/outline.feature:16',
    ],
  );
  const hello = byName.get('the script says hello');
  assert.deepEqual(hello, {
    id: 'features/good.feature:5',
    uri: 'features/good.feature',
    line: 5,
    name: 'the script says hello',
    feature: 'good',
    tags: ['@points:2'],
    points: 2,
    course: false,
    hidden: false,
    feedback: 'full',
    serial: false,
    races: false,
    hint: 'Print hello.',
  });
  assert.deepEqual(lab.fixtures, []);
  assert.equal(lab.disruptive, false);
  assert.equal(lab.feedback, 'full');
  const course = byName.get('the node has bash');
  assert.equal(course?.course, true);
  assert.equal(course?.hidden, true);
  assert.equal(course?.feedback, 'hidden');
  assert.equal(course?.points, 0);
  assert.equal(course?.hint, '');
  assert.equal(byName.get('prints one')?.hint, 'It must print <word>.');
  assert.equal(byName.get('prints two')?.points, 1);
  assert.equal(byName.get('inside a rule')?.points, 0.5);
});

test('a multi-line hint keeps its lines and loses the indentation', () => {
  const defs = parseFeature(
    `Feature: f
  @points:1
  Scenario: s
    First line.
      Indented more.
    Last line.

    When the node runs "true"
`,
    'features/f.feature',
  );
  assert.equal(defs[0]?.hint, 'First line.\n  Indented more.\nLast line.');
});

test('lab.yaml: an unknown field is named, with the file', async (t) => {
  const dir = await labWithYaml(t, 'unknown-field', labYaml('unknown-field', { extra: { colour: 'red' } }));
  await loadFails(dir, re(path.join(dir, 'lab.yaml')), /\(top level\): unknown field "colour"/);
});

test('lab.yaml: an unknown nested field is named with its path', async (t) => {
  const text = labYaml('nested-unknown').replace(
    'description: the file run.sh',
    'description: the file run.sh\n      mode: "0755"',
  );
  const dir = await labWithYaml(t, 'nested-unknown', text);
  await loadFails(dir, re(path.join(dir, 'lab.yaml')), /submission\.files\.0: unknown field "mode"/);
});

test('lab.yaml: a missing field is named', async (t) => {
  const text = labYaml('no-title').replace(/^title: .*\n/m, '');
  const dir = await labWithYaml(t, 'no-title', text);
  await loadFails(dir, re(path.join(dir, 'lab.yaml')), /\(top level\): missing field "title"/);
});

test('lab.yaml: a field of the wrong type is named, every bad field listed', async (t) => {
  const text = labYaml('wrong-type', { timeouts: { script: 5 } })
    .replace(/^chapter: .*$/m, 'chapter: one')
    .replace(/^environment: .*$/m, 'environment: vm')
    .replace(/script: 5/, 'script: fast');
  const dir = await labWithYaml(t, 'wrong-type', text);
  const message = await loadFails(
    dir,
    re(path.join(dir, 'lab.yaml')),
    /chapter: must be integer/,
    /environment: must be one of "sandbox", "cluster"/,
    /timeouts\.script: must be integer/,
  );
  assert.match(message, /does not match schemas\/lab\.schema\.json/);
});

test('lab.yaml: an expect entry without a score is named', async (t) => {
  const dir = await labWithYaml(
    t,
    'expect-no-score',
    labYaml('expect-no-score', { expect: { broken: { failed: ['x'] } as never } }),
  );
  await loadFails(dir, /expect\.broken: missing field "score"/);
});

test('lab.yaml: id must equal the folder name', async (t) => {
  const dir = await labWithYaml(t, 'the-folder', labYaml('another-id'));
  await loadFails(
    dir,
    re(path.join(dir, 'lab.yaml')),
    /id: "another-id" must equal the lab's folder name "the-folder"/,
  );
});

test('lab.yaml: bad YAML names the file and the line', async (t) => {
  const text = 'id: bad-yaml\ntitle: [unclosed\nchapter: 1\n';
  const dir = await labWithYaml(t, 'bad-yaml', text);
  const message = await loadFails(dir, re(path.join(dir, 'lab.yaml')), /not valid YAML/);
  assert.match(message, /\(\d+:\d+\)/, 'the YAML error names a line:column');
});

test('lab.yaml: a YAML scalar instead of a mapping is refused', async (t) => {
  const dir = await labWithYaml(t, 'scalar', 'just a string\n');
  await loadFails(dir, re(path.join(dir, 'lab.yaml')), /must be a mapping/);
});

test('lab.yaml: a missing lab.yaml is named', async (t) => {
  const root = await tempRoot('load', t);
  await assert.rejects(readLabFile(path.join(root, 'nothing-here')), (err: Error) => {
    assert.ok(err instanceof LabError);
    assert.match(err.message, re(path.join(root, 'nothing-here', 'lab.yaml')));
    assert.match(err.message, /not found/);
    return true;
  });
});

test('a lab without features/ or without any .feature file is refused', async (t) => {
  const root = await tempRoot('load', t);
  const noFeatures = await writeLab(root, 'no-features', { features: {} });
  await loadFails(noFeatures, /has no features\/ folder|holds no \.feature file/);
  const onlyText = await writeLab(root, 'only-text', { features: { 'notes.txt': 'hello' } });
  await loadFails(onlyText, re(path.join(onlyText, 'features')), /holds no \.feature file/);
});

test('a feature that does not parse: the file and line are named', async (t) => {
  const root = await tempRoot('load', t);
  const broken = `Feature: broken

  Scenario: one
    When the node runs "true"
    this line is not a step
`;
  const dir = await writeLab(root, 'bad-feature', {
    features: { 'good.feature': GOOD_FEATURE, 'broken.feature': broken },
  });
  await loadFails(dir, /feature does not parse/, /features\/broken\.feature:5: /);
});

test('a graded scenario without @points: file, line and scenario named', async (t) => {
  const root = await tempRoot('load', t);
  const f = `Feature: f
  Scenario: no points here
    A hint.

    When the node runs "true"
`;
  const dir = await writeLab(root, 'no-points', { features: { 'f.feature': f } });
  await loadFails(
    dir,
    /features\/f\.feature:2: scenario "no points here": a graded scenario needs @points:N with N > 0 \(or tag it @course\)/,
  );
});

test('@points:0, a non-number and two @points tags are refused', () => {
  const f = `Feature: f
  @points:0
  Scenario: zero
    A hint.
    When the node runs "true"

  @points:two
  Scenario: words
    A hint.
    When the node runs "true"

  @points:1 @points:2
  Scenario: twice
    A hint.
    When the node runs "true"
`;
  assert.throws(
    () => parseFeature(f, 'features/f.feature'),
    (err: Error) => {
      assert.ok(err instanceof LabError);
      assert.match(
        err.message,
        /features\/f\.feature:3: scenario "zero": a graded scenario needs @points:N with N > 0/,
      );
      assert.match(err.message, /features\/f\.feature:8: scenario "words": @points:two: points must be a number/);
      assert.match(err.message, /features\/f\.feature:13: scenario "twice": has 2 @points tags; give exactly one/);
      return true;
    },
  );
});

test('a graded scenario without a hint: file, line and scenario named', async (t) => {
  const root = await tempRoot('load', t);
  const f = `Feature: f

  @points:1
  Scenario: no hint
    When the node runs "true"
`;
  const dir = await writeLab(root, 'no-hint', { features: { 'f.feature': f } });
  await loadFails(dir, /features\/f\.feature:4: scenario "no hint": a graded scenario needs a hint/);
});

test('a @course scenario with points: file, line and tag named', async (t) => {
  const root = await tempRoot('load', t);
  const f = `Feature: f
  @course @points:2
  Scenario: course with points
    When the node runs "true"
`;
  const dir = await writeLab(root, 'course-points', { features: { 'f.feature': f } });
  await loadFails(
    dir,
    /features\/f\.feature:3: scenario "course with points": a @course check carries no points; remove @points:2/,
  );
});

test('a @points tag on the Feature applies to its scenarios', () => {
  const defs = parseFeature(
    `@points:3
Feature: f
  Scenario: inherits
    A hint.
    When the node runs "true"
`,
    'features/f.feature',
  );
  assert.equal(defs[0]?.points, 3);
});

test('duplicate scenario names: both places named', async (t) => {
  const root = await tempRoot('load', t);
  const dup = `Feature: dup
  @course
  Scenario: the node has bash
    When the node runs "true"
`;
  const dir = await writeLab(root, 'dup-names', { features: { 'a.feature': GOOD_FEATURE, 'b.feature': dup } });
  await loadFails(
    dir,
    /features\/b\.feature:3: scenario name "the node has bash" is already used at features\/a\.feature:12/,
  );
});

test('expect naming an unknown scenario: the field and the name', async (t) => {
  const root = await tempRoot('load', t);
  const text = labYaml('unknown-expect', {
    expect: { lazy: { score: 0, failed: ['the script says hello', 'no such scenario'] } },
  });
  const dir = await writeLab(root, 'unknown-expect', { yaml: text, features: { 'good.feature': GOOD_FEATURE } });
  const message = await loadFails(
    dir,
    re(dir),
    /lab\.yaml: expect\.lazy\.failed: no scenario is named "no such scenario"/,
  );
  assert.doesNotMatch(message, /"the script says hello"/);
});

test('expect naming a @course check among the failures: the field, the name and why', async (t) => {
  const root = await tempRoot('load', t);
  const text = labYaml('course-expect', {
    expect: { lazy: { score: 0, failed: ['the script says hello', 'the node has bash'] } },
  });
  const dir = await writeLab(root, 'course-expect', { yaml: text, features: { 'good.feature': GOOD_FEATURE } });
  const message = await loadFails(
    dir,
    /lab\.yaml: expect\.lazy\.failed: "the node has bash" is a @course check, which does not depend on the submission/,
  );
  assert.doesNotMatch(message, /"the script says hello"/);
});

test('problems from several features are reported together', async (t) => {
  const root = await tempRoot('load', t);
  const a = `Feature: a
  @points:1
  Scenario: no hint in a
    When the node runs "true"
`;
  const b = `Feature: b
  Scenario: no points in b
    A hint.
    When the node runs "true"
`;
  const dir = await writeLab(root, 'many-problems', { features: { 'a.feature': a, 'b.feature': b } });
  await loadFails(
    dir,
    /features\/a\.feature:3: scenario "no hint in a"/,
    /features\/b\.feature:2: scenario "no points in b"/,
  );
});

// The TS type LabFile is checked against the schema: LAB_FILE_KEYS is a
// Record<keyof LabFile, true>, and the schema's properties must be exactly those keys.
const SCHEMA_FILE = fileURLToPath(new URL('../../../schemas/lab.schema.json', import.meta.url));

interface JsonSchema {
  properties: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
}

const sorted = (xs: string[]) => [...xs].sort();

test('schemas/lab.schema.json top-level properties equal the keys of LabFile', async () => {
  const schema = JSON.parse(await readFile(SCHEMA_FILE, 'utf8')) as JsonSchema;
  assert.deepEqual(sorted(Object.keys(schema.properties)), sorted(Object.keys(LAB_FILE_KEYS)));
  for (const r of schema.required ?? []) assert.ok(r in LAB_FILE_KEYS, `required field ${r} is not in LabFile`);
  assert.equal((schema as unknown as { additionalProperties: boolean }).additionalProperties, false);
});

test("the schema's nested objects match the TS types too", async () => {
  const schema = JSON.parse(await readFile(SCHEMA_FILE, 'utf8')) as JsonSchema;
  const timeouts = { script: true, command: true, wait: true } satisfies Record<keyof Timeouts, true>;
  const submission = { files: true, maxBytes: true } satisfies Record<keyof LabFile['submission'], true>;
  const file = { path: true, description: true } satisfies Record<keyof LabFile['submission']['files'][number], true>;
  const expectation = { score: true, failed: true } satisfies Record<keyof WrongCaseExpectation, true>;
  const verify = { repeat: true } satisfies Record<keyof VerifyOptions, true>;
  const props = schema.properties;
  assert.deepEqual(sorted(Object.keys(props['verify']?.properties ?? {})), sorted(Object.keys(verify)));
  assert.deepEqual(sorted(Object.keys(props['timeouts']?.properties ?? {})), sorted(Object.keys(timeouts)));
  assert.deepEqual(sorted(Object.keys(props['submission']?.properties ?? {})), sorted(Object.keys(submission)));
  assert.deepEqual(
    sorted(Object.keys(props['submission']?.properties['files']?.items?.properties ?? {})),
    sorted(Object.keys(file)),
  );
  const exp = props['expect']?.additionalProperties as JsonSchema;
  assert.deepEqual(sorted(Object.keys(exp.properties)), sorted(Object.keys(expectation)));
});

test('@races marks a scenario; verify.repeat needs one, and stays within 1..10', async (t) => {
  const raced = GOOD_FEATURE.replace('  @points:2\n', '  @points:2 @races\n');
  const root = await tempRoot('load', t);
  const ok = await writeLab(root, 'races-lab', {
    yaml: labYaml('races-lab', { extra: { verify: { repeat: 4 } } }),
    features: { 'good.feature': raced },
  });
  const lab = await loadLab(ok);
  assert.equal(lab.scenarios[0]?.races, true);
  assert.deepEqual(lab.verify, { repeat: 4 });
  const plain = await loadLab(
    await writeLab(root, 'plain-lab', { yaml: labYaml('plain-lab'), features: { 'good.feature': GOOD_FEATURE } }),
  );
  assert.deepEqual(plain.verify, {});
  assert.equal(plain.scenarios[0]?.races, false);
  const nothing = await writeLab(root, 'nothing-races', {
    yaml: labYaml('nothing-races', { extra: { verify: { repeat: 3 } } }),
    features: { 'good.feature': GOOD_FEATURE },
  });
  await loadFails(nothing, re('lab.yaml: verify.repeat: no scenario is tagged @races'));
  const tooMany = await writeLab(root, 'too-many', {
    yaml: labYaml('too-many', { extra: { verify: { repeat: 11 } } }),
    features: { 'good.feature': raced },
  });
  await loadFails(tooMany, /verify\/repeat|verify\.repeat/);
});

test('fixtures: only in cluster labs, each name once, each manifest a file of the lab', async (t) => {
  const root = await tempRoot('load', t);
  const fixtures = [
    { name: 'web', manifest: 'fixtures/web.yaml' },
    { name: 'web', manifest: 'fixtures/missing.yaml' },
  ];
  const dir = await writeLab(root, 'fixture-lab', {
    yaml: labYaml('fixture-lab', { extra: { fixtures } }),
    features: { 'good.feature': GOOD_FEATURE },
  });
  await writeTree(dir, { 'fixtures/web.yaml': 'kind: Pod\n' });
  await loadFails(
    dir,
    re('fixtures: only cluster labs start fixtures'),
    re('the name "web" is used twice'),
    re('fixtures.web.manifest: fixtures/missing.yaml is not a file'),
  );
});

test('allow: only in cluster labs, and only the Service types it names', async (t) => {
  const root = await tempRoot('load', t);
  const dir = await writeLab(root, 'allow-lab', {
    yaml: labYaml('allow-lab', { extra: { allow: { nodePorts: true } } }),
    features: { 'good.feature': GOOD_FEATURE },
  });
  await loadFails(dir, re('allow: only cluster labs have Services to allow'));
  const other = await writeLab(root, 'allow-other', {
    yaml: labYaml('allow-other', { extra: { environment: 'cluster', allow: { hostNetwork: true } } }),
    features: { 'good.feature': GOOD_FEATURE },
  });
  await loadFails(other, re('hostNetwork'));
});

test('@serial needs disruptive: true in lab.yaml', async (t) => {
  const serial = GOOD_FEATURE.replace('@points:2', '@points:2 @serial');
  const root = await tempRoot('load', t);
  const dir = await writeLab(root, 'serial-lab', { features: { 'good.feature': serial } });
  await loadFails(
    dir,
    re('@serial marks a scenario that disturbs the whole cluster; say so in lab.yaml with disruptive: true'),
  );
  const ok = await writeLab(root, 'serial-ok', {
    yaml: labYaml('serial-ok', { extra: { disruptive: true } }),
    features: { 'good.feature': serial },
  });
  const lab = await loadLab(ok);
  assert.equal(lab.disruptive, true);
  assert.deepEqual(
    lab.scenarios.filter((s) => s.serial).map((s) => s.name),
    ['the script says hello'],
  );
});
