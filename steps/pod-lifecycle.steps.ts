import { Then } from '@cucumber/cucumber';
import { waitForSteadyPod } from '../src/kube/readiness.js';
import { steps } from './i18n.js';
import type { KgradeWorld } from './world.js';

steps(
  Then,
  [
    'pod {string} is Ready and keeps running within {int} seconds',
    '파드 {string}이\\(가) {int}초 안에 Ready가 되어 계속 실행된다',
  ],
  async function (this: KgradeWorld, name: string, seconds: number) {
    const ns = await this.namespace();
    const pod = await waitForSteadyPod(this.admin(), ns.name, name, { state: 'ready', timeoutMs: seconds * 1000 });
    const restarts = (pod.status?.containerStatuses ?? []).reduce((n, s) => n + s.restartCount, 0);
    if (restarts > 0)
      this.note(`pod ${name} keeps running after ${restarts} container restart${restarts === 1 ? '' : 's'}`);
  },
);
