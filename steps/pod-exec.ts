import { fail, GraderError } from '../src/errors.js';
import { describeExec, type ExecResult } from '../src/node.js';
import { execInPod } from '../src/kube/pods.js';
import type { KgradeWorld } from './world.js';

/*
 * Every step that runs a command in a pod of the scenario's namespace runs it here, with the
 * lab's command deadline (timeouts.command) and one set of rules for who pays:
 * - the API server refusing the exec (no such pod or container, no shell) is the student's
 *   failure, an API server that does not answer the grader's error (execInPod);
 * - a command the lab chose that does not finish by the deadline is the grader's error, unless
 *   the step judges the hang itself (`hang: 'result'`: the command is the student's, or the
 *   step waits for an answer and asks again);
 * - a non-zero exit is data for the step, or the student's failure through podOutput.
 */

export interface PodExec {
  /** The container; the pod's first when left out. */
  container?: string;
  /** The command in words, for messages; argv joined by spaces when left out. */
  what?: string;
  /** 'grader' (default): past the deadline is the grader's error; 'result': returned, timedOut set. */
  hang?: 'grader' | 'result';
}

export async function runInPod(
  world: KgradeWorld,
  pod: string,
  argv: string[],
  opts: PodExec = {},
): Promise<ExecResult> {
  const ns = await world.namespace();
  const r = await execInPod(world.admin(), ns.name, pod, opts.container, argv, world.timeouts.command * 1000);
  if (r.timedOut && opts.hang !== 'result')
    throw new GraderError(
      `${opts.what ?? argv.join(' ')} in pod ${pod} did not finish within ${world.timeouts.command} s: ${describeExec(r)}`,
    );
  return r;
}

/** The command's output; a non-zero exit is the student's failure, shown with what it printed. */
export async function podOutput(world: KgradeWorld, pod: string, argv: string[], opts: PodExec = {}): Promise<string> {
  const r = await runInPod(world, pod, argv, { ...opts, hang: 'grader' });
  if (r.code !== 0)
    fail(
      `${opts.what ?? argv.join(' ')} in pod ${pod} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
    );
  return r.stdout;
}
