import { GraderError } from '../check/errors.js';
import { docker, dockerOk } from './docker.js';
import { ContainerNode } from './container-node.js';
import { track, untrack } from './reaper.js';

export interface SandboxOptions {
  image: string;
  runId: string;
  /** Shown in `docker ps`: the lab and the scenario it serves. */
  purpose: string;
}

/** Limits that keep a runaway submission (fork bomb, memory hog) inside its sandbox. */
const LIMITS = ['--memory', '2g', '--memory-swap', '2g', '--pids-limit', '4096', '--cpus', '1.5'];

/**
 * The node's PID 1: a bash loop. It reaps orphans (the submission's background
 * servers) and, being PID 1, is the one process `kill -9 -1` cannot reach, so a
 * submission that kills everything still leaves the node standing. (tini would
 * exit with its child.)
 */
const INIT = ['bash', '-c', 'while :; do sleep 2147483647 & wait $!; done'];

/**
 * Gives the node an eth0 like a real node's: a veth whose peer sits on a bridge
 * in the namespace kgrade-lan, where test hosts are plugged in too. The container
 * itself has no network (--network none): nothing reaches past the sandbox.
 */
const NODE_NETWORK = `set -e
ip link set lo up
ip netns add kgrade-lan
ip -n kgrade-lan link set lo up
ip -n kgrade-lan link add br0 type bridge
ip -n kgrade-lan link set br0 up
ip link add eth0 type veth peer name node0 netns kgrade-lan
ip -n kgrade-lan link set node0 master br0 up
ip link set eth0 up
`;


let counter = 0;

/** A disposable privileged container standing in for a cluster node. */
export class SandboxNode extends ContainerNode {
  private constructor(name: string, readonly image: string) {
    super(name);
  }

  static async start(opts: SandboxOptions): Promise<SandboxNode> {
    counter += 1;
    const name = `kgrade-${opts.runId}-${counter}`;
    track(name);
    const r = await docker(
      [
        'run', '-d', '--name', name,
        '--label', 'kgrade=sandbox',
        '--label', `kgrade.run=${opts.runId}`,
        '--label', `kgrade.owner-pid=${process.pid}`,
        '--label', `kgrade.purpose=${opts.purpose.slice(0, 200)}`,
        '--privileged', '--cgroupns=private', '--network', 'none', '--hostname', 'node',
        '--tmpfs', '/tmp:rw,exec,size=256m', '--tmpfs', '/run:rw,exec,size=64m',
        // The grader's own files on the node (a script's exit status, its runner's PID, shells).
        '--tmpfs', '/run/kgrade:rw,exec,size=16m',
        // Submission scripts' output, apart: a script printing without end fills this one, not the
        // space the grader needs to record that the script was stopped.
        '--tmpfs', '/run/kgrade/output:rw,exec,size=32m',
        ...LIMITS,
        opts.image, ...INIT,
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
    const node = new SandboxNode(name, opts.image);
    const net = await node.exec(['bash', '-c', NODE_NETWORK]);
    if (net.code !== 0) {
      await node.destroy();
      throw new GraderError(`could not give the sandbox its eth0: ${net.stderr.trim()}`);
    }
    return node;
  }

  /** Removal also removes every cgroup made inside the sandbox: they live under the container's own. */
  async destroy(): Promise<void> {
    await dockerOk(['rm', '-f', '-v', this.name], `removing sandbox ${this.name}`, { timeoutMs: 120_000 });
    untrack(this.name);
  }
}
