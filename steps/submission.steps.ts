import { When } from '@cucumber/cucumber';
import { fail } from '../src/errors.js';
import { words } from '../src/check/listing.js';
import { deadlineWords, paceOf } from '../src/env/pace.js';
import { assertNodeUsable, runSubmissionScript } from '../src/env/script.js';
import type { KgradeWorld } from './world.js';

async function runScript(world: KgradeWorld, script: string, args: string, mode: 'finish' | 'start'): Promise<void> {
  if (world.parameters.missingFiles.includes(script)) {
    fail(`the submission has no ${script}; the lab asks for it`);
  }
  const node = await world.node();
  const argv = words(world.expand(args));
  const timeoutS = mode === 'finish' ? world.timeouts.script : Math.min(world.timeouts.script, 15);
  const r = await runSubmissionScript(node, script, argv, { timeoutS, mode });
  const label = `${script}${argv.length ? ` ${argv.join(' ')}` : ''}`;
  world.last = { what: label, code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
  world.lastScript = world.last;
  assertNodeUsable(r, `${script} ran`);
  if (r.timedOut) {
    const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join('\n');
    fail(
      `${label} did not finish within ${deadlineWords(paceOf(node), timeoutS)} and was stopped (it runs with standard input closed: does it wait for input, or run a server in the foreground?)${tail ? `; last output:\n${tail}` : ''}`,
    );
  }
  // On a slower sandbox, the report says what the deadline was stretched to and why.
  if (!r.stillRunning && paceOf(node) > 1)
    world.note(
      `${label} ended after ${(r.durationMs / 1000).toFixed(1)} s, within its deadline of ${deadlineWords(paceOf(node), timeoutS)}`,
    );
  if (r.stillRunning) {
    world.note(`${label} was still running after ${deadlineWords(paceOf(node), timeoutS)}; graded what it had started`);
  } else if (r.code === null) {
    world.note(`${label} ended with no exit status (killed, or its output filled the space for it)`);
  } else if (r.code !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
    world.note(`${label} exited ${r.code}${tail ? `: ${tail}` : ''}`);
  }
}

When("the submission's {string} runs", async function (this: KgradeWorld, script: string) {
  await runScript(this, script, '', 'finish');
});

When("the submission's {string} runs with {string}", async function (this: KgradeWorld, script: string, args: string) {
  await runScript(this, script, args, 'finish');
});

When("the submission's {string} is started", async function (this: KgradeWorld, script: string) {
  await runScript(this, script, '', 'start');
});

When(
  "the submission's {string} is started with {string}",
  async function (this: KgradeWorld, script: string, args: string) {
    await runScript(this, script, args, 'start');
  },
);
