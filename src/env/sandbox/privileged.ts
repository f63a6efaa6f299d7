import { GraderError } from '../../errors.js';
import { docker, dockerOk } from '../../docker.js';
import { ContainerNode } from '../container-node.js';
import { track, untrack } from '../cleanup.js';
import { execaSync } from '../../vendor/execa.js';
import { dockerBinary } from '../../docker.js';
import type { Sandbox, SandboxListing, SandboxOptions, SandboxRuntime } from './index.js';
import { HOSTNAME, INIT, LIMITS, prepareNode } from './node-setup.js';

const DOCKER_LIMITS = [
  '--memory',
  String(LIMITS.memoryBytes),
  '--memory-swap',
  String(LIMITS.memoryBytes),
  '--pids-limit',
  String(LIMITS.pids),
  '--cpus',
  String(LIMITS.cpus),
];

let counter = 0;

/** A disposable privileged container standing in for a node. Root inside is root on the host. */
class PrivilegedSandbox extends ContainerNode implements Sandbox {
  readonly isolation = 'privileged' as const;

  async destroy(): Promise<void> {
    await privilegedRuntime.remove(this.name);
  }
}

export const privilegedRuntime: SandboxRuntime = {
  isolation: 'privileged',

  async start(opts: SandboxOptions): Promise<Sandbox> {
    counter += 1;
    const name = `kgrade-${opts.runId}-${counter}`;
    track(privilegedRuntime, name);
    const r = await docker(
      [
        'run',
        '-d',
        '--name',
        name,
        '--label',
        'kgrade=sandbox',
        '--label',
        `kgrade.run=${opts.runId}`,
        '--label',
        `kgrade.owner-pid=${process.pid}`,
        '--label',
        `kgrade.purpose=${opts.purpose.slice(0, 200)}`,
        '--privileged',
        '--cgroupns=private',
        '--network',
        'none',
        '--hostname',
        HOSTNAME,
        '--tmpfs',
        '/tmp:rw,exec,size=256m',
        '--tmpfs',
        '/run:rw,exec,size=64m',
        // The grader's own files on the node (a script's exit status, its runner's PID, shells).
        '--tmpfs',
        '/run/kgrade:rw,exec,size=16m',
        // Submission scripts' output, apart: a script printing without end fills this one, not the
        // space the grader needs to record that the script was stopped.
        '--tmpfs',
        '/run/kgrade/output:rw,exec,size=32m',
        ...DOCKER_LIMITS,
        opts.image,
        ...INIT,
      ],
      { timeoutMs: 120_000 },
    );
    if (r.code !== 0) {
      untrack(name);
      await docker(['rm', '-f', name]).catch(() => undefined);
      const hint = /No such image|not found|pull access denied/i.test(r.stderr)
        ? ` (build it with images/node/build.sh, or scripts/ensure-images.sh)`
        : '';
      throw new GraderError(`could not start a sandbox from ${opts.image}: ${r.stderr.trim()}${hint}`);
    }
    const node = new PrivilegedSandbox(name);
    try {
      await prepareNode(node);
    } catch (err) {
      await node.destroy();
      throw err;
    }
    return node;
  },

  async list(): Promise<SandboxListing[]> {
    const r = await docker([
      'ps',
      '-a',
      '--filter',
      'label=kgrade=sandbox',
      '--format',
      '{{.Names}} {{.Label "kgrade.owner-pid"}}',
    ]);
    if (r.code !== 0) return [];
    return r.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([name, pid]) => name && Number(pid) > 0)
      .map(([name, pid]) => ({ name: name ?? '', ownerPid: Number(pid) }));
  },

  /** Removal also removes every cgroup made inside the sandbox: they live under the container's own. */
  async remove(name: string): Promise<void> {
    await dockerOk(['rm', '-f', '-v', name], `removing sandbox ${name}`, { timeoutMs: 120_000 });
    untrack(name);
  },

  /** docker rm -f either removes a container or leaves it listed: nothing is set aside. */
  async setAside() {
    return [];
  },

  removeSync(name: string): void {
    execaSync(dockerBinary(), ['rm', '-f', '-v', name], { reject: false, timeout: 60_000, stdio: 'ignore' });
    untrack(name);
  },
};
