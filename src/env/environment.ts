import type { Lab, LabFile, ScenarioDef } from '../lab/types.js';
import type { ClusterChoice } from './cluster/select.js';
import type { Node } from '../node.js';
import type { Isolation } from './sandbox/index.js';

/**
 * One kind of environment a lab runs in (lab.yaml's `environment`), in the manner of kind's
 * Provider: what grading needs before the scenarios, the world's parameters for a lab, where a
 * grade ran (for results.json and a batch's provenance), and the nodes a scenario's steps run
 * commands on. Each kind is a module of src/env/environments/ with its entry in ENVIRONMENTS there.
 */
export interface Environment<P extends { kind: string }> {
  readonly kind: P['kind'];
  /** What lab.yaml and the scenarios of a lab of this kind must not say (fields of another kind): one line each. */
  labProblems(file: LabFile, scenarios: readonly ScenarioDef[]): string[];
  /**
   * Gets ready what the labs' scenarios run on (the node image; the cluster, brought up): every
   * lab given is of this kind. Returns each lab's parameters, which travel to the steps as JSON.
   */
  prepare(labs: readonly Lab[], how: PrepareOptions): Promise<(lab: Lab) => P>;
  /** Where a submission was graded: results.json's environment. */
  describe(params: P): Promise<GradedIn>;
  /** Where a batch grades, in one line: its log and each result's provenance (batch/records.ts). */
  provenance(params: P): Promise<string>;
  /** A few words for the log line that starts a grade: the node image, the cluster's context. */
  where(params: P): string;
  /**
   * A node of the scenario, made or reached on first use and given back by dispose() after it:
   * without a name the scenario's own (a fresh sandbox holding the submission, a cluster's
   * first node); with a name, that node of the cluster (a LabError where there is none).
   */
  node(params: P, scenario: ScenarioContext, name?: string): Promise<ScenarioNode>;
}

/** What the command line chose; each kind reads its part, and only when one of its labs is graded. */
export interface PrepareOptions {
  /** Sandbox labs: the runtime chosen for the labs' kernel pins (--isolation, or the pin's). */
  isolation: Isolation;
  /** Cluster labs: which cluster (the cluster options, checked when read). */
  cluster: () => ClusterChoice;
  /** Build a missing image rather than fail (not --no-build). */
  build: boolean;
  log: (line: string) => void;
}

/** results.json's environment (grade/model.ts): the sandbox's runtime and cgroup version for sandbox labs. */
export interface GradedIn {
  provider: string;
  image: string;
  kernel: string;
  isolation?: Isolation;
  cgroup?: 'v1' | 'v2';
}

/** The scenario a node is for. */
export interface ScenarioContext {
  runId: string;
  labId: string;
  /** The submission's read-only workspace copy, copied into a sandbox; '' for none. */
  submissionDir: string;
}

/** A node a scenario holds. */
export interface ScenarioNode {
  node: Node;
  /** Gives the node back after the scenario: a sandbox is removed, a cluster node's helper pod deleted. */
  dispose(): Promise<void>;
}
