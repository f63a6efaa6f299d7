import { randomBytes } from 'node:crypto';
import type { ScenarioRun, WorldParameters } from '../cucumber/parameters.js';
import { environmentOf, type EnvironmentParameters } from '../env/environments/index.js';
import { finishNamespaceDeletions } from '../kube/namespace.js';
import { releaseSubmission, takeSubmission } from '../lab/submission.js';
import type { Lab, ScenarioDef } from '../lab/types.js';
import type { GradeResult } from './model.js';
import type { Budget } from './budget.js';
import { runInLanes } from './lanes.js';
import { buildResult, type ScenarioAttempt } from './score.js';
import { trace } from '../trace.js';

export interface GradeOptions {
  /** Where the scenarios run (prepared: src/env/environments/). */
  environment: EnvironmentParameters;
  /** How many scenarios run at once (default 1). Each has its own sandbox or namespace. */
  jobs?: number;
  /** Shared with other grades of this process (a batch): bounds their scenarios together. */
  budget?: Budget;
  allureResultsDir?: string;
  log?: (line: string) => void;
  /** Runs these scenarios only; the result then holds just them (verify's repeat rounds). */
  only?: ScenarioDef[];
}

export interface Graded {
  result: GradeResult;
}

const MARK: Record<string, string> = { passed: 'ok   ', failed: 'FAIL ', error: 'ERROR', skipped: 'skip ' };

function toAttempt(run: ScenarioRun, attempts: number): ScenarioAttempt {
  return {
    outcome: run.outcome,
    message: run.message,
    notes: run.notes,
    steps: run.steps,
    durationMs: run.durationMs,
    attempts,
    ...(run.diagnostics ? { diagnostics: run.diagnostics } : {}),
  };
}

/**
 * Grades one submission: takes a private copy, runs every scenario in fresh
 * sandboxes, runs each errored scenario once more, and totals the points.
 */
export async function gradeSubmission(lab: Lab, submissionDir: string, opts: GradeOptions): Promise<Graded> {
  const log = opts.log ?? (() => undefined);
  const startedAt = new Date();
  const jobs = Math.max(1, opts.jobs ?? 1);
  const gradedIn = await environmentOf(opts.environment).describe(opts.environment);
  const sub = await takeSubmission(lab, submissionDir);
  trace('submission copied');
  const meta = (finishedAt: Date) => ({
    submission: { name: sub.name, path: sub.source },
    environment: gradedIn,
    startedAt,
    finishedAt,
  });
  const attempts = new Map<string, ScenarioAttempt>();
  const selected = opts.only ?? lab.scenarios;
  const graded = opts.only ? { ...lab, scenarios: opts.only } : lab;
  try {
    if (sub.rejected) {
      log(`  ${sub.rejected}`);
      for (const s of selected) {
        attempts.set(s.id, {
          outcome: s.course ? 'skipped' : 'failed',
          message: sub.rejected,
          notes: [],
          steps: [],
          durationMs: 0,
          attempts: 1,
        });
      }
      return { result: buildResult(graded, attempts, meta(new Date())) };
    }
    if (sub.missing.length) log(`  missing from the submission: ${sub.missing.join(', ')}`);
    const world: WorldParameters = {
      labDir: lab.dir,
      labId: lab.id,
      runId: randomBytes(3).toString('hex'),
      submissionDir: `${sub.workspace}/files`,
      submissionName: sub.name,
      missingFiles: sub.missing,
      // a runtime that starts slowly may start as many sandboxes ahead as scenarios run at once
      environment: opts.environment.kind === 'sandbox' ? { ...opts.environment, ahead: jobs } : opts.environment,
      fixtures: lab.fixtures,
      ...(lab.allow ? { allow: lab.allow } : {}),
      timeouts: { script: lab.timeouts.script, command: lab.timeouts.command, wait: lab.timeouts.wait },
    };
    let done = 0;
    const total = selected.length;
    const onScenario = (run: ScenarioRun, def: ScenarioDef | undefined) => {
      done += 1;
      const pts = def && !def.course ? ` ${run.outcome === 'passed' ? def.points : 0}/${def.points}` : ' (course)';
      log(
        `  [${done}/${total}] ${MARK[run.outcome] ?? run.outcome} ${def?.name ?? run.id}${pts} ${(run.durationMs / 1000).toFixed(1)}s`,
      );
    };
    const allure = opts.allureResultsDir ? { allureResultsDir: opts.allureResultsDir } : {};
    const first = await runInLanes({ lab, world, ...allure, onScenario }, selected, jobs, !opts.only, opts.budget);
    trace('scenarios run');
    for (const run of first) attempts.set(run.id, toAttempt(run, 1));
    const errored = selected.filter((s) => attempts.get(s.id)?.outcome === 'error' || !attempts.has(s.id));
    if (errored.length) {
      log(`  retrying ${errored.length} scenario(s) that ended in a grader error`);
      done = 0;
      const onRetry = (run: ScenarioRun, def: ScenarioDef | undefined) => {
        done += 1;
        log(`  [retry ${done}/${errored.length}] ${MARK[run.outcome] ?? run.outcome} ${def?.name ?? run.id}`);
      };
      const second = await runInLanes(
        { lab, world: { ...world, runId: randomBytes(3).toString('hex') }, ...allure, onScenario: onRetry },
        errored,
        jobs,
        false,
        opts.budget,
      );
      for (const run of second) {
        const before = attempts.get(run.id);
        const attempt = toAttempt(run, 2);
        if (before && run.outcome === 'error') attempt.notes = [...attempt.notes, `first attempt: ${before.message}`];
        attempts.set(run.id, attempt);
      }
    }
    return { result: buildResult(graded, attempts, meta(new Date())) };
  } finally {
    await releaseSubmission(sub);
    // Cluster labs: the scenarios' namespaces are deleted in the background; none may outlive the grade.
    await finishNamespaceDeletions();
  }
}
