import * as k8s from '../vendor/kubernetes-client.js';
import { api } from './client.js';
import { podState } from './pods.js';
import { podServing } from './readiness.js';

/** What a look at kube-system found: what is missing or not ready, and what runs. */
export interface ControlPlaneReport {
  problems: string[];
  seen: string[];
  /** CoreDNS's wanted and ready replicas. */
  coredns: { wanted: number; ready: number };
  /** The DaemonSets taken for the CNI daemon. */
  cni: string[];
}

const STATIC_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-scheduler', 'kube-controller-manager'];

/** Whether a DaemonSet's pods mount the node's CNI configuration or plugins: the CNI daemon. */
export function isCniDaemon(ds: k8s.V1DaemonSet): boolean {
  return (ds.spec?.template.spec?.volumes ?? []).some((v) => /^\/(etc|opt)\/cni(\/|$)/.test(v.hostPath?.path ?? ''));
}

/**
 * Reads kube-system: the control plane's static pods (etcd, kube-apiserver, kube-scheduler,
 * kube-controller-manager, by their kubeadm label `component` or their name), CoreDNS (its
 * Deployment's replicas all Ready), kube-proxy's DaemonSet and the CNI daemon's (a kube-system
 * DaemonSet mounting /etc/cni or /opt/cni from the node), each with every pod Ready.
 */
export async function readControlPlane(kc: k8s.KubeConfig): Promise<ControlPlaneReport> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const pods = (await api(kc, 'listing kube-system pods', () => core.listNamespacedPod({ namespace: 'kube-system' })))
    .items;
  const daemonSets = (
    await api(kc, 'listing kube-system DaemonSets', () => apps.listNamespacedDaemonSet({ namespace: 'kube-system' }))
  ).items;
  const deployments = (
    await api(kc, 'listing kube-system Deployments', () => apps.listNamespacedDeployment({ namespace: 'kube-system' }))
  ).items;
  const problems: string[] = [];
  const seen: string[] = [];

  for (const component of STATIC_COMPONENTS) {
    const mine = pods.filter(
      (p) => p.metadata?.labels?.['component'] === component || (p.metadata?.name ?? '').startsWith(`${component}-`),
    );
    if (mine.length === 0) problems.push(`no ${component} pod in kube-system`);
    else if (!mine.some(podServing))
      problems.push(
        `${component} is not Ready: ${mine.map((p) => `${p.metadata?.name ?? '?'} (${podState(p)})`).join('; ')}`,
      );
    else
      seen.push(
        mine
          .filter(podServing)
          .map((p) => p.metadata?.name ?? '?')
          .join(', '),
      );
  }

  const dnsPods = pods.filter((p) => p.metadata?.labels?.['k8s-app'] === 'kube-dns');
  const dnsDeployment =
    deployments.find((d) => d.metadata?.name === 'coredns') ??
    deployments.find((d) => d.spec?.selector.matchLabels?.['k8s-app'] === 'kube-dns');
  const wanted = dnsDeployment?.spec?.replicas ?? 0;
  const dnsReady = dnsPods.filter((p) => podServing(p)).length;
  if (!dnsDeployment)
    problems.push('no CoreDNS Deployment (coredns, or one selecting k8s-app=kube-dns) in kube-system');
  else if (wanted < 1)
    problems.push(`the CoreDNS Deployment ${dnsDeployment.metadata?.name ?? ''} wants ${wanted} replicas`);
  else if (dnsReady < wanted) {
    problems.push(
      `CoreDNS has ${dnsReady} of ${wanted} pods Ready: ${dnsPods.map((p) => `${p.metadata?.name ?? '?'} (${podState(p)})`).join('; ') || 'none'}`,
    );
  } else
    seen.push(
      `CoreDNS: ${dnsReady} of ${wanted} Ready (${dnsPods
        .filter(podServing)
        .map((p) => p.metadata?.name ?? '?')
        .join(', ')})`,
    );

  const daemonSetReady = (ds: k8s.V1DaemonSet) =>
    (ds.status?.desiredNumberScheduled ?? 0) > 0 && ds.status?.numberReady === ds.status?.desiredNumberScheduled;
  const describe = (ds: k8s.V1DaemonSet) =>
    `${ds.metadata?.name ?? '?'} (${ds.status?.numberReady ?? 0}/${ds.status?.desiredNumberScheduled ?? 0} Ready)`;
  const proxy = daemonSets.find((d) => d.metadata?.name === 'kube-proxy');
  if (!proxy) problems.push('no kube-proxy DaemonSet in kube-system');
  else if (!daemonSetReady(proxy)) problems.push(`kube-proxy is not Ready on every node: ${describe(proxy)}`);
  else seen.push(`DaemonSet ${describe(proxy)}`);

  const cni = daemonSets.filter((d) => d.metadata?.name !== 'kube-proxy' && isCniDaemon(d));
  if (cni.length === 0)
    problems.push(
      `no CNI daemon: no kube-system DaemonSet mounts /etc/cni or /opt/cni from the node (DaemonSets: ${daemonSets.map((d) => d.metadata?.name ?? '?').join(', ') || 'none'})`,
    );
  else if (!cni.some(daemonSetReady))
    problems.push(`the CNI daemon is not Ready on every node: ${cni.map(describe).join(', ')}`);
  else seen.push(`CNI daemon: DaemonSet ${cni.filter(daemonSetReady).map(describe).join(', ')}`);

  return { problems, seen, coredns: { wanted, ready: dnsReady }, cni: cni.map((d) => d.metadata?.name ?? '?') };
}

/** The cluster's nodes; a cluster with none is the grader's problem, reported by the caller. */
export async function listNodes(kc: k8s.KubeConfig): Promise<k8s.V1Node[]> {
  return (await api(kc, 'listing nodes', () => kc.makeApiClient(k8s.CoreV1Api).listNode())).items;
}

/** The node's InternalIP (the first one). */
export function internalIP(node: k8s.V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** The node's pod CIDRs: spec.podCIDRs, or the single spec.podCIDR of older clusters. */
export function podCIDRs(node: k8s.V1Node): string[] {
  const list = node.spec?.podCIDRs ?? [];
  if (list.length) return list;
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}
