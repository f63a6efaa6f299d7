/** A machine the grader can run commands on: a sandbox container, a kind node. */
export interface ExecOptions {
  stdin?: string;
  /**
   * The command's own deadline, at the grading host's speed: a node with a pace (see below)
   * stretches it by as much. Past it the command is killed and timedOut is set.
   */
  timeoutMs?: number;
}

export interface ExecResult {
  argv: string[];
  /** Exit code, or null when killed by a signal. 124/137 with timedOut when the deadline killed it. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Output beyond the cap was dropped. */
  truncated: boolean;
  durationMs: number;
}

export interface Node {
  readonly name: string;
  /**
   * How many times slower than the grading host the node runs commands, as its runtime measured
   * it (a VM under software emulation); 1 when absent. Its exec stretches every deadline, given
   * or its default, by as much (src/env/pace.ts).
   */
  readonly pace?: number;
  /**
   * For a node with a pace: the milliseconds its machine has spent on a host CPU or waiting for
   * one since it started (a VM: its qemu's threads). A wait on the node counts that part of its
   * time at the node's pace and the rest, the node idle on its timers, as it is (src/env/pace.ts).
   * Undefined when it cannot be read.
   */
  busyMs?(): number | undefined;
  /** Runs argv on the node. A non-zero exit or a timeout is data, not an exception; a broken transport throws GraderError. */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Copies a host file or folder to nodePath on the node. */
  copyIn(hostPath: string, nodePath: string): Promise<void>;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Runs a bash script on the node. */
export function sh(node: Node, script: string, options?: ExecOptions): Promise<ExecResult> {
  return node.exec(['bash', '-c', script], options);
}

export function describeExec(r: ExecResult): string {
  const status = r.timedOut
    ? 'was stopped at its deadline'
    : r.code === null
      ? 'ended with no exit status (killed)'
      : `exited ${r.code}`;
  const tail = (s: string) => {
    const lines = s.trimEnd().split('\n');
    return lines.length > 12 ? ['…', ...lines.slice(-12)].join('\n') : lines.join('\n');
  };
  const parts = [status];
  if (r.stdout.trim()) parts.push(`stdout:\n${tail(r.stdout)}`);
  if (r.stderr.trim()) parts.push(`stderr:\n${tail(r.stderr)}`);
  if (r.truncated) parts.push("(output was cut at the grader's cap)");
  return parts.join('\n');
}
