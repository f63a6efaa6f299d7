import { GraderError } from '../check/errors.js';
import { docker, dockerOk } from './docker.js';
import type { ExecOptions, ExecResult, Node } from './node.js';

const DEFAULT_TIMEOUT_MS = 30_000;

/** A node that is a running container: a sandbox or a kind node. Commands run with docker exec. */
export class ContainerNode implements Node {
  constructor(readonly name: string) {}

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const args = ['exec', ...(options.stdin !== undefined ? ['-i'] : []), this.name, 'timeout', '-k', '3', String(seconds), ...argv];
    const r = await docker(args, { timeoutMs: timeoutMs + 30_000, ...(options.stdin !== undefined ? { input: options.stdin } : {}) });
    if ((r.code === 126 || r.code === 127) && /OCI runtime exec failed|executable file not found|No such container|is not running/i.test(r.stderr)) {
      throw new GraderError(`cannot run ${argv[0]} on node ${this.name}: ${r.stderr.trim()}`);
    }
    if (r.code === 1 && /^Error response from daemon/m.test(r.stderr)) {
      throw new GraderError(`node ${this.name} is gone: ${r.stderr.trim()}`);
    }
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

  async copyIn(hostPath: string, nodePath: string): Promise<void> {
    await dockerOk(['cp', hostPath, `${this.name}:${nodePath}`], `copying ${hostPath} onto node ${this.name}`, { timeoutMs: 120_000 });
  }
}
