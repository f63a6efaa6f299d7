import os from 'node:os';
import { GraderError } from '../../errors.js';
import { scannerProblems } from '../../lab/course-checks.js';
import type { KubeConfig } from '../../vendor/kubernetes-client.js';
import { providerFor, type ProviderKind } from '../cluster/select.js';
import type { Environment } from '../environment.js';

/** A cluster lab's world: the cluster its scenarios run against, each in a namespace of its own. */
export type ClusterParameters = {
  kind: 'cluster';
  provider: ProviderKind;
  kubeconfig: string;
  context: string;
};

// The Kubernetes client takes a while to load: only when a cluster is driven.
const kube = () => import('../../kube/client.js');

/**
 * kgrade's admission policies for submission namespaces, on any cluster it grades on (kept
 * when current). A grade does not wait here: its first namespace waits for the same install,
 * and a failure is that namespace's error.
 */
export async function installSubmissionAdmission(
  kc: KubeConfig,
  wait: boolean,
  log: (line: string) => void,
): Promise<void> {
  const installing = (await import('../../kube/admission.js')).ensureAdmission(kc).then((changed) => {
    if (changed.length) log(`kgrade: admission policies for submission namespaces: ${changed.join(', ')}`);
  });
  if (wait) await installing;
  else installing.catch(() => undefined);
}

export const clusterEnvironment: Environment<ClusterParameters> = {
  kind: 'cluster',

  labProblems: (file, scenarios) => [
    ...scannerProblems(scenarios),
    ...(file.kernel.cgroup !== 'either'
      ? ["lab.yaml: kernel.cgroup: only sandbox labs choose their kernel (a cluster lab runs on its cluster's nodes)"]
      : []),
  ],

  async prepare(_labs, how) {
    const choice = how.cluster();
    const provider = await providerFor(choice);
    const status = await provider.up(how.log);
    await installSubmissionAdmission(provider.kubeConfig(), false, how.log);
    const params: ClusterParameters = {
      kind: 'cluster',
      provider: choice.provider,
      kubeconfig: status.ref.kubeconfig,
      context: status.ref.context,
    };
    return () => params;
  },

  async describe(p) {
    return { provider: `${p.provider}:${p.context}`, image: '', kernel: os.release() };
  },

  async provenance(p) {
    const k8s = await import('../../vendor/kubernetes-client.js');
    let server: string;
    try {
      const v = await (await kube()).loadKubeConfig(p).makeApiClient(k8s.VersionApi).getCode();
      server = `kubernetes ${v.gitVersion}`;
    } catch (err) {
      server = `kubernetes version unknown (${(err as Error).message.split('\n')[0]})`;
    }
    return `cluster ${p.provider}:${p.context} ${server}`;
  },

  where: (p) => p.context,

  async node(p, _scenario, name) {
    let nodeName = name;
    if (nodeName === undefined) {
      const k8s = await import('../../vendor/kubernetes-client.js');
      const nodes = await (await kube()).loadKubeConfig(p).makeApiClient(k8s.CoreV1Api).listNode();
      nodeName = nodes.items[0]?.metadata?.name;
      if (!nodeName) throw new GraderError('the cluster has no nodes');
    }
    const node = await (await providerFor(p)).node(nodeName);
    return { node, dispose: () => node.release() };
  },
};
