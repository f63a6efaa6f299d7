import * as k8s from '../src/vendor/kubernetes-client.js';
import { Given, Then } from '@cucumber/cucumber';
import { debugPodImage } from '../src/config.js';
import { fail } from '../src/errors.js';
import { api } from '../src/kube/client.js';
import { startClientPod } from '../src/kube/client-pod.js';
import { nodeReady } from '../src/kube/readiness.js';
import { steps } from './i18n.js';
import type { KgradeWorld } from './world.js';

Then('every node is Ready', async function (this: KgradeWorld) {
  const nodes = await api(this.admin(), 'listing nodes', () => this.admin().makeApiClient(k8s.CoreV1Api).listNode());
  if (nodes.items.length === 0) fail('the cluster has no nodes');
  const bad = nodes.items.filter((n) => !nodeReady(n));
  if (bad.length) {
    fail(
      `not Ready: ${bad
        .map(
          (n) =>
            `${n.metadata?.name ?? '?'} (${
              n.status?.conditions
                ?.filter((c) => c.status !== 'False' || c.type === 'Ready')
                .map((c) => `${c.type}=${c.status}${c.message ? `: ${c.message}` : ''}`)
                .join(', ') ?? 'no conditions'
            })`,
        )
        .join('; ')}`,
    );
  }
  this.note(
    `nodes: ${nodes.items.map((n) => `${n.metadata?.name ?? '?'} ${n.status?.nodeInfo?.kubeletVersion ?? ''} ${n.status?.nodeInfo?.containerRuntimeVersion ?? ''}`).join(', ')}`,
  );
});

steps(
  Given,
  ["the grader's client pod {string} is running", '채점기의 클라이언트 파드 {string}이\\(가) 실행 중이다'],
  async function (this: KgradeWorld, name: string) {
    const ns = await this.namespace();
    await startClientPod(this.admin(), ns.name, name, debugPodImage(), this.timeouts.wait * 1000);
  },
);
