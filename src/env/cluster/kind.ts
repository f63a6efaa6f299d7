import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '../../vendor/kubernetes-client.js';
import { execa } from '../../vendor/execa.js';
import {
  cacheDir,
  clusterReadySeconds,
  kindClusterName,
  kindImageOverride,
  kindKubeconfig,
  pinnedVersionOverride,
  stateDir,
} from '../../config.js';
import { GraderError, UsageError } from '../../errors.js';
import { eventually } from '../../eventually.js';
import { loadKubeConfig, type ClusterRef } from '../../kube/client.js';
import { keepDnsInside } from '../../kube/dns.js';
import { kubeProxyMode } from '../../kube/kube-proxy.js';
import { strength } from '../../kube/replicas.js';
import { REPO_ROOT } from '../../paths.js';
import { ContainerNode } from '../container-node.js';
import { docker } from '../../docker.js';
import { runRepoScript } from '../images.js';
import { bridgeOf, guardEgress, unguardEgress } from './egress.js';
import { readClusterHealth } from './health.js';
import {
  forgetRegistry,
  loopbackPort,
  pushedContents,
  readRegistry,
  recordRegistry,
  recordedRegistry,
  registryDifferences,
  registryNames,
  removeRegistry,
  startRegistry,
  type RegistryNames,
} from './registry.js';
import type { ClusterNode, ClusterProvider, ClusterStatus } from './provider.js';
import type { KubeProxyMode } from './proxy-mode.js';

export interface KindOptions {
  name: string;
  /** The node image; built by images/kind/build-node.sh when missing, unless given (nodeImageGiven). */
  image: string;
  /** The image was named by the user (--node-image): used as it is, never built; kind pulls it if missing. */
  nodeImageGiven: boolean;
  /** Set when --kubernetes-version asks for another version than the pinned one: the build gets it. */
  kubernetesVersion?: string;
  kubeconfig: string;
  /** Seconds to wait for every node Ready and every kube-system pod Running. */
  readySeconds: number;
  /** kube-proxy's mode, when asked for (--kube-proxy-mode); kind's default, iptables, otherwise. */
  kubeProxyMode?: KubeProxyMode;
}

/** How long an existing but unhealthy cluster gets to recover before it is deleted and made anew. */
const RECOVER_SECONDS = 90;
/** What the labs' pods pull, with any pull policy: one offline busybox under every name the course uses. */
const REGISTRY_IMAGES = ['busybox:1.36', 'busybox:latest'];

export function defaultKindOptions(
  choice: { nodeImage?: string; kubernetesVersion?: string; kubeProxyMode?: KubeProxyMode } = {},
): KindOptions {
  const name = kindClusterName();
  const given = choice.nodeImage ?? kindImageOverride();
  const version = choice.kubernetesVersion ?? pinnedVersion('K8S_VERSION');
  if (given && choice.kubernetesVersion)
    throw new UsageError(
      '--node-image and --kubernetes-version exclude each other: a node image has its own Kubernetes',
    );
  if (!/^v\d+\.\d+\.\d+$/.test(version))
    throw new UsageError(`--kubernetes-version must look like v1.31.0, not "${version}"`);
  return {
    name,
    image: given ?? `kgrade/kind-node:${version}-${pinnedVersion('NODE_REV')}`,
    nodeImageGiven: given !== undefined,
    ...(choice.kubernetesVersion ? { kubernetesVersion: choice.kubernetesVersion } : {}),
    kubeconfig: kindKubeconfig(name),
    readySeconds: clusterReadySeconds(),
    ...(choice.kubeProxyMode ? { kubeProxyMode: choice.kubeProxyMode } : {}),
  };
}

