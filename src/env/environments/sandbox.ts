import os from 'node:os';
import { docker } from '../../docker.js';
import type { Environment } from '../environment.js';
import { ensureNodeImage } from '../images.js';
import { type CgroupVersion, cgroupFor, hostCgroupVersion } from '../sandbox/choose.js';
import { type Isolation, runtimeEntry, sandboxRuntime, startSandbox } from '../sandbox/index.js';
import { SUBMISSION_DIR } from '../script.js';
import { LabError } from '../../errors.js';

/** A sandbox lab's world: each scenario in a disposable sandbox of this runtime, made from this image. */
export type SandboxParameters = {
  kind: 'sandbox';
  isolation: Isolation;
  nodeImage: string;
  /** The cgroup version the lab's kernel pin asks for: a runtime with its own kernel boots it; the others have the host's. */
  cgroup: CgroupVersion;
  /** How many scenarios run at once (--jobs): a runtime that starts slowly may start that many ahead. */
  ahead?: number;
};

export const sandboxEnvironment: Environment<SandboxParameters> = {
  kind: 'sandbox',

  labProblems: (file) => [
    ...(file.allow ? ['lab.yaml: allow: only cluster labs have Services to allow (environment is sandbox)'] : []),
    ...file.fixtures.map(() => 'lab.yaml: fixtures: only cluster labs start fixtures (environment is sandbox)'),
  ],

  async prepare(_labs, how) {
    const runtime = await sandboxRuntime(how.isolation);
    const nodeImage = await ensureNodeImage({
      build: how.build,
      log: how.log,
      ...(runtime.preparedWithoutDocker ? { usableWithoutDocker: runtime.preparedWithoutDocker } : {}),
    });
    await runtime.prepare?.({ build: how.build, log: how.log });
    return (lab) => ({ kind: 'sandbox', isolation: how.isolation, nodeImage, cgroup: cgroupFor(lab.kernel.cgroup) });
  },

  async describe(p) {
    const runtime = await sandboxRuntime(p.isolation);
    return {
      provider: 'sandbox',
      image: p.nodeImage,
      kernel: runtime.kernelRelease?.() ?? os.release(),
      isolation: p.isolation,
      cgroup: runtimeEntry(p.isolation).ownKernel ? p.cgroup : hostCgroupVersion(),
    };
  },

  async provenance(p) {
    const r = await docker(['image', 'inspect', '--format', '{{.Id}}', p.nodeImage], { timeoutMs: 30_000 }).catch(
      () => undefined,
    );
    const id = r?.code === 0 ? ` (${r.stdout.trim()})` : '';
    return `sandbox ${p.nodeImage}${id} isolation ${p.isolation}`;
  },

  where: (p) => p.nodeImage,

  async node(p, scenario, name) {
    if (name !== undefined) throw new LabError('this step needs a cluster lab (environment: cluster)');
    const sandbox = await startSandbox(p.isolation, {
      image: p.nodeImage,
      runId: scenario.runId,
      purpose: scenario.labId,
      cgroup: p.cgroup,
      ...(p.ahead ? { ahead: p.ahead } : {}),
    });
    const node = { node: sandbox, dispose: () => sandbox.destroy() };
    if (scenario.submissionDir) {
      try {
        // the trailing /. copies the folder's content, not the folder, into SUBMISSION_DIR, made if missing
        await sandbox.copyIn(`${scenario.submissionDir}/.`, SUBMISSION_DIR);
      } catch (err) {
        await sandbox.destroy().catch(() => undefined);
        throw err;
      }
    }
    return node;
  },
};
