import { isolationSetting as configuredIsolationSetting, jobs as configuredJobs } from '../config.js';
import { chooseIsolation, hostCgroupVersion } from '../env/sandbox/choose.js';
import { ISOLATIONS, isIsolation, type Isolation } from '../env/sandbox/index.js';
import { ensureNodeImage } from '../env/images.js';
import type { Lab } from '../lab/types.js';
import type { ClusterChoice } from '../env/cluster/select.js';
import { isKubeProxyMode, KUBE_PROXY_MODES } from '../env/cluster/proxy-mode.js';
import type { WorldParameters } from '../cucumber/parameters.js';
import { OptionError, type OptionValues } from './options.js';
import { log } from './output.js';

// The Kubernetes client takes a while to load: only the commands that drive a cluster do.
export const providerFor = async (choice: ClusterChoice) =>
  (await import('../env/cluster/select.js')).providerFor(choice);

export const SANDBOX_OPTIONS = {
  isolation: {
    type: 'string',
    group: 'sandbox',
    value: ISOLATIONS.join('|'),
    help: `how a sandbox is kept from the host (default userns:
root inside is an unprivileged uid on the host, or vm
when the lab pins a cgroup version this host lacks;
privileged is for hosts without user namespaces and
is NOT a security boundary; vm boots a VM with its
own kernel per scenario, images/vm/build.sh)`,
  },
  jobs: {
    type: 'string',
    group: 'sandbox',
    value: 'N',
    help: `scenarios run at once, each in its own sandbox or
namespace (default: the machine's cores); @serial
scenarios of a cluster lab run alone, after the rest`,
  },
} as const;

/** --isolation and --jobs, or their defaults from the configuration; the privileged warning. */
export function sandboxChoice(
  labs: Lab[],
  values: { isolation?: string | undefined; jobs?: string | undefined },
): { isolation: Isolation; jobs: number } {
  const requested = values.isolation ?? configuredIsolationSetting();
  if (requested !== undefined && !isIsolation(requested))
    throw new OptionError(`--isolation must be ${ISOLATIONS.join(' or ')}, not "${requested}"`);
  const pins = labs.filter((l) => l.environment === 'sandbox').map((l) => ({ id: l.id, pin: l.kernel.cgroup }));
  const chosen = chooseIsolation(pins, requested);
  if (requested === undefined && chosen !== 'userns')
    log(
      `kgrade: ${pins.map((p) => `${p.id} assumes cgroup ${p.pin}`).join(', ')}; this host runs cgroup ${hostCgroupVersion()}: grading in ${chosen} sandboxes`,
    );
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs))
    throw new OptionError(`--jobs must be a whole number from 1, not "${values.jobs}"`);
  const jobs = values.jobs !== undefined ? Number(values.jobs) : configuredJobs();
  if (chosen === 'privileged' && labs.some((l) => l.environment === 'sandbox')) {
    log(
      'kgrade: WARNING: --isolation privileged: sandboxes are privileged containers, root inside is root on this host. This is not a security boundary: grade only submissions you trust, or on a disposable machine.',
    );
  }
  return { isolation: chosen, jobs };
}

export const CLUSTER_OPTIONS = {
  provider: {
    type: 'string',
    group: 'cluster',
    value: 'kind|existing',
    help: 'the cluster: kind (default) or an existing one (default when --kubeconfig is given)',
  },
  kubeconfig: {
    type: 'string',
    group: 'cluster',
    value: 'FILE',
    help: 'any other cluster (provider existing), with --context',
  },
  context: { type: 'string', group: 'cluster', value: 'NAME', help: "the kubeconfig's context to use" },
  'node-image': {
    type: 'string',
    group: 'cluster',
    value: 'IMAGE',
    help: `kind: run this node image instead of building one
(e.g. kind's published kindest/node:v1.31.0 where a
registry is reachable: saves the half-hour build)`,
  },
  'kubernetes-version': {
    type: 'string',
    group: 'cluster',
    value: 'vX.Y.Z',
    help: 'kind: build the node image for this version',
  },
  'kube-proxy-mode': {
    type: 'string',
    group: 'cluster',
    value: KUBE_PROXY_MODES.join('|'),
    help: `kind: kube-proxy's mode (default iptables); a running
cluster in the other mode is recreated`,
  },
} as const;

type ClusterValues = OptionValues<typeof CLUSTER_OPTIONS>;

export function clusterChoice(values: ClusterValues): ClusterChoice {
  const provider = values.provider ?? (values.kubeconfig ? 'existing' : 'kind');
  if (provider !== 'kind' && provider !== 'existing')
    throw new OptionError(`--provider must be kind or existing, not "${provider}"`);
  if (provider === 'existing' && (values['node-image'] || values['kubernetes-version'] || values['kube-proxy-mode'])) {
    throw new OptionError(
      '--node-image, --kubernetes-version and --kube-proxy-mode choose how kind makes its cluster; an existing cluster has its own',
    );
  }
  const mode = values['kube-proxy-mode'];
  if (mode !== undefined && !isKubeProxyMode(mode))
    throw new OptionError(`--kube-proxy-mode must be ${KUBE_PROXY_MODES.join(' or ')}, not "${mode}"`);
  return {
    provider,
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values['node-image'] ? { nodeImage: values['node-image'] } : {}),
    ...(values['kubernetes-version'] ? { kubernetesVersion: values['kubernetes-version'] } : {}),
    ...(mode ? { kubeProxyMode: mode } : {}),
  };
}

/**
 * kgrade's admission policies for submission namespaces, on any cluster it grades on (kept
 * when current). A grade does not wait here: its first namespace waits for the same install,
 * and a failure is that namespace's error.
 */
export async function installSubmissionAdmission(
  kc: import('../vendor/kubernetes-client.js').KubeConfig,
  wait: boolean,
): Promise<void> {
  const installing = (await import('../kube/admission.js')).ensureAdmission(kc).then((changed) => {
    if (changed.length) log(`kgrade: admission policies for submission namespaces: ${changed.join(', ')}`);
  });
  if (wait) await installing;
  else installing.catch(() => undefined);
}

/** What a lab's scenarios run on: the node image for sandbox labs; for cluster labs, the cluster, brought up. */
export async function prepareEnvironment(
  labs: Lab[],
  values: ClusterValues & { 'no-build'?: boolean | undefined },
  isolation?: Isolation,
): Promise<{ image: string; cluster?: WorldParameters['cluster'] }> {
  const image = labs.some((l) => l.environment === 'sandbox')
    ? await ensureNodeImage({
        build: !values['no-build'],
        log,
        ...(isolation === 'userns'
          ? { usableWithoutDocker: (await import('../env/sandbox/userns-rootfs.js')).hasPreparedRootfs }
          : {}),
      })
    : '';
  if (isolation === 'vm' && image)
    await (await import('../env/sandbox/vm-images.js')).ensureVmImages({ build: !values['no-build'], log });
  if (!labs.some((l) => l.environment === 'cluster')) return { image };
  const choice = clusterChoice(values);
  const provider = await providerFor(choice);
  const status = await provider.up(log);
  await installSubmissionAdmission(provider.kubeConfig(), false);
  return {
    image,
    cluster: { provider: choice.provider, kubeconfig: status.ref.kubeconfig, context: status.ref.context },
  };
}
