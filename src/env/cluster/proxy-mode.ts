/** kube-proxy's modes kgrade can ask kind for (--kube-proxy-mode); a module of its own so the CLI loads no cluster code to check one. */
export const KUBE_PROXY_MODES = ['iptables', 'nftables'] as const;
export type KubeProxyMode = (typeof KUBE_PROXY_MODES)[number];

export function isKubeProxyMode(v: string): v is KubeProxyMode {
  return (KUBE_PROXY_MODES as readonly string[]).includes(v);
}
