import { Given } from '@cucumber/cucumber';
import { LabError } from '../src/errors.js';
import { startFixture } from '../src/kube/fixtures.js';
import type { KgradeWorld } from './world.js';

async function start(world: KgradeWorld, names: string[]): Promise<void> {
  const ns = await world.namespace();
  const fixtures = world.parameters.fixtures;
  const chosen = names.length ? names.map((n) => fixtures.find((f) => f.name === n) ?? n) : fixtures;
  const unknown = chosen.filter((f): f is string => typeof f === 'string');
  if (unknown.length) throw new LabError(`no fixture named ${unknown.join(', ')} in lab.yaml (it has: ${fixtures.map((f) => f.name).join(', ') || 'none'})`);
  if (chosen.length === 0) throw new LabError('this step starts the lab\'s fixtures, but lab.yaml declares none');
  await Promise.all(
    chosen.map(async (f) => {
      if (typeof f === 'string') return;
      await startFixture(world.admin(), ns.name, world.parameters.labDir, f, world.timeouts.wait * 1000);
      world.note(`fixture ${f.name} (${f.manifest}) is running in ${ns.name}`);
    }),
  );
}

Given("the lab's fixtures are running", async function (this: KgradeWorld) {
  await start(this, []);
});

Given('실습 준비물이 실행 중이다', async function (this: KgradeWorld) {
  await start(this, []);
});

Given('fixture {string} is running', async function (this: KgradeWorld, name: string) {
  await start(this, [name]);
});

Given('준비물 {string}이\\(가) 실행 중이다', async function (this: KgradeWorld, name: string) {
  await start(this, [name]);
});
