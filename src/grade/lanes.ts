import { runScenarios } from '../cucumber/run.js';
import type { RunRequest, ScenarioRun } from '../cucumber/parameters.js';
import type { ScenarioDef } from '../lab/types.js';
import { Budget } from './budget.js';

/**
 * Runs the scenarios, up to `jobs` at a time (or as the shared budget allows): one cucumber run
 * per scenario; then each @serial scenario alone, as it disturbs what all the others share.
 * With one job and no shared budget, a single cucumber run takes them all in the lab's order.
 */
export async function runInLanes(
  req: Omit<RunRequest, 'only'>,
  scenarios: ScenarioDef[],
  jobs: number,
  all: boolean,
  budget?: Budget,
): Promise<ScenarioRun[]> {
  if (!budget && (jobs <= 1 || scenarios.length <= 1))
    return (await runScenarios({ ...req, ...(all ? {} : { only: scenarios }) })).runs;
  const slots = budget ?? new Budget(jobs);
  const one = async (s: ScenarioDef) => (await slots.run(() => runScenarios({ ...req, only: [s] }))).runs;
  const runs = (await Promise.all(scenarios.filter((s) => !s.serial).map(one))).flat();
  for (const s of scenarios.filter((x) => x.serial)) runs.push(...(await one(s)));
  return runs;
}
