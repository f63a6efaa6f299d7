import * as k8s from '../vendor/kubernetes-client.js';
import { graderApi, graderFault } from './client.js';

const FORWARD_BLOCK = /\n[ \t]*forward \. [^\n{]*(\{[^}]*\})?[ \t]*/;

/**
 * Stops CoreDNS from forwarding names outside the cluster to the node's
 * resolver (which would send queries off the machine): cluster names still
 * resolve, everything else gets SERVFAIL at once. Returns true when it changed
 * the Corefile (and restarted CoreDNS).
 */
export async function keepDnsInside(kc: k8s.KubeConfig): Promise<boolean> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const cm = await graderApi(kc, 'reading kube-system/coredns', () =>
    core.readNamespacedConfigMap({ name: 'coredns', namespace: 'kube-system' }),
  );
  const corefile = cm.data?.['Corefile'] ?? '';
  if (!FORWARD_BLOCK.test(corefile)) return false;
  const patched = corefile.replace(FORWARD_BLOCK, '\n    ');
  try {
    await core.replaceNamespacedConfigMap({
      name: 'coredns',
      namespace: 'kube-system',
      body: { ...cm, data: { ...cm.data, Corefile: patched } },
    });
    await core.deleteCollectionNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' });
  } catch (err) {
    throw graderFault(err, `patching CoreDNS's Corefile`);
  }
  return true;
}
