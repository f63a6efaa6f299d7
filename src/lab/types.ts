import type { Feedback } from '../grade/model.js';
import type { EnvironmentKind } from '../env/environments/index.js';

export const FEEDBACK_LEVELS = ['full', 'message', 'hidden'] as const satisfies readonly Feedback[];

/** lab.yaml as schemas/lab.schema.json describes it, after defaults are filled in. */
export interface LabFile {
  id: string;
  title: string;
  chapter: number;
  description?: string;
  environment: EnvironmentKind;
  submission: {
    files: Array<{ path: string; description: string }>;
    maxBytes: number;
  };
  timeouts: Timeouts;
  /** Cluster labs: objects the lab starts itself in a scenario's namespace. */
  fixtures: Fixture[];
  /** Cluster labs: a scenario disturbs state every namespace shares; never two grades of it at once. */
  disruptive: boolean;
  /** What a student sees of a scenario that did not pass, unless its @feedback tag says otherwise. */
  feedback: Feedback;
  verify: VerifyOptions;
  /** Sandbox labs: the kernel the checks assume; cgroup defaults to either. */
  kernel: { cgroup: CgroupPin };
  /** Cluster labs: Service types the admission policies refuse unless the lab allows them. */
  allow?: { nodePorts?: boolean; loadBalancers?: boolean };
  expect: Record<string, WrongCaseExpectation>;
}

export interface VerifyOptions {
  /** How many times in all `kgrade verify` runs a correct case's @races scenarios (DEFAULT_VERIFY_REPEAT when unset). */
  repeat?: number;
}

export const DEFAULT_VERIFY_REPEAT = 2;

/** The cgroup version a lab's checks assume. */
export type CgroupPin = 'v1' | 'v2' | 'either';

export type Fixture = {
  name: string;
  /** Relative to the lab's folder. */
  manifest: string;
};

export interface Timeouts {
  script: number;
  command: number;
  wait: number;
}

export interface WrongCaseExpectation {
  score: number;
  failed?: string[];
}

/** Every top-level key of LabFile; a unit test holds it equal to the schema's properties. */
export const LAB_FILE_KEYS = {
  id: true,
  title: true,
  chapter: true,
  description: true,
  environment: true,
  submission: true,
  timeouts: true,
  fixtures: true,
  disruptive: true,
  feedback: true,
  verify: true,
  kernel: true,
  allow: true,
  expect: true,
} satisfies Record<keyof LabFile, true>;

/** How much a @course check's failure matters to an operator, most first (kube-bench's and kubescape's levels). */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A scenario as the lab defines it, read from its feature files. */
export interface ScenarioDef {
  /** "<feature path relative to the lab>:<line>" */
  id: string;
  uri: string;
  line: number;
  name: string;
  feature: string;
  tags: string[];
  points: number;
  course: boolean;
  /** feedback is hidden: not shown to students before results are published. */
  hidden: boolean;
  /** @feedback:<level> (@hidden is @feedback:hidden), else lab.yaml's feedback. */
  feedback: Feedback;
  /** @serial: disturbs state all namespaces share; runs alone, after the others. */
  serial: boolean;
  /** A graded scenario's hint to the student; a @course check's remediation for the operator. */
  /** @races: its outcome depends on the cluster converging; verify runs it more than once. */
  races: boolean;
  /** A graded scenario's hint to the student; a @course check's remediation for the operator. */
  hint: string;
  /** @course checks: @severity:<level>. */
  severity?: Severity;
}

export interface Lab extends LabFile {
  dir: string;
  featuresDir: string;
  scenarios: ScenarioDef[];
  maxScore: number;
}
