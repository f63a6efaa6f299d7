import * as k8s from '../src/vendor/kubernetes-client.js';
import { Then } from '@cucumber/cucumber';
import { fail } from '../src/errors.js';
import { sameProgram, sameProgramScript } from '../src/check/same-program.js';
import { api } from '../src/kube/client.js';
import { pinning } from '../src/kube/image-ref.js';
import { imageSizeOnNode } from '../src/kube/image-size.js';
import { podState } from '../src/kube/pods.js';
import { steps } from './i18n.js';
import { runInPod } from './pod-exec.js';
import type { KgradeWorld } from './world.js';

const MB = 1000 * 1000;
const megabytes = (bytes: number) => `${(bytes / MB).toFixed(2)} MB (${bytes} bytes)`;

steps(
  Then,
  ['every image of pod {string} is pinned', '파드 {string}의 모든 이미지가 고정된 버전을 가리킨다'],
  async function (this: KgradeWorld, name: string) {
    const p = await this.submissionPod(name);
    const containers = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
    const seen = containers.map((c) => ({ c, pin: pinning(c.image ?? '') }));
    const loose = seen.filter((x) => !x.pin.pinned);
    if (loose.length) {
      fail(
        `pod ${name}: ${loose.map((x) => `container ${x.c.name} runs ${x.c.image ?? '(no image)'}: ${x.pin.pinned ? '' : x.pin.why}`).join('; ')}; name a fixed version, e.g. busybox:1.36, or a digest`,
      );
    }
    this.note(
      `pod ${name}: ${seen.map((x) => `${x.c.name} ${x.c.image ?? ''} (${x.pin.pinned ? x.pin.how : ''})`).join(', ')}`,
    );
  },
);

steps(
  Then,
  [
    'in pod {string}, {string} is the same program as {string}',
    '파드 {string} 안의 {string}은\\(는) {string}와\\(과) 같은 프로그램이다',
  ],
  async function (this: KgradeWorld, name: string, file: string, program: string) {
    const r = await runInPod(this, name, ['sh', '-c', sameProgramScript(file, program)], {
      what: `comparing ${file} with ${program}`,
    });
    const verdict = sameProgram(r.stdout, file, program);
    if (!verdict.same) fail(`in pod ${name}, ${file} is not ${program}: ${verdict.detail}`);
    this.note(`${verdict.form}: ${verdict.detail}`);
  },
);

steps(
  Then,
  [
    'the image of pod {string} is smaller than {int} MB on its node',
    '파드 {string}의 이미지는 노드에서 {int} MB보다 작다',
  ],
  async function (this: KgradeWorld, name: string, limit: number) {
    const p = await this.submissionPod(name);
    const status = p.status?.containerStatuses?.[0];
    const nodeName = p.spec?.nodeName;
    if (!status?.imageID || !nodeName) fail(`pod ${name} has not started its container yet (${podState(p)})`);
    const node = await this.clusterNode(nodeName);
    const info = await api(this.admin(), `reading node ${nodeName}`, () =>
      this.admin().makeApiClient(k8s.CoreV1Api).readNode({ name: nodeName }),
    );
    const arch = info.status?.nodeInfo?.architecture ?? 'amd64';
    const size = await imageSizeOnNode(
      this.admin(),
      node,
      [status.imageID, status.image],
      arch,
      this.timeouts.command * 1000,
    );
    this.note(
      `${status.image}: ${megabytes(size.bytes)} as the registry sends it${size.unpackedBytes !== undefined ? `, about ${megabytes(size.unpackedBytes)} unpacked` : ''}; read from ${size.source}`,
    );
    const over = [size.bytes, size.unpackedBytes].filter((b): b is number => b !== undefined && b >= limit * MB);
    if (over.length)
      fail(
        `the image of pod ${name} (${status.image}) is ${megabytes(Math.max(...over))}, not under ${limit} MB; read from ${size.source}`,
      );
  },
);
