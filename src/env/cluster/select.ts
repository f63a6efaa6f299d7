import { GraderError } from '../../errors.js';
import { ExistingProvider } from './existing.js';
import { defaultKindOptions, KindProvider } from './kind.js';
import type { ClusterProvider } from './provider.js';

/** How a run names its cluster; JSON, so it can travel in cucumber's world parameters. */
export interface ClusterChoice {
  provider: 'kind' | 'existing';
  kubeconfig?: string;
  context?: string;
}

export function providerFor(choice: ClusterChoice): ClusterProvider {
  if (choice.provider === 'kind') return new KindProvider(defaultKindOptions());
  if (!choice.kubeconfig || !choice.context) {
    throw new GraderError('the existing-cluster provider needs --kubeconfig FILE and --context NAME');
  }
  return new ExistingProvider({ kubeconfig: choice.kubeconfig, context: choice.context });
}
