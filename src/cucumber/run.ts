import path from 'node:path';
import { Writable } from 'node:stream';
import { loadSupport, runCucumber, type IRunOptions, type ISupportCodeLibrary } from '@cucumber/cucumber/api';
import { TestStepResultStatus, type Envelope, type GherkinDocument, type TestStepResult } from '@cucumber/messages';
import { STUDENT_FAULT_TYPE } from '../check/errors.js';
import type { Outcome, StepResult } from '../grade/model.js';
import { REPO_ROOT } from '../lab/load.js';
import type { Lab, ScenarioDef } from '../lab/types.js';

/** What the step definitions receive as this.parameters. JSON only. */
export interface WorldParameters {
  labDir: string;
  labId: string;
  runId: string;
  /** The submission's read-only workspace copy, or '' for a dry run. */
  submissionDir: string;
  missingFiles: string[];
  nodeImage: string;
  timeouts: { script: number; command: number; wait: number };
  /** Set for cluster labs: which cluster the scenarios run against. */
  cluster?: { provider: 'kind' | 'existing'; kubeconfig: string; context: string };
  /** The submission's name, for naming its namespace. */
  submissionName: string;
}

export interface ScenarioRun {
  id: string;
  outcome: Outcome;
  message: string;
  notes: string[];
  steps: StepResult[];
  durationMs: number;
}

export interface RunRequest {
  lab: Lab;
  world: WorldParameters;
  /** Run only these scenarios (a retry); all when absent. */
  only?: ScenarioDef[];
  dryRun?: boolean;
  allureResultsDir?: string;
  onScenario?: (run: ScenarioRun, def: ScenarioDef | undefined) => void;
}

export interface RunResult {
  runs: ScenarioRun[];
}

const STEPS_GLOB = path.join(REPO_ROOT, 'dist/steps/**/*.js');

/** Media type of the notes steps attach: what the grader observed, shown in the report. */
export const NOTE_MEDIA_TYPE = 'text/x.kgrade.note';

let supportLibrary: Promise<ISupportCodeLibrary> | undefined;

/**
 * The step definitions, loaded once per process: Node caches ES modules, so a
 * second load would import nothing and register no step.
 */
export function loadSteps(): Promise<ISupportCodeLibrary> {
  const sources = { defaultDialect: 'en', paths: [], names: [], tagExpression: '', order: 'defined' as const };
  supportLibrary ??= loadSupport({ sources, support: { importPaths: [STEPS_GLOB] } }, { cwd: REPO_ROOT, stderr: process.stderr });
  return supportLibrary;
}

const nullStream = () => new Writable({ write: (_c, _e, cb) => cb() });

function durationMs(d: { seconds: number; nanos: number }): number {
  return d.seconds * 1000 + Math.round(d.nanos / 1e6);
}

/** Classifies one step's result: a student's failure only for the student-fault exception type. */
export function classifyStep(r: TestStepResult): StepResult['status'] {
  switch (r.status) {
    case TestStepResultStatus.PASSED:
      return 'passed';
    case TestStepResultStatus.SKIPPED:
      return 'skipped';
    case TestStepResultStatus.UNDEFINED:
      return 'undefined';
    case TestStepResultStatus.AMBIGUOUS:
      return 'ambiguous';
    case TestStepResultStatus.PENDING:
      return 'pending';
    case TestStepResultStatus.FAILED:
      return r.exception?.type === STUDENT_FAULT_TYPE ? 'failed' : 'error';
    default:
      return 'error';
  }
}

/** A scenario's outcome from its steps: the first step that did not pass decides. */
export function outcomeOf(steps: StepResult[]): { outcome: Outcome; message: string } {
  const bad = steps.find((s) => s.status !== 'passed' && s.status !== 'skipped');
  if (!bad) {
    const ran = steps.some((s) => s.status === 'passed');
    return { outcome: ran || steps.length === 0 ? 'passed' : 'skipped', message: '' };
  }
  switch (bad.status) {
    case 'failed':
      return { outcome: 'failed', message: bad.message ?? '' };
    case 'undefined':
      return { outcome: 'error', message: `the lab is broken: no step definition matches "${bad.text}"` };
    case 'ambiguous':
      return { outcome: 'error', message: `the lab is broken: several step definitions match "${bad.text}"` };
    case 'pending':
      return { outcome: 'error', message: `the lab is broken: step "${bad.text}" is pending` };
    default:
      return { outcome: 'error', message: `grader error in "${bad.text}": ${bad.message ?? 'unknown error'}` };
  }
}

function stepKeywords(doc: GherkinDocument, into: Map<string, string>): void {
  const visitSteps = (steps: ReadonlyArray<{ id: string; keyword: string }>) => {
    for (const s of steps) into.set(s.id, s.keyword.trim());
  };
  const visit = (children: GherkinDocument['feature'] extends infer F ? F extends { children: infer C } ? C : never : never) => {
    for (const c of children) {
      if (c.background) visitSteps(c.background.steps);
      if (c.scenario) visitSteps(c.scenario.steps);
      if (c.rule) {
        for (const rc of c.rule.children) {
          if (rc.background) visitSteps(rc.background.steps);
          if (rc.scenario) visitSteps(rc.scenario.steps);
        }
      }
    }
  };
  if (doc.feature) visit(doc.feature.children);
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0] ?? '';
}

