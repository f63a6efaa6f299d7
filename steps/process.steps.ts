import { Given, Then } from '@cucumber/cucumber';
import { fail, GraderError } from '../src/errors.js';
import { parsePsListing } from '../src/check/listing.js';
import { sh } from '../src/node.js';
import { paceOf, paced } from '../src/env/pace.js';
import type { KgradeWorld } from './world.js';

/**
 * The decoy stands in for a precious system process (the kubelet): it is what a
 * process inside a chroot can or cannot see and kill. No check ever touches a real one.
 */
Given('a decoy process {string} runs on the node', async function (this: KgradeWorld, name: string) {
  const node = await this.node();
  const r = await sh(node, `setsid bash -c 'exec -a ${name} sleep 100000' </dev/null >/dev/null 2>&1 & echo $!`);
  const pid = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0)
    throw new GraderError(`could not start the decoy ${name}: ${r.stderr.trim()}`);
  const check = await sh(
    node,
    `for i in $(seq ${paced(paceOf(node), 2) * 10}); do ps -o args= -p ${pid} | grep -q '^${name}' && exit 0; sleep 0.1; done; exit 1`,
  );
  if (check.code !== 0) throw new GraderError(`the decoy ${name} (PID ${pid}) did not show up in ps`);
  this.vars.set('decoy.pid', String(pid));
  this.vars.set('decoy.name', name);
});

async function decoyAlive(world: KgradeWorld): Promise<boolean> {
  const node = await world.node();
  const pid = world.expand('{{decoy.pid}}');
  const r = await sh(node, `ps -o stat= -p ${pid}`);
  return r.code === 0 && !r.stdout.trim().startsWith('Z');
}

Then('the decoy process is still running', async function (this: KgradeWorld) {
  if (!(await decoyAlive(this))) fail(`the decoy ${this.expand('{{decoy.name}} (PID {{decoy.pid}})')} was killed`);
});

Then('the decoy process is gone', async function (this: KgradeWorld) {
  if (await decoyAlive(this)) fail(`the decoy ${this.expand('{{decoy.name}} (PID {{decoy.pid}})')} is still running`);
});

Then('the process listing in its output shows at most {int} processes', function (this: KgradeWorld, max: number) {
  const l = this.requireLast();
  const procs = parsePsListing(l.stdout);
  if (procs.length === 0)
    fail(`expected a process listing (ps -ax), but none is in the output:\n${l.stdout.trim() || l.stderr.trim()}`);
  if (procs.length > max) {
    fail(
      `expected at most ${max} processes, the listing shows ${procs.length}: ${procs.map((p) => `${p.pid} ${p.command}`).join('; ')}`,
    );
  }
});

Then('the process listing in its output does not show {string}', function (this: KgradeWorld, text: string) {
  const l = this.requireLast();
  const want = this.expand(text);
  const procs = parsePsListing(l.stdout);
  if (procs.length === 0)
    fail(`expected a process listing (ps -ax), but none is in the output:\n${l.stdout.trim() || l.stderr.trim()}`);
  const hit = procs.find((p) => p.command.includes(want));
  if (hit) fail(`the listing shows ${hit.pid} ${hit.command}`);
});

Then('the process listing in its output shows {string}', function (this: KgradeWorld, text: string) {
  const l = this.requireLast();
  const want = this.expand(text);
  const procs = parsePsListing(l.stdout);
  if (!procs.some((p) => p.command.includes(want))) {
    fail(
      `expected ${want} in the process listing; it shows: ${procs.map((p) => `${p.pid} ${p.command}`).join('; ') || l.stdout.trim()}`,
    );
  }
});
