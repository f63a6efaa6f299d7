/** The steps' last-resort watchdog (src/cucumber/watchdog.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchdog } from '../../src/cucumber/watchdog.js';
import { GraderError, SubmissionAssertionError } from '../../src/errors.js';

test('work that ends in time gives its value, and its own failure as it is', async () => {
  assert.equal(
    await watchdog(
      async () => 'done',
      () => 1000,
      10,
    ),
    'done',
  );
  assert.equal(
    await watchdog(
      () => 7,
      () => 1000,
      10,
    ),
    7,
  );
  await assert.rejects(
    watchdog(
      async () => {
        throw new SubmissionAssertionError('the pod is not Running');
      },
      () => 1000,
      10,
    ),
    (e: unknown) => e instanceof SubmissionAssertionError && /not Running/.test(e.message),
  );
});

test("work that never ends is the grader's error once the limit passes, said in the message", async () => {
  const t0 = Date.now();
  await assert.rejects(
    watchdog(
      () => new Promise(() => undefined),
      () => 150,
      20,
    ),
    (e: unknown) =>
      e instanceof GraderError &&
      /did not end within 150 ms/.test(e.message) &&
      /not of the submission/.test(e.message),
  );
  const took = Date.now() - t0;
  assert.ok(took >= 140 && took < 2000, `gave up after ${took} ms`);
});

test('a limit that grows while the work runs (a node that turned out slow) is the one kept', async () => {
  let limit = 100;
  const work = async () => {
    await sleep(30);
    limit = 2000; // the node came up with a pace
    await sleep(250);
    return 'finished at the stretched limit';
  };
  assert.equal(await watchdog(work, () => limit, 10), 'finished at the stretched limit');
  // the control: the same work under the first limit is given up
  limit = 100;
  await assert.rejects(
    watchdog(
      async () => sleep(280),
      () => limit,
      10,
    ),
    GraderError,
  );
});