/**
 * Runs a lab's scenarios through cucumber's programmatic API and turns the
 * message stream into one ScenarioRun per scenario attempt.
 */
export async function runScenarios(req: RunRequest): Promise<RunResult> {
  const { lab } = req;
  const paths = req.only
    ? req.only.map((s) => `${path.join(lab.dir, s.uri)}:${s.line}`)
    : [lab.featuresDir];
  const environment = { cwd: lab.dir, stdout: nullStream(), stderr: process.stderr };
  const sources = { defaultDialect: 'en', paths, names: [], tagExpression: '', order: 'defined' as const };
  const support = await loadSteps();
  const files: Record<string, string> = {};
  const options: Record<string, unknown> = {};
  if (req.allureResultsDir) {
    files[path.join(req.allureResultsDir, '.cucumber-allure.log')] = 'allure-cucumberjs/reporter';
    options['resultsDir'] = req.allureResultsDir;
    options['labels'] = [{ pattern: [/@points:(\d+)/], name: 'points' }];
  }
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
      worldParameters: { ...req.world },
    },
    formats: { stdout: 'summary', files, publish: false, options: options as never },
  };

  const keywords = new Map<string, string>();
  const byLocation = new Map(lab.scenarios.map((s) => [`${s.uri}:${s.line}`, s]));
  const pickles = new Map<string, { uri: string; line: number; steps: Map<string, string> }>();
  const testCases = new Map<string, { pickleId: string; steps: Map<string, string> }>();
  const started = new Map<string, { testCaseId: string; steps: StepResult[]; notes: string[]; start: number }>();
  const runs: ScenarioRun[] = [];

  const onMessage = (env: Envelope) => {
    if (env.gherkinDocument) stepKeywords(env.gherkinDocument, keywords);
    else if (env.pickle) {
      const p = env.pickle;
      const steps = new Map(p.steps.map((s) => [s.id, `${keywords.get(s.astNodeIds[0] ?? '') ?? ''} ${s.text}`.trim()]));
      pickles.set(p.id, { uri: p.uri.split(path.sep).join('/'), line: p.location?.line ?? 0, steps });
    } else if (env.testCase) {
      const pickle = pickles.get(env.testCase.pickleId);
      const steps = new Map<string, string>();
      for (const ts of env.testCase.testSteps) {
        steps.set(ts.id, ts.pickleStepId ? (pickle?.steps.get(ts.pickleStepId) ?? ts.pickleStepId) : 'hook');
      }
      testCases.set(env.testCase.id, { pickleId: env.testCase.pickleId, steps });
    } else if (env.testCaseStarted) {
      started.set(env.testCaseStarted.id, { testCaseId: env.testCaseStarted.testCaseId, steps: [], notes: [], start: Date.now() });
    } else if (env.testStepFinished) {
      const st = started.get(env.testStepFinished.testCaseStartedId);
      const tc = st && testCases.get(st.testCaseId);
      if (!st || !tc) return;
      const r = env.testStepFinished.testStepResult;
      const text = tc.steps.get(env.testStepFinished.testStepId) ?? 'step';
      const status = classifyStep(r);
      if (text === 'hook' && status === 'passed') return;
      const message = r.exception?.message ?? firstLine(r.message);
      st.steps.push({
        text: text === 'hook' ? 'a setup or cleanup hook' : text,
        status,
        durationMs: durationMs(r.duration),
        ...(status !== 'passed' && status !== 'skipped' && message ? { message } : {}),
      });
    } else if (env.attachment?.testCaseStartedId && env.attachment.mediaType === NOTE_MEDIA_TYPE) {
      started.get(env.attachment.testCaseStartedId)?.notes.push(env.attachment.body);
    } else if (env.testCaseFinished) {
      const st = started.get(env.testCaseFinished.testCaseStartedId);
      const tc = st && testCases.get(st.testCaseId);
      const pickle = tc && pickles.get(tc.pickleId);
      if (!st || !pickle) return;
      const def = byLocation.get(`${pickle.uri}:${pickle.line}`);
      const { outcome, message } = outcomeOf(st.steps);
      const run: ScenarioRun = {
        id: def?.id ?? `${pickle.uri}:${pickle.line}`,
        outcome: req.dryRun && outcome === 'skipped' ? 'passed' : outcome,
        message,
        notes: st.notes,
        steps: st.steps,
        durationMs: Date.now() - st.start,
      };
      runs.push(run);
      req.onScenario?.(run, def);
    }
  };

  await runCucumber(runOptions, environment, onMessage);
  return { runs };
}
