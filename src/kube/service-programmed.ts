import type * as k8s from '../vendor/kubernetes-client.js';
import type { Node } from '../node.js';
import { compareTargets, nftInKubeProxyPod, readServiceRouting, readyEndpoints } from './kube-proxy.js';

/** kube-proxy's name for a Service port in its rules' comments: "ns/svc:port", or "ns/svc" for an unnamed port. */
export function servicePortName(namespace: string, service: string, portName: string): string {
  return portName ? `${namespace}/${service}:${portName}` : `${namespace}/${service}`;
}

/**
 * Whether kube-proxy on each node sends every port of a Service to exactly its
 * ready endpoints (the EndpointSlices' view), and what was seen, for a wait's
 * report. Headless Services and Services without a selector have no such rules.
 */
export async function kubeProxyFollows(
  kc: k8s.KubeConfig,
  nodes: Node[],
  namespace: string,
  svc: k8s.V1Service,
  timeoutMs: number,
): Promise<{ ok: boolean; seen: string }> {
  const name = svc.metadata?.name ?? '';
  if (!svc.spec?.selector || svc.spec.clusterIP === 'None')
    return { ok: true, seen: `service ${name} has no kube-proxy rules` };
  const lines: string[] = [];
  let ok = true;
  for (const port of svc.spec.ports ?? []) {
    const sp = servicePortName(namespace, name, port.name ?? '');
    const eps = await readyEndpoints(kc, namespace, name, port.name ?? '');
    for (const node of nodes) {
      const { routing, seen } = await readServiceRouting(
        node,
        sp,
        timeoutMs,
        nftInKubeProxyPod(kc, node.name, timeoutMs),
      );
      const cmp = routing ? compareTargets(routing.targets, eps) : undefined;
      if (!cmp?.same) {
        ok = false;
        lines.push(
          cmp
            ? `${node.name}: rules for ${sp} miss ${cmp.missing.join(', ') || 'nothing'}${cmp.extra.length ? `, still send to ${cmp.extra.join(', ')}` : ''}`
            : `${node.name}: no rules for ${sp} yet (${seen.join('; ') || 'nothing read'})`,
        );
      }
    }
    if (eps.length === 0) {
      ok = false;
      lines.push(`${sp} has no ready endpoints`);
    }
  }
  return { ok, seen: lines.join('; ') || `kube-proxy sends service ${name} to its ready endpoints on every node` };
}
