import { Given, Then, When } from '@cucumber/cucumber';
import { fail, GraderError } from '../src/errors.js';
import { memoryCgroupOf, readMemoryCgroup } from '../src/check/cgroup.js';
import { runInShell, startShell, type ShellCommandResult } from '../src/env/shell.js';
import type { KgradeWorld } from './world.js';

interface ShellRun {
  shell: string;
  command: string;
  cgroup: string | null;
  failuresBefore: number | null;
  result: ShellCommandResult;
}

const shellRuns = new WeakMap<KgradeWorld, ShellRun>();

function shellOf(world: KgradeWorld, name: string) {
  const s = world.shells.get(name);
  if (!s)
    throw new GraderError(
      `no shell "${name}" in this scenario; start one with: Given a shell "${name}" runs on the node`,
    );
  return s;
}

Given('a shell {string} runs on the node', async function (this: KgradeWorld, name: string) {
  const shell = await startShell(await this.node(), name);
  this.shells.set(name, { pid: shell.pid, dir: shell.dir });
  this.vars.set(`${name}.pid`, String(shell.pid));
});

Then(
  'the shell {string} is in the memory cgroup {string}',
  async function (this: KgradeWorld, name: string, cgroup: string) {
    const node = await this.node();
    const s = shellOf(this, name);
    const at = await memoryCgroupOf(node, s.pid);
    if (at === null) fail(`the shell ${name} (PID ${s.pid}) is gone: it was killed before it could be checked`);
    const want = `/${cgroup.replace(/^\/+/, '')}`;
    if (at !== want) fail(`the shell ${name} (PID ${s.pid}) is in memory cgroup "${at}", not "${want}"`);
  },
);

Then('the memory cgroup {string} is limited to at most one page', async function (this: KgradeWorld, name: string) {
  const cg = await readMemoryCgroup(await this.node(), name);
  if (!cg.exists) fail(`there is no memory cgroup ${name} (looked for ${cg.dir}, cgroup v${cg.version})`);
  if (cg.limit === null) fail(`memory cgroup ${name} has no memory limit (${cg.dir}, cgroup v${cg.version})`);
  if (cg.limit > cg.pageSize)
    fail(`memory cgroup ${name} is limited to ${cg.limit} bytes, more than one page (${cg.pageSize} bytes)`);
  this.note(`cgroup v${cg.version}: ${cg.dir} memory limit reads back as ${cg.limit} bytes`);
});

When('the shell {string} runs {string}', async function (this: KgradeWorld, name: string, command: string) {
  const node = await this.node();
  const s = shellOf(this, name);
  const at = await memoryCgroupOf(node, s.pid);
  const cg = at && at !== '/' ? await readMemoryCgroup(node, at) : undefined;
  const result = await runInShell(node, { name, ...s }, this.expand(command), 10);
  shellRuns.set(this, { shell: name, command, cgroup: at, failuresBefore: cg?.exists ? cg.failures : null, result });
  this.last = { what: command, code: result.status, stdout: result.output, stderr: '', timedOut: result.noAnswer };
});

Then('that fails for lack of memory', async function (this: KgradeWorld) {
  const run = shellRuns.get(this);
  if (!run) throw new GraderError('no shell command ran yet in this scenario; use: When the shell "NAME" runs "ls"');
  const { result } = run;
  if (result.status === 0)
    fail(
      `"${run.command}" ran fine in the shell ${run.shell}: the memory limit does not hold it back. Output:\n${result.output.slice(0, 400)}`,
    );
  if (run.cgroup === null || run.cgroup === '/' || run.failuresBefore === null) {
    fail(`the shell ${run.shell} is in no memory cgroup of its own, so the failure proves nothing about a limit`);
  }
  const after = await readMemoryCgroup(await this.node(), run.cgroup);
  const moved = after.failures > run.failuresBefore;
  const enomem = /Cannot allocate memory/i.test(result.output);
  let seen: string;
  if (result.shellDied) seen = "the shell was killed by the memory cgroup's OOM killer";
  else if (enomem) seen = 'fork failed: Cannot allocate memory';
  else if (result.noAnswer) seen = 'the shell hung at the memory limit and never answered';
  else seen = `it failed with status ${result.status}: ${result.output.slice(0, 200)}`;
  if (!moved)
    fail(
      `${seen}, but the failure counter of ${after.dir} did not move (${run.failuresBefore} -> ${after.failures}): the limit is not what stopped it`,
    );
  if (!result.shellDied && !enomem && !result.noAnswer) fail(`${seen}; that is not a memory failure`);
  this.note(`${seen}; failure counter ${run.failuresBefore} -> ${after.failures} (cgroup v${after.version})`);
});
