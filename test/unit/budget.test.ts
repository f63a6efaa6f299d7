import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Budget } from '../../src/grade/budget.js';

test('a budget never runs more than its size at once, and starts waiters in order', async () => {
  const budget = new Budget(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const work = (i: number) =>
    budget.run(async () => {
      started.push(i);
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 + (i % 3) * 5));
      running -= 1;
      return i * 10;
    });
  const results = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(work));
  assert.deepEqual(results, [0, 10, 20, 30, 40, 50, 60]);
  assert.equal(most, 2);
  assert.deepEqual(started.slice(0, 2), [0, 1]);
  assert.deepEqual([...started].sort(), started.slice().sort());
});

test('a failing piece of work frees its slot', async () => {
  const budget = new Budget(1);
  await assert.rejects(
    budget.run(async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await budget.run(async () => 'next'), 'next');
});
