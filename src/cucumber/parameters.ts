import type { Isolation } from '../env/sandbox/index.js';
import type { Diagnostics, Outcome, StepResult } from '../grade/model.js';
import type { Fixture, Lab, ScenarioDef } from '../lab/types.js';

/** What the step definitions receive as this.parameters. JSON only. */
export interface WorldParameters {
  labDir: string;
  labId: string;
  runId: string;
  /** The submission's read-only workspace copy, or '' for a dry run. */
  submissionDir: string;
  missingFiles: string[];
  nodeImage: string;
  /** Sandbox labs: how each scenario's sandbox is kept from the host. */
  isolation: Isolation;
  /** Sandbox labs: the cgroup version the lab's kernel pin asks for (a vm sandbox boots it; the others have the host's). */
  cgroup?: 'v1' | 'v2';
  /** Sandbox labs: how many scenarios run at once (--jobs): a runtime that starts slowly may start that many ahead. */
  jobs?: number;
  timeouts: { script: number; command: number; wait: number };
  /** Cluster labs: what the lab can start in a scenario's namespace (lab.yaml fixtures:). */
  fixtures: Fixture[];
  /** Cluster labs: what the lab lets its submissions make (lab.yaml allow:). */
  allow?: { nodePorts?: boolean; loadBalancers?: boolean };
  /** Set for cluster labs: which cluster the scenarios run against. */
  cluster?: { provider: 'kind' | 'existing'; kubeconfig: string; context: string };
  /** The submission's name, for naming its namespace. */
  submissionName: string;
}

/** One scenario attempt as the grade sees it. */
export interface ScenarioRun {
  id: string;
  outcome: Outcome;
  message: string;
  notes: string[];
  steps: StepResult[];
  durationMs: number;
  /** What the grader read around a scenario that did not pass (attached as DIAGNOSTICS_MEDIA_TYPE). */
  diagnostics?: Diagnostics;
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

/** Media type of the notes steps attach: what the grader observed, shown in the report. */
export const NOTE_MEDIA_TYPE = 'text/x.kgrade.note';

/** Media type of the diagnostics the world attaches, as JSON, when a scenario did not pass. */
export const DIAGNOSTICS_MEDIA_TYPE = 'application/vnd.kgrade.diagnostics+json';
