import type { Lab, ScenarioDef } from '../lab/types.js';
import type { Diagnostics, GradeResult, Outcome, ScenarioResult, StepResult } from './model.js';

export interface ScenarioAttempt {
  outcome: Outcome;
  message: string;
  notes: string[];
  steps: StepResult[];
  durationMs: number;
  attempts: number;
  diagnostics?: Diagnostics;
}

/** A scenario's points: its full points when passed, nothing otherwise. */
export function scenarioResult(def: ScenarioDef, a: ScenarioAttempt): ScenarioResult {
  return {
    id: def.id,
    name: def.name,
    feature: def.feature,
    outcome: a.outcome,
    points: a.outcome === 'passed' ? def.points : 0,
    maxPoints: def.points,
    course: def.course,
    hidden: def.hidden,
    feedback: def.feedback,
    message: a.outcome === 'passed' ? '' : a.message,
    hint: def.hint,
    notes: a.notes,
    attempts: a.attempts,
    durationMs: a.durationMs,
    steps: a.steps,
    ...(a.diagnostics && a.outcome !== 'passed' ? { diagnostics: a.diagnostics } : {}),
  };
}

export interface ResultMeta {
  submission: { name: string; path: string };
  environment: GradeResult['environment'];
  startedAt: Date;
  finishedAt: Date;
}

/** Totals the scenarios into a grade. A scenario the run never reported is an error, never a silent zero. */
export function buildResult(lab: Lab, attempts: Map<string, ScenarioAttempt>, meta: ResultMeta): GradeResult {
  const scenarios = lab.scenarios.map((def) =>
    scenarioResult(
      def,
      attempts.get(def.id) ?? {
        outcome: 'error',
        message: 'the grader never reported this scenario (the run stopped early)',
        notes: [],
        steps: [],
        durationMs: 0,
        attempts: 0,
      },
    ),
  );
  const counts: Record<Outcome, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const s of scenarios) counts[s.outcome] += 1;
  return {
    schemaVersion: 1,
    lab: { id: lab.id, title: lab.title, chapter: lab.chapter },
    submission: meta.submission,
    score: scenarios.reduce((n, s) => n + s.points, 0),
    maxScore: scenarios.reduce((n, s) => n + s.maxPoints, 0),
    complete: counts.error === 0,
    counts,
    environment: meta.environment,
    startedAt: meta.startedAt.toISOString(),
    finishedAt: meta.finishedAt.toISOString(),
    durationMs: meta.finishedAt.getTime() - meta.startedAt.getTime(),
    scenarios,
  };
}
