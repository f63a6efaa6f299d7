import { GraderError } from '../../errors.js';
import { ExistingProvider } from './existing.js';
import { defaultKindOptions, KindProvider } from './kind.js';
import type { ClusterProvider } from './provider.js';
import type { KubeProxyMode } from './proxy-mode.js';

/** How a run names its cluster; JSON, so it can travel in cucumber's world parameters. */
export interface ClusterChoice {
  provider: 'kind' | 'existing';
  kubeconfig?: string;
  context?: string;
  /** kind: the node image to run instead of the one built from source (e.g. kind's published kindest/node). */
  nodeImage?: string;
  /** kind: the Kubernetes version to build the node image for, instead of images/k8s/versions.env's. */
  kubernetesVersion?: string;
  /** kind: kube-proxy's mode (kind's default, iptables, when not set). */
  kubeProxyMode?: KubeProxyMode;
}

export function providerFor(choice: ClusterChoice): ClusterProvider {
  if (choice.provider === 'kind') return new KindProvider(defaultKindOptions(choice));
  if (!choice.kubeconfig || !choice.context) {
    throw new GraderError('the existing-cluster provider needs --kubeconfig FILE and --context NAME');
  }
  return new ExistingProvider({ kubeconfig: choice.kubeconfig, context: choice.context });
}
