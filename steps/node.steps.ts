import { Given, Then, When } from '@cucumber/cucumber';
import { fail, GraderError } from '../src/errors.js';
import { eventually } from '../src/eventually.js';
import { deadlineWords, hostTimeClock, paceOf, paced, spentWords } from '../src/env/pace.js';
import { words } from '../src/check/listing.js';
import { describeExec, sh, shellQuote } from '../src/node.js';
import { steps } from './i18n.js';
import type { KgradeWorld } from './world.js';

async function runOnNode(world: KgradeWorld, command: string): Promise<void> {
  const node = await world.node();
  const cmd = world.expand(command);
  const r = await sh(node, cmd, { timeoutMs: world.timeouts.command * 1000 });
  world.last = {
    what: cmd,
    code: r.code,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.timedOut,
    truncated: r.truncated,
  };
}

function shown(world: KgradeWorld): string {
  const l = world.requireLast();
  return `"${l.what}" ${describeExec({ argv: [], durationMs: 0, ...l, truncated: l.truncated ?? false })}`;
}

Given('an empty folder {string} on the node', async function (this: KgradeWorld, folder: string) {
  const node = await this.node();
  const dir = this.expand(folder);
  const r = await sh(node, `rm -rf -- ${shellQuote(dir)} && mkdir -p -- ${shellQuote(dir)}`);
  if (r.code !== 0) throw new GraderError(`could not make the empty folder ${dir}: ${r.stderr.trim()}`);
});

Given(
  'the files {string} are created in {string} on the node',
  async function (this: KgradeWorld, names: string, folder: string) {
    const node = await this.node();
    const dir = this.expand(folder);
    const list = words(this.expand(names));
    const r = await sh(
      node,
      `cd -- ${shellQuote(dir)} && for f in ${list.map(shellQuote).join(' ')}; do echo "kgrade $f" > "$f"; done`,
    );
    if (r.code !== 0) throw new GraderError(`could not create ${list.join(', ')} in ${dir}: ${r.stderr.trim()}`);
  },
);

When('the node runs {string}', async function (this: KgradeWorld, command: string) {
  await runOnNode(this, command);
});

When('the node runs:', async function (this: KgradeWorld, script: string) {
  await runOnNode(this, script);
});

steps(Then, ['it succeeds', '성공한다'], function (this: KgradeWorld) {
  const l = this.requireLast();
  if (l.timedOut || l.code !== 0) fail(`expected success; ${shown(this)}`);
});

Then('it fails', function (this: KgradeWorld) {
  const l = this.requireLast();
  if (l.timedOut) fail(`expected it to fail promptly, but it hung; ${shown(this)}`);
  if (l.code === 0) fail(`expected a failure; ${shown(this)}`);
});

Then('its exit code is {int}', function (this: KgradeWorld, code: number) {
  if (this.requireLast().code !== code) fail(`expected exit code ${code}; ${shown(this)}`);
});

steps(
  Then,
  ['its output contains {string}', '출력에 {string}이\\(가) 들어 있다'],
  function (this: KgradeWorld, text: string) {
    const l = this.requireLast();
    const want = this.expand(text);
    if (!`${l.stdout}\n${l.stderr}`.includes(want)) fail(`expected the output to contain "${want}"; ${shown(this)}`);
  },
);

Then('its output does not contain {string}', function (this: KgradeWorld, text: string) {
  const l = this.requireLast();
  const unwanted = this.expand(text);
  if (`${l.stdout}\n${l.stderr}`.includes(unwanted))
    fail(`expected the output not to contain "${unwanted}"; ${shown(this)}`);
});

Then('its output is {string}', function (this: KgradeWorld, text: string) {
  const want = this.expand(text);
  if (this.requireLast().stdout.trim() !== want) fail(`expected the output to be exactly "${want}"; ${shown(this)}`);
});

Then('its output contains each of {string}', function (this: KgradeWorld, list: string) {
  const l = this.requireLast();
  const out = `${l.stdout}\n${l.stderr}`;
  const missing = words(this.expand(list)).filter((w) => !out.includes(w));
  if (missing.length) fail(`expected the output to contain ${missing.join(', ')}; ${shown(this)}`);
});

steps(
  Then,
  ['its output has the words {string}', '출력에 단어 {string}이\\(가) 모두 있다'],
  function (this: KgradeWorld, list: string) {
    const seen = new Set(words(this.requireLast().stdout));
    const missing = words(this.expand(list)).filter((w) => !seen.has(w));
    if (missing.length) fail(`expected the output to list ${missing.join(', ')}; ${shown(this)}`);
  },
);

Then('every name in its output exists in {string} on the node', async function (this: KgradeWorld, folder: string) {
  const node = await this.node();
  const dir = this.expand(folder);
  const names = words(this.requireLast().stdout);
  if (names.length === 0) fail(`expected a listing, but the output is empty; ${shown(this)}`);
  const r = await sh(node, `cd -- ${shellQuote(dir)} && ls -A1`);
  if (r.code !== 0) fail(`${dir} cannot be listed on the node: ${r.stderr.trim()}`);
  const inside = new Set(r.stdout.split('\n').filter(Boolean));
  const foreign = names.filter((n) => !inside.has(n));
  if (foreign.length)
    fail(`the listing shows ${foreign.join(', ')}, which ${dir} does not hold: the host shows through; ${shown(this)}`);
});

Then(
  '{string} on the node eventually prints {string}',
  async function (this: KgradeWorld, command: string, text: string) {
    const node = await this.node();
    const cmd = this.expand(command);
    const want = this.expand(text);
    const pace = paceOf(node);
    const spent = hostTimeClock(node);
    await eventually(
      async () => {
        const r = await sh(node, cmd, { timeoutMs: this.timeouts.command * 1000 });
        this.last = { what: cmd, code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
        const out = `${r.stdout}\n${r.stderr}`.trim();
        return {
          ok: r.stdout.includes(want),
          value: r,
          seen: out ? `exit ${r.code}: ${out.slice(0, 400)}` : `exit ${r.code}, no output`,
        };
      },
      {
        what: `"${cmd}" to print "${want}"`,
        // What it waits for happens on the node, at the node's pace: at most the lab's wait
        // stretched by it, less where the node sat idle (a server that never starts).
        timeoutMs: paced(pace, this.timeouts.wait * 1000),
        deadline: deadlineWords(pace, this.timeouts.wait),
        ...(pace > 1
          ? {
              budget: {
                ms: this.timeouts.wait * 1000,
                spent,
                words: (wallMs: number) => spentWords(pace, this.timeouts.wait, wallMs),
              },
            }
          : {}),
        intervalMs: 500,
      },
    );
  },
);
