import { randomBytes } from 'node:crypto';
import * as k8s from '../../vendor/kubernetes-client.js';
import { debugPodImage } from '../../config.js';
import { GraderError } from '../../errors.js';
import { api, type ClusterRef, graderFault, loadKubeConfig } from '../../kube/client.js';
import { execInPod, waitForPod } from '../../kube/pods.js';
import { shellQuote, type ExecOptions, type ExecResult } from '../../node.js';
import { readClusterHealth } from './health.js';
import type { ClusterNode, ClusterProvider, ClusterStatus } from './provider.js';
import { podStarted } from '../../kube/readiness.js';

const DEBUG_NAMESPACE = 'kgrade-system';

/**
 * A node of any cluster, reached through a short-lived privileged pod pinned to
 * it (host PID and network, the node's root at /host). Commands run chrooted
 * into /host; the pod is deleted on release.
 */
class DebugPodNode implements ClusterNode {
  constructor(
    private readonly kc: k8s.KubeConfig,
    readonly name: string,
    private readonly pod: string,
  ) {}

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    if (options.stdin !== undefined) {
      const file = `/tmp/kgrade-stdin-${randomBytes(4).toString('hex')}`;
      await this.writeFile(file, options.stdin);
      const r = await this.exec(
        ['sh', '-c', `${argv.map(shellQuote).join(' ')} < ${file}; s=$?; rm -f ${file}; exit $s`],
        { timeoutMs },
      );
      return { ...r, argv };
    }
    const r = await execInPod(
      this.kc,
      DEBUG_NAMESPACE,
      this.pod,
      'debug',
      ['chroot', '/host', 'timeout', '-k', '3', String(seconds), ...argv],
      timeoutMs + 10_000,
    );
    return { ...r, argv, timedOut: r.timedOut || r.code === 124 };
  }

  private async writeFile(nodePath: string, content: string): Promise<void> {
    const chunk = Buffer.from(content).toString('base64');
    const r = await execInPod(
      this.kc,
      DEBUG_NAMESPACE,
      this.pod,
      'debug',
      ['sh', '-c', `echo ${shellQuote(chunk)} | base64 -d > /host${nodePath}`],
      60_000,
    );
    if (r.code !== 0) throw new GraderError(`writing ${nodePath} on node ${this.name}: ${r.stderr.trim()}`);
  }

  async copyIn(hostPath: string, nodePath: string): Promise<void> {
    try {
      await new k8s.Cp(this.kc).cpToPod(DEBUG_NAMESPACE, this.pod, 'debug', hostPath, `/host${nodePath}`);
    } catch (err) {
      throw graderFault(err, `copying ${hostPath} onto node ${this.name}`);
    }
  }

  async release(): Promise<void> {
    try {
      await this.kc
        .makeApiClient(k8s.CoreV1Api)
        .deleteNamespacedPod({ name: this.pod, namespace: DEBUG_NAMESPACE, gracePeriodSeconds: 0 });
    } catch {
      // already gone
    }
  }
}

/** Any cluster by kubeconfig and context; kgrade creates nothing but namespaces and debug pods in it. */
export class ExistingProvider implements ClusterProvider {
  readonly kind = 'existing' as const;
  private kc?: k8s.KubeConfig;

  constructor(
    private readonly ref: ClusterRef,
    private readonly debugImage = debugPodImage(),
  ) {}

  kubeConfig(): k8s.KubeConfig {
    this.kc ??= loadKubeConfig(this.ref);
    return this.kc;
  }

  async status(): Promise<ClusterStatus> {
    return {
      provider: this.kind,
      name: this.ref.context,
      ref: this.ref,
      ...(await readClusterHealth(this.kubeConfig())),
    };
  }

  async up(log: (line: string) => void): Promise<ClusterStatus> {
    const s = await this.status();
    if (s.problems.length) throw new GraderError(`cluster ${this.ref.context} is not usable: ${s.problems.join('; ')}`);
    log(`kgrade: using cluster ${this.ref.context} (${s.version}, ${s.nodes.length} node(s))`);
    return s;
  }

  async loadImage(image: string): Promise<void> {
    throw new GraderError(`an existing cluster pulls its own images: push ${image} to a registry it can reach`);
  }

  async exportLogs(): Promise<string> {
    throw new GraderError('exporting node logs needs the cluster provider that made the cluster (kind)');
  }

  async down(log: (line: string) => void): Promise<void> {
    const core = this.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.deleteNamespace({ name: DEBUG_NAMESPACE }).catch(() => undefined);
    log(`kgrade: removed what kgrade made in ${this.ref.context}; the cluster itself is not kgrade's to delete`);
  }

  async node(nodeName: string): Promise<ClusterNode> {
    const kc = this.kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core
      .createNamespace({
        body: {
          metadata: {
            name: DEBUG_NAMESPACE,
            labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'app.kubernetes.io/managed-by': 'kgrade' },
          },
        },
      })
      .catch(() => undefined);
    const pod = `node-debug-${randomBytes(3).toString('hex')}`;
    await api(kc, `creating debug pod on ${nodeName}`, () =>
      core.createNamespacedPod({
        namespace: DEBUG_NAMESPACE,
        body: {
          metadata: { name: pod, labels: { 'app.kubernetes.io/managed-by': 'kgrade' } },
          spec: {
            nodeName,
            hostPID: true,
            hostNetwork: true,
            restartPolicy: 'Never',
            activeDeadlineSeconds: 3600,
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: 'debug',
                image: this.debugImage,
                command: ['sleep', '3600'],
                securityContext: { privileged: true },
                volumeMounts: [{ name: 'host', mountPath: '/host' }],
              },
            ],
            volumes: [{ name: 'host', hostPath: { path: '/' } }],
          },
        },
      }),
    );
    const node = new DebugPodNode(kc, nodeName, pod);
    try {
      await waitForPod(kc, DEBUG_NAMESPACE, pod, {
        what: 'Running',
        timeoutMs: 120_000,
        until: podStarted,
      });
    } catch (err) {
      await node.release();
      throw new GraderError(`the debug pod for node ${nodeName} did not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return node;
  }
}
