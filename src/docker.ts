import { execa } from './vendor/execa.js';
import { dockerCommand } from './config.js';
import { GraderError } from './errors.js';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

const OUTPUT_CAP = 1024 * 1024;

/** The docker CLI that every call here runs: KGRADE_DOCKER, read by config.ts. */
export function dockerBinary(): string {
  return dockerCommand();
}

/**
 * Runs the docker CLI. Never throws for a non-zero exit; throws GraderError when
 * the CLI cannot be started or the daemon does not answer within the deadline.
 */
export async function docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<DockerResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const r = await execa(dockerBinary(), args, {
    reject: false,
    timeout: timeoutMs,
    maxBuffer: OUTPUT_CAP,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  const durationMs = Date.now() - started;
  if (r.failed && r.exitCode === undefined && !r.timedOut && !r.isMaxBuffer) {
    throw new GraderError(`cannot run "${dockerBinary()} ${args[0] ?? ''}": ${r.shortMessage}`);
  }
  if (r.timedOut) {
    throw new GraderError(
      `"docker ${args.slice(0, 3).join(' ')} …" did not answer within ${Math.round(timeoutMs / 1000)} s: is dockerd healthy?`,
    );
  }
  const stderr = String(r.stderr ?? '');
  if (/Cannot connect to the Docker daemon|error during connect/i.test(stderr)) {
    throw new GraderError(`the Docker daemon is not reachable: ${stderr.trim()} (run scripts/setup-docker.sh)`);
  }
  return {
    code: r.exitCode ?? -1,
    stdout: String(r.stdout ?? ''),
    stderr,
    timedOut: false,
    truncated: Boolean(r.isMaxBuffer),
    durationMs,
  };
}

/** Like docker(), but a non-zero exit is a GraderError naming what was attempted. */
export async function dockerOk(
  args: string[],
  what: string,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await docker(args, opts);
  if (r.code !== 0)
    throw new GraderError(`${what} failed (docker ${args[0]} exited ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
