import { runScenarios } from '../cucumber/run.js';
import type { RunRequest, ScenarioRun } from '../cucumber/parameters.js';
import type { ScenarioDef } from '../lab/types.js';

/**
 * Runs the scenarios, up to `jobs` at a time: one cucumber run per scenario, each lane taking
 * the next one when its last is done; then each @serial scenario alone, as it disturbs what all
 * the others share. With one job, a single cucumber run takes them all in the lab's order.
 */
export async function runInLanes(req: Omit<RunRequest, 'only'>, scenarios: ScenarioDef[], jobs: number, all: boolean): Promise<ScenarioRun[]> {
  if (jobs <= 1 || scenarios.length <= 1) return (await runScenarios({ ...req, ...(all ? {} : { only: scenarios }) })).runs;
  const queue = scenarios.filter((s) => !s.serial);
  const runs: ScenarioRun[] = [];
  const lane = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) runs.push(...(await runScenarios({ ...req, only: [s] })).runs);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, lane));
  for (const s of scenarios.filter((x) => x.serial)) runs.push(...(await runScenarios({ ...req, only: [s] })).runs);
  return runs;
}

