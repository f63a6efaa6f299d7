import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  csvFields,
  entryOfFolder,
  kindOf,
  parseRosterCsv,
  readRoster,
  studentIdProblem,
} from '../../src/batch/roster.js';
import { UsageError } from '../../src/errors.js';
import { tempRoot } from '../helpers/labs.js';

test('csvFields: plain and quoted fields, "" inside quotes, spaces trimmed; an unterminated quote is no line', () => {
  assert.deepEqual(csvFields('alice,subs/alice.zip'), ['alice', 'subs/alice.zip']);
  assert.deepEqual(csvFields(' bob , "my folder/bob" '), ['bob', 'my folder/bob']);
  assert.deepEqual(csvFields('"c""d",x,'), ['c"d', 'x', '']);
  assert.deepEqual(csvFields('"a,b",c'), ['a,b', 'c']);
  assert.equal(csvFields('"open,c'), undefined);
  assert.equal(csvFields('"a"b,c'), undefined);
});

test('student ids: letters, digits and _ . @ + -; nothing that climbs, hides or needs quoting', () => {
  for (const ok of ['alice', 'a.b-c_d', 'jane@uni.example', 'u+1', '42', 'hw1-octocat'])
    assert.equal(studentIdProblem(ok), undefined, ok);
  for (const bad of ['', '.hidden', '..', '-x', 'a/b', 'a b', 'a\\b', 'é', 'x'.repeat(129)])
    assert.ok(studentIdProblem(bad), JSON.stringify(bad));
});

test('the kind of a submission from its name', () => {
  assert.equal(kindOf('a/b/alice.ZIP'), 'zip');
  assert.equal(kindOf('bob.tar.gz'), 'tar.gz');
  assert.equal(kindOf('bob.tgz'), 'tar.gz');
  assert.equal(kindOf('carol'), 'folder');
  assert.deepEqual(entryOfFolder('alice.tar.gz', false), { id: 'alice', kind: 'tar.gz' });
  assert.deepEqual(
    entryOfFolder('alice.zip', true),
    { id: 'alice.zip', kind: 'folder' },
    'a folder is a folder, whatever its name',
  );
  assert.equal(entryOfFolder('README.md', false), undefined);
});

test('a CSV roster: header skipped, comments and blank lines skipped, paths relative to the CSV', () => {
  const r = parseRosterCsv(
    'id,path\r\n# the class\n\nalice,subs/alice.zip\nbob,/abs/bob\n"carol","c dir/carol.tgz"\n',
    '/base',
  );
  assert.deepEqual(r, [
    { id: 'alice', source: '/base/subs/alice.zip', kind: 'zip', line: 4 },
    { id: 'bob', source: '/abs/bob', kind: 'folder', line: 5 },
    { id: 'carol', source: '/base/c dir/carol.tgz', kind: 'tar.gz', line: 6 },
  ]);
});

test('a CSV roster with bad lines: every problem named with its line, as a usage error', () => {
  assert.throws(
    () => parseRosterCsv('alice,a\nbob\n../x,b\ncarol,\ndave,d,extra\n', '/base', 'class.csv'),
    (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /class\.csv:2: expected two fields/);
      assert.match(err.message, /class\.csv:3: student id "\.\.\/x"/);
      assert.match(err.message, /class\.csv:4: student carol has no path/);
      assert.match(err.message, /class\.csv:5: expected two fields/);
      return true;
    },
  );
});

test('a folder of submissions: folders and archives by id, sorted; hidden entries skipped; other files named as ignored', async (t) => {
  const root = await tempRoot('roster', t);
  const subs = path.join(root, 'subs');
  await mkdir(path.join(subs, 'zed'), { recursive: true });
  await mkdir(path.join(subs, 'alice'));
  await mkdir(path.join(subs, '.git'));
  await writeFile(path.join(subs, 'bob.zip'), '');
  await writeFile(path.join(subs, 'carol.tar.gz'), '');
  await writeFile(path.join(subs, 'README.md'), '');
  await writeFile(path.join(subs, '.DS_Store'), '');
  const r = await readRoster(subs);
  assert.deepEqual(
    r.students.map((s) => [s.id, s.kind, path.relative(subs, s.source)]),
    [
      ['alice', 'folder', 'alice'],
      ['bob', 'zip', 'bob.zip'],
      ['carol', 'tar.gz', 'carol.tar.gz'],
      ['zed', 'folder', 'zed'],
    ],
  );
  assert.deepEqual(r.ignored, ['README.md']);
});

test('a folder where one id appears twice (alice/ and alice.zip), or an entry no id can name: a usage error', async (t) => {
  const root = await tempRoot('roster', t);
  await mkdir(path.join(root, 'dup', 'alice'), { recursive: true });
  await writeFile(path.join(root, 'dup', 'alice.zip'), '');
  await assert.rejects(readRoster(path.join(root, 'dup')), /a student id appears more than once:\n {2}- alice: /);
  await mkdir(path.join(root, 'spaces', 'Jane Doe'), { recursive: true });
  await assert.rejects(
    readRoster(path.join(root, 'spaces')),
    (err: Error) => err instanceof UsageError && /Jane Doe: student id "Jane Doe"/.test(err.message),
  );
  await mkdir(path.join(root, 'empty'));
  await assert.rejects(readRoster(path.join(root, 'empty')), /holds no submission/);
  await assert.rejects(readRoster(path.join(root, 'nope')), /no such folder or roster file/);
  await writeFile(path.join(root, 'list.txt'), 'alice,a\n');
  await assert.rejects(readRoster(path.join(root, 'list.txt')), /must be a \.csv/);
});

test('a CSV roster file read from disk, with duplicate ids refused', async (t) => {
  const root = await tempRoot('roster', t);
  await writeFile(path.join(root, 'class.csv'), 'id,path\nbob,b\nalice,a.zip\n');
  const r = await readRoster(path.join(root, 'class.csv'));
  assert.deepEqual(
    r.students.map((s) => [s.id, s.source]),
    [
      ['alice', path.join(root, 'a.zip')],
      ['bob', path.join(root, 'b')],
    ],
  );
  await writeFile(path.join(root, 'dup.csv'), 'bob,b\nbob,c\n');
  await assert.rejects(readRoster(path.join(root, 'dup.csv')), /bob: .*\/b and .*\/c/);
});
