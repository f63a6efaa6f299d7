import path from 'node:path';
import { environmentOf, type EnvironmentParameters } from '../env/environments/index.js';
import { mergeShards } from './merge.js';
import { Progress } from './progress.js';
import { runBatch, type BatchOutcome, type BatchPlan } from './run.js';
import { formatShard } from './shard.js';

/** The batch and merge commands' wiring: what src/cli/verbs/batch.ts and merge.ts call, and what they print. */

export { parseShard } from './shard.js';
export { planBatch } from './run.js';

function shown(dir: string): string {
  return path.relative(process.cwd(), dir) || '.';
}

/** The closing lines on stderr: the totals, then every student without a final grade and why. */
function summarize(outcome: BatchOutcome, out: string, log: (line: string) => void): void {
  log(`kgrade: ${outcome.graded.length} of ${outcome.students.length} student(s) graded; results in ${shown(out)}`);
  const without = [
    ...outcome.errors.map((e) => `  ${e.id}: ${e.reason}`),
    ...outcome.missing.map((id) => `  ${id}: no result`),
  ];
  if (without.length)
    log(
      `kgrade: ${without.length} student(s) without a final grade (run kgrade batch again to retry them):\n${without.join('\n')}`,
    );
}

export async function gradeClass(
  plan: BatchPlan,
  opts: {
    environment: EnvironmentParameters;
    jobs: number;
    regrade: boolean;
    log: (line: string) => void;
  },
): Promise<BatchOutcome> {
  const provenance = await environmentOf(opts.environment).provenance(opts.environment);
  const shard = plan.shard ? `, shard ${formatShard(plan.shard)} of a roster of ${plan.rosterSize}` : '';
  opts.log(
    `kgrade: batch of ${plan.students.length} student(s)${shard} against ${plan.lab.id} (${plan.lab.maxScore} points), ${opts.jobs} at a time, in ${provenance}`,
  );
  if (plan.ignored.length)
    opts.log(`kgrade: not a submission (no folder, .zip or .tar.gz), not graded: ${plan.ignored.join(', ')}`);
  const tty = process.stdout.isTTY === true;
  const progress = new Progress({ tty, out: process.stdout, total: plan.students.length });
  const outcome = await runBatch(plan, { ...opts, provenance, progress });
  summarize(outcome, plan.out, opts.log);
  return outcome;
}

export async function mergeClass(out: string, shards: string[], log: (line: string) => void): Promise<BatchOutcome> {
  const outcome = await mergeShards(out, shards);
  summarize(outcome, out, log);
  return outcome;
}
