import { Given } from '@cucumber/cucumber';
import type * as k8s from '../src/vendor/kubernetes-client.js';
import { eventually } from '../src/eventually.js';
import { LabError } from '../src/errors.js';
import type { Fixture } from '../src/lab/types.js';
import { listNodes } from '../src/kube/control-plane.js';
import { fixtureObjects, startFixture } from '../src/kube/fixtures.js';
import { kubeProxyFollows } from '../src/kube/service-programmed.js';
import type { KgradeWorld } from './world.js';

/**
 * Waits until kube-proxy on every node sends the fixture's Services to their
 * ready pods: a submission that reaches a fixture by its Service right away
 * (an init container's wget) must not lose points to kube-proxy being late.
 */
async function reachable(world: KgradeWorld, namespace: string, fixture: Fixture): Promise<void> {
  const services = (await fixtureObjects(world.parameters.labDir, fixture)).filter(
    (o): o is k8s.V1Service => o.kind === 'Service',
  );
  if (services.length === 0) return;
  const nodes = await Promise.all(
    (await listNodes(world.admin())).map((n) => world.clusterNode(n.metadata?.name ?? '')),
  );
  await eventually(
    async () => {
      const states = [];
      for (const svc of services)
        states.push(await kubeProxyFollows(world.admin(), nodes, namespace, svc, world.timeouts.command * 1000));
      return { ok: states.every((x) => x.ok), value: undefined, seen: states.map((x) => x.seen).join('; ') };
    },
    {
      what: `kube-proxy to send fixture ${fixture.name}'s services to its pods`,
      timeoutMs: world.timeouts.wait * 1000,
      intervalMs: 1000,
      blame: 'grader',
    },
  );
}

async function start(world: KgradeWorld, names: string[]): Promise<void> {
  const ns = await world.namespace();
  const fixtures = world.parameters.fixtures;
  const chosen = names.length ? names.map((n) => fixtures.find((f) => f.name === n) ?? n) : fixtures;
  const unknown = chosen.filter((f): f is string => typeof f === 'string');
  if (unknown.length)
    throw new LabError(
      `no fixture named ${unknown.join(', ')} in lab.yaml (it has: ${fixtures.map((f) => f.name).join(', ') || 'none'})`,
    );
  if (chosen.length === 0) throw new LabError("this step starts the lab's fixtures, but lab.yaml declares none");
  await Promise.all(
    chosen.map(async (f) => {
      if (typeof f === 'string') return;
      await startFixture(world.admin(), ns.name, world.parameters.labDir, f, world.timeouts.wait * 1000);
      await reachable(world, ns.name, f);
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
