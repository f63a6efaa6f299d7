import { GraderError } from '../../errors.js';
import type { ClusterProvider } from './provider.js';
import type { KubeProxyMode } from './proxy-mode.js';

/** How a run names its cluster; JSON, so it can travel in cucumber's world parameters. */
export interface ClusterChoice extends ClusterOptions {
  provider: ProviderKind;
}

/** What the cluster options say, each provider reading what it knows. */
export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  /** kind: the node image to run instead of the one built from source (e.g. kind's published kindest/node). */
  nodeImage?: string;
  /** kind: the Kubernetes version to build the node image for, instead of images/k8s/versions.env's. */
  kubernetesVersion?: string;
  /** kind: kube-proxy's mode (kind's default, iptables, when not set). */
  kubeProxyMode?: KubeProxyMode;
}

/** A way to get a cluster, as --provider names it: its help, and how to make it (loaded on use). */
export interface ProviderEntry {
  readonly help: string;
  make(options: ClusterOptions): Promise<ClusterProvider>;
}

/**
 * The cluster providers. Adding one is a file beside this one that implements ClusterProvider
 * (provider.ts) and its entry here; --provider and its help are read from this table.
 */
export const PROVIDERS = {
  kind: {
    help: 'a kind cluster kgrade builds offline, or reuses',
    make: async (choice: ClusterOptions): Promise<ClusterProvider> => {
      const { defaultKindOptions, KindProvider } = await import('./kind.js');
      return new KindProvider(defaultKindOptions(choice));
    },
  },
  existing: {
    help: 'any other, named by --kubeconfig and --context',
    make: async (choice: ClusterOptions): Promise<ClusterProvider> => {
      if (!choice.kubeconfig || !choice.context)
        throw new GraderError('the existing-cluster provider needs --kubeconfig FILE and --context NAME');
      const { ExistingProvider } = await import('./existing.js');
      return new ExistingProvider({ kubeconfig: choice.kubeconfig, context: choice.context });
    },
  },
} satisfies Record<string, ProviderEntry>;

export type ProviderKind = keyof typeof PROVIDERS;
export const PROVIDER_KINDS = Object.keys(PROVIDERS) as ProviderKind[];

export function isProviderKind(value: string): value is ProviderKind {
  return Object.hasOwn(PROVIDERS, value);
}

export function providerFor(choice: ClusterChoice): Promise<ClusterProvider> {
  return PROVIDERS[choice.provider].make(choice);
}
