import type * as k8s from '../../vendor/kubernetes-client.js';
import type { ClusterRef } from '../../kube/client.js';
import type { Node } from '../../node.js';
import type { ProviderKind } from './select.js';

export interface ClusterNodeInfo {
  name: string;
  ready: boolean;
  internalIP: string;
  podCIDR: string;
}

export interface ClusterStatus {
  provider: ProviderKind;
  name: string;
  ref: ClusterRef;
  server: string;
  version: string;
  nodes: ClusterNodeInfo[];
  /** Everything that keeps the cluster from being usable; empty when healthy. */
  problems: string[];
  /** Images kube-system pods need that no node holds and no registry serves: waiting will not help. */
  missingImages?: string[];
}

/** A node of a cluster that the grader may have to clean up after use. */
export interface ClusterNode extends Node {
  release(): Promise<void>;
}

/** One way to get a cluster: create or reuse, describe, load an image, export logs, delete. */
export interface ClusterProvider {
  readonly kind: ProviderKind;
  /** Creates the cluster, or reuses it when it exists and is healthy; throws GraderError when it will not come up. */
  up(log: (line: string) => void): Promise<ClusterStatus>;
  status(): Promise<ClusterStatus>;
  /** Makes a local docker image available to the cluster's nodes. */
  loadImage(image: string, log: (line: string) => void): Promise<void>;
  /** Writes the nodes' logs under dir; returns the folder written. */
  exportLogs(dir: string): Promise<string>;
  /** Removes the cluster and everything kgrade made for it. */
  down(log: (line: string) => void): Promise<void>;
  /** A Node for running commands on the cluster node `nodeName`. */
  node(nodeName: string): Promise<ClusterNode>;
  kubeConfig(): k8s.KubeConfig;
}
