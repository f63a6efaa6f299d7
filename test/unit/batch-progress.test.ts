import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLine, Progress, progressLine, type Finished } from '../../src/batch/progress.js';

test('the progress line: done/total, errors, rate and time left', () => {
  assert.equal(
    progressLine({ total: 30, done: 0, errors: 0, gradedNow: 0, elapsedMs: 500 }),
    '0/30 done · 0 errors · rate not known yet',
  );
  assert.equal(
    progressLine({ total: 30, done: 12, errors: 1, gradedNow: 12, elapsedMs: 180_000 }),
    '12/30 done · 1 error · 4.0/min · about 5 min left',
  );
  assert.equal(
    progressLine({ total: 30, done: 25, errors: 2, gradedNow: 5, elapsedMs: 60_000 }),
    '25/30 done · 2 errors · 5.0/min · about 1 min left',
    'reused results count as done, not in the rate',
  );
  assert.equal(
    progressLine({ total: 4, done: 4, errors: 0, gradedNow: 4, elapsedMs: 40_000 }),
    '4/4 done · 0 errors · 6.0/min · took 40 s',
  );
  assert.equal(
    progressLine({ total: 300, done: 1, errors: 0, gradedNow: 1, elapsedMs: 20_000 }),
    '1/300 done · 0 errors · 3.0/min · about 1 h 40 min left',
  );
});

const graded: Finished = {
  student: 'alice',
  status: 'graded',
  reused: false,
  score: 7,
  maxScore: 10,
  attempts: 1,
  durationMs: 9000,
};
const failed: Finished = {
  student: 'bob',
  status: 'error',
  reused: false,
  attempts: 3,
  reason: 'docker down',
  durationMs: 30000,
};

test('a JSON line per finished student, one object each', () => {
  const line = jsonLine(graded, { total: 3, done: 1, errors: 0, gradedNow: 1, elapsedMs: 9000 });
  assert.deepEqual(JSON.parse(line), {
    student: 'alice',
    status: 'graded',
    reused: false,
    score: 7,
    maxScore: 10,
    attempts: 1,
    durationMs: 9000,
    done: 1,
    total: 3,
    errors: 0,
  });
  assert.ok(!line.includes('\n'));
  assert.deepEqual(
    JSON.parse(jsonLine(failed, { total: 3, done: 2, errors: 1, gradedNow: 2, elapsedMs: 1 })).reason,
    'docker down',
  );
});

test('not on a terminal: nothing but one JSON line per finished student; notes stay off stdout', () => {
  let text = '';
  const p = new Progress({ tty: false, out: { write: (s: string) => (text += s) }, total: 2 });
  p.note('something for a person');
  p.finished(graded);
  p.finished(failed);
  p.close();
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { student: string; done: number; errors: number });
  assert.deepEqual(
    lines.map((l) => [l.student, l.done, l.errors]),
    [
      ['alice', 1, 0],
      ['bob', 2, 1],
    ],
  );
  assert.ok(text.endsWith('\n'));
});

test('on a terminal: the line is redrawn in place, an error is noted above it, and the last line ends with a newline', () => {
  let text = '';
  let t = 0;
  const p = new Progress({ tty: true, out: { write: (s: string) => (text += s) }, total: 2, now: () => t });
  t = 60_000;
  p.finished(graded);
  p.finished(failed);
  p.close();
  assert.ok(text.includes('\r\x1b[2K1/2 done · 0 errors · 1.0/min · about 1 min left'), JSON.stringify(text));
  assert.ok(text.includes('\r\x1b[2Kbob: error: docker down\n'), JSON.stringify(text));
  assert.ok(text.endsWith('2/2 done · 1 error · 2.0/min · took 1 min\n'), JSON.stringify(text));
  assert.ok(!text.includes('{'), 'no JSON on a terminal');
});
