import type { Lab } from '../../lab/types.js';
import type { Environment, PrepareOptions } from '../environment.js';
import { clusterEnvironment } from './cluster.js';
import { sandboxEnvironment } from './sandbox.js';

/**
 * The environments a lab may run in, by lab.yaml's `environment`. Adding one is a module beside
 * these that implements Environment (../environment.ts) and its entry here; the kinds lab.yaml
 * accepts and the world's parameters are read from this table, and schemas/lab.schema.json's
 * environment enum is a copy that test/unit/registries.test.ts holds equal to it.
 */
export const ENVIRONMENTS = {
  sandbox: sandboxEnvironment,
  cluster: clusterEnvironment,
};

export type EnvironmentKind = keyof typeof ENVIRONMENTS;
export const ENVIRONMENT_KINDS = Object.keys(ENVIRONMENTS) as EnvironmentKind[];

type ParametersOf<E> = E extends Environment<infer P> ? P : never;

/** The world's parameters of a lab: where its scenarios run, tagged by kind. JSON only. */
export type EnvironmentParameters = ParametersOf<(typeof ENVIRONMENTS)[EnvironmentKind]>;

/** The environment that the parameters are of. */
export function environmentOf<P extends EnvironmentParameters>(params: P): Environment<P> {
  // ENVIRONMENTS[k] is the Environment of the parameters tagged k: the table is built that way.
  return ENVIRONMENTS[params.kind as EnvironmentKind] as unknown as Environment<P>;
}

/**
 * Prepares what the labs run on, each kind once for all its labs, in the order of ENVIRONMENTS
 * (the node image before the cluster); returns each lab's parameters.
 */
export async function prepareEnvironments(
  labs: readonly Lab[],
  how: PrepareOptions,
): Promise<(lab: Lab) => EnvironmentParameters> {
  const prepared = new Map<EnvironmentKind, (lab: Lab) => EnvironmentParameters>();
  for (const kind of ENVIRONMENT_KINDS) {
    const mine = labs.filter((l) => l.environment === kind);
    if (mine.length) prepared.set(kind, await ENVIRONMENTS[kind].prepare(mine, how));
  }
  return (lab) => {
    const params = prepared.get(lab.environment);
    if (!params) throw new Error(`${lab.id}: its ${lab.environment} environment was not prepared`);
    return params(lab);
  };
}
