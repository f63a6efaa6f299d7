import * as k8s from '../vendor/kubernetes-client.js';
import { graderApi, graderFault } from './client.js';

export interface Endpoint {
  ip: string;
  port: number;
  portName: string;
  ready: boolean;
  pod: string;
}

/** The endpoints of a service, read from its EndpointSlices: every address and port, ready or not. */
export async function serviceEndpoints(kc: k8s.KubeConfig, namespace: string, service: string): Promise<Endpoint[]> {
  const slices = await graderApi(kc, `listing the endpoints of ${namespace}/${service}`, () =>
    kc
      .makeApiClient(k8s.DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` }),
  );
  const out: Endpoint[] = [];
  for (const slice of slices.items) {
    for (const ep of slice.endpoints ?? []) {
      for (const ip of ep.addresses) {
        for (const p of slice.ports ?? []) {
          out.push({
            ip,
            port: p.port ?? 0,
            portName: p.name ?? '',
            ready: ep.conditions?.ready ?? false,
            pod: ep.targetRef?.name ?? '',
          });
        }
      }
    }
  }
  return out;
}

/**
 * Every address a service's name can stand for: its cluster IP, if it has one, and the
 * addresses of its endpoints, ready or not, also for a headless service with no ports.
 */
export async function serviceAddresses(kc: k8s.KubeConfig, namespace: string, service: string): Promise<string[]> {
  const doing = `reading the addresses of ${namespace}/${service}`;
  try {
    const svc = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedService({ name: service, namespace });
    const slices = await kc
      .makeApiClient(k8s.DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
    const ips = [
      ...(svc.spec?.clusterIPs ?? []),
      ...slices.items.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)),
    ];
    return [...new Set(ips.filter((ip) => ip && ip !== 'None'))];
  } catch (err) {
    throw graderFault(err, doing);
  }
}
