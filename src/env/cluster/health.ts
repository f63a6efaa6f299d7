import * as k8s from '../../vendor/kubernetes-client.js';
import { describeApiError } from '../../kube/client.js';
import { imagePullProblem } from '../../kube/pods.js';
import type { ClusterNodeInfo, ClusterStatus } from './provider.js';
import { nodeReady, podReady, podStarted } from '../../kube/readiness.js';

/** Reads nodes and kube-system pods; whatever is not Ready or Running becomes a problem in words. */
export async function readClusterHealth(
  kc: k8s.KubeConfig,
): Promise<Pick<ClusterStatus, 'server' | 'version' | 'nodes' | 'problems' | 'missingImages'>> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const problems: string[] = [];
  const missingImages: string[] = [];
  let version = '';
  let nodes: ClusterNodeInfo[] = [];
  // The three reads at once; the lists wait for the version's verdict on whether the API server answers.
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const nodeList = core.listNode();
  const podList = core.listNamespacedPod({ namespace: 'kube-system' });
  nodeList.catch(() => undefined);
  podList.catch(() => undefined);
  try {
    const v = await kc.makeApiClient(k8s.VersionApi).getCode();
    version = v.gitVersion;
  } catch (err) {
    return { server, version, nodes, problems: [`the API server ${server} does not answer: ${describeApiError(err)}`] };
  }
  try {
    const list = await nodeList;
    nodes = list.items.map((n) => ({
      name: n.metadata?.name ?? '',
      ready: nodeReady(n),
      internalIP: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
      podCIDR: n.spec?.podCIDR ?? '',
    }));
    if (nodes.length === 0) problems.push('the cluster has no nodes');
    for (const n of nodes) if (!n.ready) problems.push(`node ${n.name} is not Ready`);
    const pods = await podList;
    for (const p of pods.items) {
      const ready = podReady(p);
      if (!podStarted(p) || !ready) {
        const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
        problems.push(
          `kube-system/${p.metadata?.name ?? '?'} is ${p.status?.phase ?? 'unknown'}${ready ? '' : ', not ready'}${waiting ? ` (${waiting.reason ?? ''})` : ''}`,
        );
        const pull = imagePullProblem(p);
        if (pull?.blame === 'submission' && !missingImages.some((m) => m.startsWith(`${pull.image} `))) {
          missingImages.push(`${pull.image} (kube-system/${p.metadata?.name ?? '?'}: ${pull.detail})`);
        }
      }
    }
  } catch (err) {
    problems.push(`reading nodes and kube-system pods failed: ${describeApiError(err)}`);
  }
  return { server, version, nodes, problems, ...(missingImages.length ? { missingImages } : {}) };
}
