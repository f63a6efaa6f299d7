import path from 'node:path';
import type {
  Attachment,
  Duration,
  Envelope,
  FeatureChild,
  GherkinDocument,
  Pickle,
  RuleChild,
  Step,
  TestCase,
  TestCaseFinished,
  TestCaseStarted,
  TestStepFinished,
} from '@cucumber/messages';
import { parseDiagnostics } from '../grade/diagnostics.js';
import type { Diagnostics, StepResult } from '../grade/model.js';
import type { ScenarioDef } from '../lab/types.js';
import { classifyStep, outcomeOf } from './outcome.js';
import { DIAGNOSTICS_MEDIA_TYPE, NOTE_MEDIA_TYPE, type ScenarioRun } from './parameters.js';

export interface CollectorOptions {
  /** In a dry run every step is skipped: a scenario with nothing wrong counts as passed. */
  dryRun?: boolean;
  /** Called as each scenario attempt finishes, with the lab's definition of it when known. */
  onScenario?: (run: ScenarioRun, def: ScenarioDef | undefined) => void;
  /** The clock a scenario's duration is measured with; Date.now by default. */
  now?: () => number;
}

interface PickleSeen {
  /** The feature file, '/'-separated, relative to the lab. */
  uri: string;
  line: number;
  /** Pickle step id -> "Keyword text", as a report shows it. */
  texts: Map<string, string>;
}

interface TestStepSeen {
  text: string;
  hook: boolean;
}

interface TestCaseSeen {
  pickleId: string;
  steps: Map<string, TestStepSeen>;
}

interface AttemptSeen {
  testCaseId: string;
  steps: StepResult[];
  notes: string[];
  diagnostics?: Diagnostics;
  start: number;
}

function durationMs(d: Duration): number {
  return d.seconds * 1000 + Math.round(d.nanos / 1e6);
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0] ?? '';
}

/**
 * Turns cucumber's message stream into one ScenarioRun per scenario attempt:
 * parseEnvelope hands each message to the method for its kind, which stores
 * what a later message needs (keywords, pickles, test cases, attempts).
 */
export class ScenarioCollector {
  readonly runs: ScenarioRun[] = [];
  private readonly byLocation: Map<string, ScenarioDef>;
  /** Gherkin step id -> its keyword ("Given", "And", ...). */
  private readonly keywords = new Map<string, string>();
  private readonly pickles = new Map<string, PickleSeen>();
  private readonly testCases = new Map<string, TestCaseSeen>();
  /** Test case started id -> the attempt so far. */
  private readonly attempts = new Map<string, AttemptSeen>();
  private readonly now: () => number;

  constructor(
    scenarios: readonly ScenarioDef[],
    private readonly options: CollectorOptions = {},
  ) {
    this.byLocation = new Map(scenarios.map((s) => [`${s.uri}:${s.line}`, s]));
    this.now = options.now ?? Date.now;
  }

  parseEnvelope(env: Envelope): void {
    if (env.gherkinDocument) this.storeGherkinDocument(env.gherkinDocument);
    else if (env.pickle) this.storePickle(env.pickle);
    else if (env.testCase) this.storeTestCase(env.testCase);
    else if (env.testCaseStarted) this.storeTestCaseStarted(env.testCaseStarted);
    else if (env.testStepFinished) this.storeTestStepFinished(env.testStepFinished);
    else if (env.attachment) this.storeAttachment(env.attachment);
    else if (env.testCaseFinished) this.storeTestCaseFinished(env.testCaseFinished);
  }

  private storeGherkinDocument(doc: GherkinDocument): void {
    const visitSteps = (steps: readonly Step[]) => {
      for (const s of steps) this.keywords.set(s.id, s.keyword.trim());
    };
    const visit = (children: readonly (FeatureChild | RuleChild)[]) => {
      for (const c of children) {
        if (c.background) visitSteps(c.background.steps);
        if (c.scenario) visitSteps(c.scenario.steps);
        if ('rule' in c && c.rule) visit(c.rule.children);
      }
    };
    visit(doc.feature?.children ?? []);
  }

  private storePickle(p: Pickle): void {
    const texts = new Map(
      p.steps.map((s) => [s.id, `${this.keywords.get(s.astNodeIds[0] ?? '') ?? ''} ${s.text}`.trim()]),
    );
    this.pickles.set(p.id, { uri: p.uri.split(path.sep).join('/'), line: p.location?.line ?? 0, texts });
  }

  private storeTestCase(tc: TestCase): void {
    const pickle = this.pickles.get(tc.pickleId);
    const steps = new Map<string, TestStepSeen>();
    for (const ts of tc.testSteps) {
      steps.set(
        ts.id,
        ts.pickleStepId
          ? { text: pickle?.texts.get(ts.pickleStepId) ?? ts.pickleStepId, hook: false }
          : { text: 'a setup or cleanup hook', hook: true },
      );
    }
    this.testCases.set(tc.id, { pickleId: tc.pickleId, steps });
  }

  private storeTestCaseStarted(started: TestCaseStarted): void {
    this.attempts.set(started.id, { testCaseId: started.testCaseId, steps: [], notes: [], start: this.now() });
  }

  private storeTestStepFinished(finished: TestStepFinished): void {
    const attempt = this.attempts.get(finished.testCaseStartedId);
    const tc = attempt && this.testCases.get(attempt.testCaseId);
    if (!attempt || !tc) return;
    const r = finished.testStepResult;
    const step = tc.steps.get(finished.testStepId) ?? { text: 'step', hook: false };
    const status = classifyStep(r);
    if (step.hook && status === 'passed') return;
    const message = r.exception?.message ?? firstLine(r.message);
    attempt.steps.push({
      text: step.text,
      status,
      durationMs: durationMs(r.duration),
      ...(status !== 'passed' && status !== 'skipped' && message ? { message } : {}),
    });
  }

  private storeAttachment(a: Attachment): void {
    const attempt = a.testCaseStartedId ? this.attempts.get(a.testCaseStartedId) : undefined;
    if (!attempt) return;
    if (a.mediaType === NOTE_MEDIA_TYPE) attempt.notes.push(a.body);
    else if (a.mediaType === DIAGNOSTICS_MEDIA_TYPE) attempt.diagnostics = parseDiagnostics(a.body);
  }

  private storeTestCaseFinished(finished: TestCaseFinished): void {
    const attempt = this.attempts.get(finished.testCaseStartedId);
    const tc = attempt && this.testCases.get(attempt.testCaseId);
    const pickle = tc && this.pickles.get(tc.pickleId);
    if (!attempt || !pickle) return;
    const def = this.byLocation.get(`${pickle.uri}:${pickle.line}`);
    const { outcome, message } = outcomeOf(attempt.steps);
    const run: ScenarioRun = {
      id: def?.id ?? `${pickle.uri}:${pickle.line}`,
      outcome: this.options.dryRun && outcome === 'skipped' ? 'passed' : outcome,
      message,
      notes: attempt.notes,
      steps: attempt.steps,
      durationMs: this.now() - attempt.start,
      ...(attempt.diagnostics ? { diagnostics: attempt.diagnostics } : {}),
    };
    this.runs.push(run);
    this.options.onScenario?.(run, def);
  }
}
