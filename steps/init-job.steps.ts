import { Then } from '@cucumber/cucumber';
import { fail } from '../src/errors.js';
import { waitForInitContainers } from '../src/kube/init-containers.js';
import { waitForJobComplete } from '../src/kube/jobs.js';
import { emptyDirFileAccess } from '../src/kube/volume-files.js';
import { steps } from './i18n.js';
import type { KgradeWorld } from './world.js';

steps(
  Then,
  ['job {string} completes within {int} seconds', '잡 {string}이\\(가) {int}초 안에 완료된다'],
  async function (this: KgradeWorld, name: string, seconds: number) {
    const ns = await this.namespace();
    const job = await waitForJobComplete(this.admin(), ns.name, name, seconds * 1000);
    const s = job.status;
    const took =
      s?.startTime && s.completionTime
        ? ` in ${Math.round((new Date(s.completionTime).getTime() - new Date(s.startTime).getTime()) / 1000)} s`
        : '';
    this.note(`Job ${name} completed${took}: ${s?.succeeded ?? 0} succeeded, ${s?.failed ?? 0} failed on the way`);
  },
);

steps(
  Then,
  [
    'the init containers of pod {string} exit with code {int}',
    '파드 {string}의 init 컨테이너들의 종료 코드가 모두 {int}이다',
  ],
  async function (this: KgradeWorld, name: string, code: number) {
    const ns = await this.namespace();
    const names = await waitForInitContainers(this.admin(), ns.name, name, code, this.timeouts.wait * 1000);
    this.note(
      `pod ${name}: init container${names.length === 1 ? '' : 's'} ${names.join(', ')} exited with code ${code}`,
    );
  },
);

steps(
  Then,
  [
    'pod {string} cannot write the file {string} in its emptyDir volumes',
    '파드 {string}은\\(는) emptyDir 볼륨의 파일 {string}에 쓸 수 없다',
  ],
  async function (this: KgradeWorld, name: string, file: string) {
    const ns = await this.namespace();
    const pod = await this.submissionPod(name);
    const seen = await emptyDirFileAccess(this.admin(), ns.name, pod, file, this.timeouts.command * 1000);
    const writable = seen.filter((f) => f.writable);
    if (writable.length) {
      const root = writable.some((f) => f.uid === '0');
      fail(
        `${writable.map((f) => `${f.path} in container ${f.container} (uid ${f.uid})`).join(', ')} can be opened for writing` +
          (root
            ? '; the container runs as root, and root writes a file whatever its mode: chmod alone does not stop it'
            : ''),
      );
    }
    this.note(seen.map((f) => `${f.path} in container ${f.container} (uid ${f.uid}): ${f.error}`).join('; '));
  },
);
