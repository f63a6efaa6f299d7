/**
 * Steps about a node's container runtime and the cluster's front door: what
 * `docker run`, `docker build` and `kubectl cluster-info` show, done the way
 * the cluster's own nodes do it (containerd's ctr) or through the API.
 */
import { Then, When } from '@cucumber/cucumber';
import { fail, LabError } from '../src/errors.js';
import { sh } from '../src/node.js';
import { expectedHostname } from '../src/kube/http-answers.js';
import { podState } from '../src/kube/pods.js';
import { fullImageName } from '../src/kube/image-ref.js';
import {
  layerSharing,
  readClusterInfo,
  runOnNodeRuntime,
  siblingImagesOnNode,
  type SiblingImages,
} from '../src/kube/runtime.js';
import { runInPod } from './pod-exec.js';
import type { KgradeWorld } from './world.js';

const siblings = new WeakMap<KgradeWorld, SiblingImages>();

When(
  "the node's container runtime runs {string} in a new {string} container",
  async function (this: KgradeWorld, command: string, image: string) {
    const node = await this.node();
    const cmd = this.expand(command);
    const r = await runOnNodeRuntime(node, image, cmd, this.timeouts.command * 1000);
    this.last = {
      what: `ctr run --rm ${fullImageName(image)} sh -c '${cmd}' (on node ${node.name})`,
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      timedOut: r.timedOut,
    };
    this.note(
      `docker run --rm ${image} … done by node ${node.name}'s containerd: ctr -n k8s.io run --rm ${fullImageName(image)}`,
    );
  },
);

Then(
  "pod {string} has a hostname and a UTS namespace of its own, not its node's",
  async function (this: KgradeWorld, name: string) {
    const pod = await this.submissionPod(name);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) fail(`pod ${name} is on no node (${podState(pod)})`);
    // the student's pod, its PATH and its shell: a hostname that hangs there is the student's
    const inPod = await runInPod(this, name, ['sh', '-c', 'hostname; readlink /proc/self/ns/uts'], {
      what: 'hostname',
      hang: 'result',
    });
    const node = await this.clusterNode(nodeName);
    const onNode = await sh(node, 'hostname; readlink /proc/self/ns/uts', { timeoutMs: this.timeouts.command * 1000 });
    const [podHost = '', podUts = ''] = inPod.stdout.trim().split('\n');
    const [nodeHost = '', nodeUts = ''] = onNode.stdout.trim().split('\n');
    if (inPod.timedOut || inPod.code !== 0 || !podHost || !podUts)
      fail(`hostname in pod ${name} did not run: ${inPod.stderr.trim() || `exit ${inPod.code}`}`);
    if (onNode.code !== 0 || !nodeHost || !nodeUts)
      throw new LabError(`hostname on node ${nodeName} did not run: ${onNode.stderr.trim()}`);
    this.note(`pod ${name}: hostname ${podHost}, ${podUts}; node ${nodeName}: hostname ${nodeHost}, ${nodeUts}`);
    if (podHost === nodeHost) fail(`the container's hostname is the node's (${nodeHost})`);
    if (podUts === nodeUts) fail(`the container shares its node's UTS namespace (${nodeUts})`);
    if (podHost !== expectedHostname(pod)) fail(`the container's hostname is ${podHost}, not its pod's name ${name}`);
  },
);

When(
  "two images are built from {string} with different last layers and imported into the node's container runtime",
  async function (this: KgradeWorld, base: string) {
    const node = await this.node();
    const s = await siblingImagesOnNode(node, base, Math.max(this.timeouts.command, 60) * 1000);
    siblings.set(this, s);
    this.note(
      `built on the grading host's Docker, imported into node ${node.name}'s containerd (k8s.io), read with ctr content get, then removed`,
    );
  },
);

Then(
  'both images begin with the layers of {string}, with the same digests, and end in different layers',
  function (this: KgradeWorld, base: string) {
    const s = siblings.get(this);
    if (!s || s.base !== base)
      throw new LabError(`this step needs "two images are built from \\"${base}\\" …" earlier in the scenario`);
    const { problems, notes } = layerSharing(s);
    for (const n of notes) this.note(n);
    if (problems.length) fail(problems.join('; '));
  },
);

Then('the API server tells its version and lists Ready nodes', async function (this: KgradeWorld) {
  const info = await readClusterInfo(this.admin());
  this.note(
    `Kubernetes control plane is running at ${info.server} (${info.version}); cluster services: ${info.services.join(', ') || 'none'}`,
  );
  this.note(
    `nodes: ${info.nodes.map((n) => `${n.name} ${n.ready ? 'Ready' : 'NotReady'} ${n.kubelet}`).join(', ') || 'none'}`,
  );
  if (!/^v\d+\.\d+/.test(info.version)) fail(`the API server's version is "${info.version}"`);
  if (info.nodes.length === 0) fail('the API server lists no nodes');
  if (!info.nodes.some((n) => n.ready)) fail(`no node is Ready: ${info.nodes.map((n) => n.name).join(', ')}`);
});
