/** lab.yaml as schemas/lab.schema.json describes it, after defaults are filled in. */
export interface LabFile {
  id: string;
  title: string;
  chapter: number;
  description?: string;
  environment: 'sandbox' | 'cluster';
  submission: {
    files: Array<{ path: string; description: string }>;
    maxBytes: number;
  };
  timeouts: Timeouts;
  /** Cluster labs: objects the lab starts itself in a scenario's namespace. */
  fixtures: Fixture[];
  /** Cluster labs: a scenario disturbs state every namespace shares; never two grades of it at once. */
  disruptive: boolean;
  /** Cluster labs: Service types the admission policies refuse unless the lab allows them. */
  allow?: { nodePorts?: boolean; loadBalancers?: boolean };
  expect: Record<string, WrongCaseExpectation>;
}

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
  allow: true,
  expect: true,
} satisfies Record<keyof LabFile, true>;

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
  hidden: boolean;
  /** @serial: disturbs state all namespaces share; runs alone, after the others. */
  serial: boolean;
  hint: string;
}

export interface Lab extends LabFile {
  dir: string;
  featuresDir: string;
  scenarios: ScenarioDef[];
  maxScore: number;
}
