import { GraderError, SubmissionAssertionError } from '../errors.js';
import { docker, dockerOk } from '../docker.js';
import type { ExecOptions, ExecResult, Node } from '../node.js';

const DEFAULT_TIMEOUT_MS = 30_000;

/** A node that is a running container: a sandbox or a kind node. Commands run with docker exec. */
export class ContainerNode implements Node {
  constructor(readonly name: string) {}

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const args = [
      'exec',
      ...(options.stdin !== undefined ? ['-i'] : []),
      this.name,
      'timeout',
      '-k',
      '3',
      String(seconds),
      ...argv,
    ];
    const r = await docker(args, {
      timeoutMs: timeoutMs + 30_000,
      ...(options.stdin !== undefined ? { input: options.stdin } : {}),
    });
    if (
      (r.code === 126 || r.code === 127) &&
      /OCI runtime exec failed|executable file not found|No such container|is not running/i.test(r.stderr)
    ) {
      throw new GraderError(`cannot run ${argv[0]} on node ${this.name}: ${r.stderr.trim()}`);
    }
    if (r.code === 1 && /^Error response from daemon/m.test(r.stderr)) {
      throw new GraderError(`node ${this.name} is gone: ${r.stderr.trim()}`);
    }
    // Killed by a signal: the command's own fate (an OOM kill in a cgroup, a deadline), or the node's,
    // when dockerd stops or the container goes away under it. Only the first is the command's result.
    if (r.code >= 128) await this.assertStillRunning(argv);
    return {
      argv,
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      timedOut: r.code === 124 || (r.code === 137 && r.durationMs >= seconds * 1000),
      truncated: r.truncated,
      durationMs: r.durationMs,
    };
  }

  private async assertStillRunning(argv: string[]): Promise<void> {
    // docker() itself throws a GraderError when the daemon does not answer.
    const r = await docker(['inspect', '--format', '{{.State.Status}} {{.State.OOMKilled}}', this.name], {
      timeoutMs: 30_000,
    });
    if (r.code !== 0) throw new GraderError(`node ${this.name} went away while it ran ${argv[0]}: ${r.stderr.trim()}`);
    const [status = '', oom = ''] = r.stdout.trim().split(' ');
    if (status === 'running') return;
    if (oom === 'true') {
      throw new SubmissionAssertionError(
        `node ${this.name} ran out of memory and stopped while it ran ${argv[0]}: something on it used all the memory the node has`,
      );
    }
    throw new GraderError(`node ${this.name} stopped (${status}) while it ran ${argv[0]}`);
  }

  async copyIn(hostPath: string, nodePath: string): Promise<void> {
    await dockerOk(['cp', hostPath, `${this.name}:${nodePath}`], `copying ${hostPath} onto node ${this.name}`, {
      timeoutMs: 120_000,
    });
  }
}
