import path from 'node:path';
import { Writable } from 'node:stream';
import { runCucumber, type IRunOptions } from '@cucumber/cucumber/api';
import { allureFormats } from './allure.js';
import { ScenarioCollector } from './collector.js';
import type { RunRequest, RunResult } from './parameters.js';
import { loadSteps } from './steps.js';
import { trace } from '../trace.js';

const nullStream = () => new Writable({ write: (_c, _e, cb) => cb() });

/**
 * Runs a lab's scenarios through cucumber's programmatic API and turns the
 * message stream into one ScenarioRun per scenario attempt.
 */
export async function runScenarios(req: RunRequest): Promise<RunResult> {
  const { lab } = req;
  const paths = req.only ? req.only.map((s) => `${path.join(lab.dir, s.uri)}:${s.line}`) : [lab.featuresDir];
  const environment = { cwd: lab.dir, stdout: nullStream(), stderr: process.stderr };
  const sources = { defaultDialect: 'en', paths, names: [], tagExpression: '', order: 'defined' as const };
  const support = await loadSteps();
  trace('step definitions loaded');
  const runOptions: IRunOptions = {
    sources,
    support,
    runtime: {
      dryRun: req.dryRun ?? false,
      failFast: false,
      filterStacktraces: true,
      parallel: 0,
      retry: 0,
      retryTagFilter: '',
      strict: true,
      worldParameters: req.world ? { ...req.world } : {},
    },
    formats: { stdout: 'summary', publish: false, ...allureFormats(req.allureResultsDir) },
  };
  const collector = new ScenarioCollector(lab.scenarios, { dryRun: req.dryRun, onScenario: req.onScenario });
  await runCucumber(runOptions, environment, (env) => collector.parseEnvelope(env));
  return { runs: collector.runs };
}