/** A version pinned in images/k8s/versions.env ("KIND_VERSION=${KIND_VERSION:-v0.30.0}"), the environment first. */
export function pinnedVersion(name: string): string {
  const fromEnv = pinnedVersionOverride(name);
  if (fromEnv) return fromEnv;
  const text = readFileSync(path.join(REPO_ROOT, 'images/k8s/versions.env'), 'utf8');
  const m =
    new RegExp(`^${name}=\\$\\{${name}:-([^}]+)\\}`, 'm').exec(text) ?? new RegExp(`^${name}=(\\S+)`, 'm').exec(text);
  if (!m?.[1]) throw new GraderError(`images/k8s/versions.env does not pin ${name}`);
  return m[1];
}

/**
 * The kind binary of the pinned version, built into the cache by
 * images/kind/build-kind.sh (go install) when missing. A kind found on PATH is
 * not used: another version may not know this node image.
 */
async function kindBinary(log: (line: string) => void): Promise<string> {
  const cached = path.join(cacheDir(), 'kind', pinnedVersion('KIND_VERSION'), 'bin', 'kind');
  if (!existsSync(cached)) await runRepoScript('images/kind/build-kind.sh', log);
  if (!existsSync(cached)) throw new GraderError(`images/kind/build-kind.sh ran but ${cached} is not there`);
  return cached;
}

/** The most processes (threads included) one pod may run: the kubelet's podPidsLimit. */
export const POD_PIDS_LIMIT = 1024;
/** The node label that records which cluster configuration (clusterConfigHash) the cluster was made with. */
export const CONFIG_LABEL = 'kgrade.io/cluster-config';

/**
 * What kgrade sets when it makes a cluster, beyond kind's defaults: the API server refuses
 * Service externalIPs (DenyServiceExternalIPs, beside kubeadm's NodeRestriction), and the
 * kubelet caps every pod's process count.
 */
const CLUSTER_SETTINGS = [
  'kubeadmConfigPatches:',
  '  - |',
  '    kind: ClusterConfiguration',
  '    apiServer:',
  '      extraArgs:',
  '        enable-admission-plugins: NodeRestriction,DenyServiceExternalIPs',
  '  - |',
  '    kind: KubeletConfiguration',
  `    podPidsLimit: ${POD_PIDS_LIMIT}`,
];

/** The hash of the settings above: a cluster whose node carries another one was made by an older kgrade. */
export function clusterConfigHash(): string {
  return createHash('sha256').update(CLUSTER_SETTINGS.join('\n')).digest('hex').slice(0, 12);
}

/** kind's cluster config: one control-plane node labelled with the settings' hash; kube-proxy's mode when one is asked for. */
export function kindConfig(kubeProxyMode?: KubeProxyMode): string {
  return [
    'kind: Cluster',
    'apiVersion: kind.x-k8s.io/v1alpha4',
    ...(kubeProxyMode ? ['networking:', `  kubeProxyMode: ${kubeProxyMode}`] : []),
    ...CLUSTER_SETTINGS,
    'nodes:',
    '  - role: control-plane',
    '    labels:',
    `      ${CONFIG_LABEL}: "${clusterConfigHash()}"`,
    '',
  ].join('\n');
}

export class KindProvider implements ClusterProvider {
  readonly kind = 'kind' as const;
  private kc?: k8s.KubeConfig;
  readonly registry: RegistryNames;

  constructor(private readonly opts: KindOptions = defaultKindOptions()) {
    this.registry = registryNames(opts.name);
  }

  get ref(): ClusterRef {
    return { kubeconfig: this.opts.kubeconfig, context: `kind-${this.opts.name}` };
  }

  kubeConfig(): k8s.KubeConfig {
    this.kc ??= loadKubeConfig(this.ref);
    return this.kc;
  }

