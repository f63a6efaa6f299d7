import { randomBytes } from 'node:crypto';
import { Given, Then } from '@cucumber/cucumber';
import { fail, GraderError } from '../src/errors.js';
import { words } from '../src/check/listing.js';
import { inspectPrograms, programProblem } from '../src/check/programs.js';
import { buildBox } from '../src/env/box.js';
import { sh, shellQuote } from '../src/node.js';
import type { KgradeWorld } from './world.js';

Given('a secret marker file {string} on the node', async function (this: KgradeWorld, file: string) {
  const node = await this.node();
  const path = this.expand(file);
  const secret = `kgrade-secret-${randomBytes(8).toString('hex')}`;
  const r = await sh(node, `mkdir -p "$(dirname -- ${shellQuote(path)})" && echo ${secret} > ${shellQuote(path)}`);
  if (r.code !== 0) throw new GraderError(`could not write the marker ${path}: ${r.stderr.trim()}`);
  this.vars.set('marker', secret);
  this.vars.set('marker.path', path);
});

Given("a marker folder at the node's root", async function (this: KgradeWorld) {
  const node = await this.node();
  const name = `kgrade-host-${randomBytes(4).toString('hex')}`;
  const r = await sh(node, `mkdir /${name}`);
  if (r.code !== 0) throw new GraderError(`could not make /${name}: ${r.stderr.trim()}`);
  this.vars.set('host-marker', name);
});

Then(
  '{string} on the node holds the programs {string} and every library they need',
  async function (this: KgradeWorld, rootText: string, programsText: string) {
    const node = await this.node();
    const root = this.expand(rootText).replace(/\/+$/, '');
    const exists = await sh(node, `test -d ${shellQuote(root)}`);
    if (exists.code !== 0) fail(`${root} does not exist on the node`);
    const programs = words(this.expand(programsText));
    const seen = await inspectPrograms(node, root, programs);
    const problems = seen.map((p) => programProblem(p, root)).filter((p): p is string => p !== undefined);
    for (const p of seen) {
      if (p.exists && p.elf && !p.interp) this.note(`${p.program} is static: it needs no libraries`);
      else if (p.libraries?.length)
        this.note(`${p.program}: the loader inside ${root} found ${p.libraries.join(', ')}`);
    }
    if (problems.length) fail(problems.join('; '));
  },
);

Given(
  "the grader's own box at {string} on the node with {string}",
  async function (this: KgradeWorld, root: string, programs: string) {
    await buildBox(await this.node(), this.expand(root), words(this.expand(programs)));
  },
);