  /** The image the cluster's control-plane node runs, as docker names it. */
  async nodeImage(): Promise<string | undefined> {
    const r = await docker(['inspect', '--format', '{{.Config.Image}}', `${this.opts.name}-control-plane`]);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  private async exists(bin: string): Promise<boolean> {
    const r = await execa(bin, ['get', 'clusters'], { reject: false });
    return r.stdout.split('\n').includes(this.opts.name);
  }

  private async writeKubeconfig(bin: string): Promise<void> {
    const r = await execa(bin, ['get', 'kubeconfig', '--name', this.opts.name], { reject: false });
    if (r.exitCode !== 0) throw new GraderError(`kind get kubeconfig --name ${this.opts.name}: ${r.stderr}`);
    await mkdir(path.dirname(this.opts.kubeconfig), { recursive: true });
    await writeFile(this.opts.kubeconfig, r.stdout, { mode: 0o600 });
    this.kc = undefined;
  }

  async status(): Promise<ClusterStatus> {
    const base = { provider: this.kind, name: this.opts.name, ref: this.ref };
    if (!existsSync(this.opts.kubeconfig)) {
      return {
        ...base,
        server: '',
        version: '',
        nodes: [],
        problems: [`no kubeconfig at ${this.opts.kubeconfig}: the cluster is not up (kgrade cluster up)`],
      };
    }
    return { ...base, ...(await readClusterHealth(this.kubeConfig())) };
  }

  /**
   * Waits for every node Ready and every kube-system pod Running, and for what `also` asks
   * (a problem in words, or undefined when none); a node image that lacks an image ends the
   * wait at once.
   */
  private async waitHealthy(seconds: number, also?: () => Promise<string | undefined>): Promise<ClusterStatus> {
    return eventually(
      async () => {
        const s = await this.status();
        const more = await also?.();
        if (more) s.problems.push(more);
        if (s.missingImages?.length) {
          // "not found" from the local registry: no amount of waiting brings the image.
          throw new GraderError(
            `cluster ${this.opts.name} cannot start: its node image ${this.opts.image} lacks ${s.missingImages.join('; ')}, and the local registry does not serve it; ` +
              `rebuild the node image (images/kind/build-node.sh --force). Problems: ${s.problems.join('; ')}`,
          );
        }
        return { ok: s.problems.length === 0, value: s, seen: s.problems.join('; ') };
      },
      {
        what: `cluster ${this.opts.name} to have every node Ready and every kube-system pod Running`,
        timeoutMs: seconds * 1000,
        intervalMs: 3000,
        blame: 'grader',
      },
    );
  }

  /** kube-proxy's running mode when --kube-proxy-mode asked for another one; undefined when it matches or none was asked for. */
  private async otherProxyMode(): Promise<string | undefined> {
    if (!this.opts.kubeProxyMode) return undefined;
    const running = (await kubeProxyMode(this.kubeConfig()))?.replace(/ \(the default\)$/, '') ?? 'an unknown';
    return running === this.opts.kubeProxyMode ? undefined : running;
  }

  private stampFile(): string {
    return path.join(stateDir(), `kind-${this.opts.name}.provisioned`);
  }

  /**
   * What a finished provision depends on: the cluster settings, the node and both registry
   * containers, running, the node on the wanted image, and the images the registry serves.
   * Undefined when any is missing; with it, the loopback port of the serving registry.
   */
  private async provisionKey(): Promise<{ key: string; servePort: number } | undefined> {
    const [c, images] = await Promise.all([
      docker([
        'inspect',
        '--type',
        'container',
        '--format',
        '{{.Id}} {{.State.Running}} {{.Config.Image}} {{json .NetworkSettings.Ports}}',
        `${this.opts.name}-control-plane`,
        this.registry.serve,
        this.registry.writer,
      ]),
      docker(['image', 'inspect', '--format', '{{.Id}}', ...REGISTRY_IMAGES]),
    ]);
    if (c.code !== 0 || images.code !== 0) return undefined;
    const [node, serve, writer] = c.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    if (node?.[1] !== 'true' || serve?.[1] !== 'true' || writer?.[1] !== 'true' || node[2] !== this.opts.image)
      return undefined;
    const servePort = loopbackPort(serve.slice(3).join(' '));
    if (!servePort) return undefined;
    return {
      key: [clusterConfigHash(), node[0], serve[0], writer[0], ...images.stdout.trim().split('\n')].join(' '),
      servePort,
    };
  }

  /**
   * Holds the registry to what kgrade pushed at provision: when it serves anything else (a tag
   * repointed, added or gone), it is made anew from kgrade's images and that is said in one line.
   * False when nothing was recorded (the caller provisions).
   */
  private async keepRegistry(servePort: number, log: (line: string) => void): Promise<boolean> {
    const expected = await recordedRegistry(this.opts.name);
    // Unread (no record, no answer): the caller provisions, which checks the registry itself.
    const served = expected ? await readRegistry(servePort).catch(() => undefined) : undefined;
    if (!expected || !served) return false;
    const diff = registryDifferences(expected, served);
    if (diff.length === 0) return true;
    await this.restoreRegistry(diff, log);
    return true;
  }

  /** Empties the registry and pushes kgrade's images again; records what it then serves and stamps the provision. */
  private async restoreRegistry(diff: string[], log: (line: string) => void): Promise<void> {
    log(
      `kgrade: the local registry ${this.registry.serve} serves what kgrade did not put there (${diff.slice(0, 4).join('; ')}${diff.length > 4 ? `; ${diff.length - 4} more` : ''}); restoring it`,
    );
    const pushed = await startRegistry(this.registry, REGISTRY_IMAGES, log, { reset: true });
    const key = await this.provisionKey();
    if (!key)
      throw new GraderError(
        `the local registry ${this.registry.serve} is not running after it was restored (docker ps -a --filter name=${this.registry.serve})`,
      );
    const served = await readRegistry(key.servePort);
    const still = registryDifferences(pushedContents(pushed, served), served);
    if (still.length)
      throw new GraderError(
        `the local registry ${this.registry.serve} still serves what kgrade did not push after it was restored: ${still.join('; ')}`,
      );
    await recordRegistry(this.opts.name, served);
    await mkdir(stateDir(), { recursive: true });
    await writeFile(this.stampFile(), key.key);
  }

  /**
   * The warm path: the same cluster and registry as at the last provision, and healthy. Then
   * nothing is built, pushed or patched again; only the egress guard and the registry's
   * contents are checked.
   */
  private async warm(log: (line: string) => void): Promise<ClusterStatus | undefined> {
    if (!existsSync(this.opts.kubeconfig) || !existsSync(this.stampFile())) return undefined;
    // All at once: each is a few docker, iptables or API calls. The egress guard is (re)applied
    // either way: a cluster that is not warm gets it again when provisioned.
    const guard = guardEgress(this.registry.network).then(
      () => undefined,
      (err: unknown) => err,
    );
    const [key, s, mode] = await Promise.all([this.provisionKey(), this.status(), this.otherProxyMode()]);
    const guardFailed = await guard;
    if (!key || key.key !== readFileSync(this.stampFile(), 'utf8') || s.problems.length || mode) return undefined;
    if (guardFailed) throw guardFailed;
    if (!(await this.keepRegistry(key.servePort, log))) return undefined;
    log(`kgrade: reusing healthy cluster ${this.opts.name} (${s.version}, ${s.nodes.length} node(s)), provisioned`);
    return s;
  }

  /**
   * Why the cluster must be made anew for its settings (CLUSTER_SETTINGS); undefined when it has
   * the current ones, or when its node cannot be read yet (the health wait decides then).
   */
  private async oldSettings(): Promise<string | undefined> {
    let made: string | undefined;
    try {
      const node = await this.kubeConfig()
        .makeApiClient(k8s.CoreV1Api)
        .readNode({ name: `${this.opts.name}-control-plane` });
      made = node.metadata?.labels?.[CONFIG_LABEL];
    } catch {
      return undefined;
    }
    if (made === clusterConfigHash()) return undefined;
    return `it was made ${made ? `with other cluster settings (${made})` : 'by an older kgrade'}, without this kgrade's pod PID limit (${POD_PIDS_LIMIT}) and DenyServiceExternalIPs admission (settings ${clusterConfigHash()})`;
  }

  async up(log: (line: string) => void): Promise<ClusterStatus> {
    const warm = await this.warm(log);
    if (warm) return warm;
    const bin = await kindBinary(log);
    const image = await docker(['image', 'inspect', '--format', '{{.Id}}', this.opts.image]);
    if (image.code !== 0) {
      if (this.opts.nodeImageGiven)
        log(
          `kgrade: ${this.opts.image} is not on this machine: kind will pull it (this needs a registry that serves it)`,
        );
      else
        await runRepoScript(
          'images/kind/build-all.sh',
          log,
          this.opts.kubernetesVersion ? { K8S_VERSION: this.opts.kubernetesVersion } : {},
        );
    }
    if (await this.exists(bin)) {
      await this.writeKubeconfig(bin);
      const s = await this.status();
      const running = await this.nodeImage();
      const old = await this.oldSettings();
      if (running !== undefined && running !== this.opts.image) {
        log(`kgrade: cluster ${this.opts.name} runs ${running}, not ${this.opts.image}; recreating it`);
      } else if (old) {
        log(`kgrade: cluster ${this.opts.name} must be made anew: ${old}; recreating it`);
      } else {
        // A pod of kube-system being replaced (a CoreDNS pod deleted by a check, a restart) is
        // no broken cluster: others may be grading on it. Only one that stays unhealthy is recreated.
        let healthy: ClusterStatus | undefined = s.problems.length === 0 ? s : undefined;
        if (!healthy) {
          log(
            `kgrade: cluster ${this.opts.name} is not healthy (${s.problems.slice(0, 3).join('; ')}); waiting up to ${RECOVER_SECONDS} s before recreating it`,
          );
          healthy = await this.waitHealthy(RECOVER_SECONDS).catch(() => undefined);
        }
        const mode = healthy ? await this.otherProxyMode() : undefined;
        // Its node could not be read while it was unhealthy: now it can.
        const stale = healthy && !mode ? await this.oldSettings() : undefined;
        if (healthy && !mode && !stale) {
          log(
            `kgrade: reusing healthy cluster ${this.opts.name} (${healthy.version}, ${healthy.nodes.length} node(s))`,
          );
          await this.provision(log);
          return healthy;
        }
        if (stale) log(`kgrade: cluster ${this.opts.name} must be made anew: ${stale}; recreating it`);
        else if (mode)
          log(
            `kgrade: cluster ${this.opts.name}'s kube-proxy runs in ${mode} mode, not ${this.opts.kubeProxyMode ?? ''}; recreating it`,
          );
        else
          log(
            `kgrade: cluster ${this.opts.name} is still not healthy after ${RECOVER_SECONDS} s (${(await this.status()).problems.slice(0, 3).join('; ')}); recreating it`,
          );
      }
      await this.down(log);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kgrade-kind-'));
    const config = path.join(dir, 'kind.yaml');
    await writeFile(config, kindConfig(this.opts.kubeProxyMode));
    log(`kgrade: creating kind cluster ${this.opts.name} from ${this.opts.image}`);
    const started = Date.now();
    const r = await execa(
      bin,
      [
        'create',
        'cluster',
        '--name',
        this.opts.name,
        '--image',
        this.opts.image,
        '--config',
        config,
        '--kubeconfig',
        this.opts.kubeconfig,
        '--wait',
        `${this.opts.readySeconds}s`,
      ],
      {
        reject: false,
        // A cluster other than the default gets a network of its own, where its registry is the only kgrade-registry.
        env: this.registry.network === 'kind' ? {} : { KIND_EXPERIMENTAL_DOCKER_NETWORK: this.registry.network },
        stdout: 'inherit',
        stderr: 'inherit',
        stdin: 'ignore',
      },
    );
    await rm(dir, { recursive: true, force: true });
    if (r.exitCode !== 0) {
      throw new GraderError(
        `kind create cluster ${this.opts.name} failed (exit ${r.exitCode}); run "kgrade cluster logs" for the nodes' logs`,
      );
    }
    this.kc = undefined;
    await this.provision(log);
    const s = await this.waitHealthy(this.opts.readySeconds);
    log(`kgrade: cluster ${this.opts.name} is up in ${Math.round((Date.now() - started) / 1000)} s (${s.version})`);
    return s;
  }

  /**
   * Serves the labs' images from the local registry, and keeps every packet on
   * the machine: the host forwards nothing off the kind network, CoreDNS
   * forwards no query upstream.
   */
  private async provision(log: (line: string) => void): Promise<void> {
    // Docker works by now (the cluster runs); only the busybox image is needed, for the registry.
    await runRepoScript('images/busybox/build.sh', log);
    const pushed = await startRegistry(this.registry, REGISTRY_IMAGES, log);
    const bridge = await guardEgress(this.registry.network);
    if (await keepDnsInside(this.kubeConfig())) {
      // Its pods were deleted to load the new Corefile: every replica back (the old ones gone)
      // before any check reads DNS; a node image without CoreDNS's image is named at once.
      const coreDns = async () => {
        const s = await strength(this.kubeConfig(), 'kube-system', 'coredns');
        return s.full ? undefined : `CoreDNS is not back to all its replicas: ${s.seen}`;
      };
      await this.waitHealthy(this.opts.readySeconds, coreDns);
      log('kgrade: CoreDNS no longer forwards names outside the cluster');
    }
    log(`kgrade: the host drops whatever ${bridge} would forward off the cluster network`);
    const key = await this.provisionKey();
    if (!key) return;
    // The pushes set kgrade's tags; anything else there (another tag, another repository) goes.
    const served = await readRegistry(key.servePort);
    const extra = registryDifferences(pushedContents(pushed, served), served);
    if (extra.length) return this.restoreRegistry(extra, log);
    await recordRegistry(this.opts.name, served);
    await mkdir(stateDir(), { recursive: true });
    await writeFile(this.stampFile(), key.key);
  }

  async loadImage(image: string, log: (line: string) => void): Promise<void> {
    const bin = await kindBinary(log);
    const r = await execa(bin, ['load', 'docker-image', image, '--name', this.opts.name], { reject: false });
    if (r.exitCode !== 0) throw new GraderError(`kind load docker-image ${image}: ${r.stderr.trim()}`);
  }

  async exportLogs(dir: string): Promise<string> {
    const bin = await kindBinary(() => undefined);
    const r = await execa(bin, ['export', 'logs', dir, '--name', this.opts.name], { reject: false });
    if (r.exitCode !== 0) throw new GraderError(`kind export logs: ${r.stderr.trim()}`);
    return dir;
  }

  async down(log: (line: string) => void): Promise<void> {
    const bin = await kindBinary(log);
    const network = this.registry.network;
    const bridge = await bridgeOf(network).catch(() => undefined);
    const r = await execa(bin, ['delete', 'cluster', '--name', this.opts.name, '--kubeconfig', this.opts.kubeconfig], {
      reject: false,
    });
    if (r.exitCode !== 0) throw new GraderError(`kind delete cluster ${this.opts.name}: ${r.stderr.trim()}`);
    await rm(this.opts.kubeconfig, { force: true });
    await rm(this.stampFile(), { force: true });
    await forgetRegistry(this.opts.name);
    await removeRegistry(this.registry);
    // kind's own network may hold other clusters; a cluster's own network holds only it.
    const others = network === 'kind' ? await execa(bin, ['get', 'clusters'], { reject: false }) : undefined;
    if (!others || !others.stdout.trim() || /No kind clusters found/.test(others.stderr)) {
      if (bridge) await unguardEgress(bridge);
      await docker(['network', 'rm', network]);
    }
    this.kc = undefined;
    log(`kgrade: cluster ${this.opts.name} deleted`);
  }

  async node(nodeName: string): Promise<ClusterNode> {
    const node = new ContainerNode(nodeName);
    return Object.assign(node, { release: async () => undefined });
  }
}
