import { isolationSetting as configuredIsolationSetting, jobs as configuredJobs } from '../config.js';
import { isProviderKind, PROVIDER_KINDS, PROVIDERS, type ClusterChoice } from '../env/cluster/select.js';
import { isKubeProxyMode, KUBE_PROXY_MODES } from '../env/cluster/proxy-mode.js';
import { installSubmissionAdmission as install } from '../env/environments/cluster.js';
import { type EnvironmentParameters, prepareEnvironments } from '../env/environments/index.js';
import { chooseIsolation, hostCgroupVersion } from '../env/sandbox/choose.js';
import { DEFAULT_ISOLATION, ISOLATIONS, isIsolation, type Isolation, RUNTIMES } from '../env/sandbox/index.js';
import type { Lab } from '../lab/types.js';
import { OptionError, type OptionValues } from './options.js';
import { log } from './output.js';

export { providerFor } from '../env/cluster/select.js';

/** A list of names as the option's messages give it: "a or b or c". */
const either = (names: readonly string[]) => names.join(' or ');

/** Each entry of a registry as a line of an option's help: its name, then what it is. */
function entries(table: Record<string, { help: string }>, suffix: (name: string) => string = () => ''): string {
  const width = Math.max(...Object.keys(table).map((n) => n.length)) + 2;
  return Object.entries(table)
    .map(([name, e]) => `  ${name.padEnd(width)}${e.help}${suffix(name)}`)
    .join('\n');
}

const OWN_KERNEL = ISOLATIONS.filter((i) => RUNTIMES[i].ownKernel);

export const SANDBOX_OPTIONS = {
  isolation: {
    type: 'string',
    group: 'sandbox',
    value: ISOLATIONS.join('|'),
    help: `how a sandbox is kept from the host (default ${DEFAULT_ISOLATION},
or ${either(OWN_KERNEL)} when the lab pins a cgroup version this host lacks):
${entries(RUNTIMES, (i) => (isIsolation(i) && RUNTIMES[i].notABoundary ? '; NOT a security boundary' : ''))}`,
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
    throw new OptionError(`--isolation must be ${either(ISOLATIONS)}, not "${requested}"`);
  const pins = labs.filter((l) => l.environment === 'sandbox').map((l) => ({ id: l.id, pin: l.kernel.cgroup }));
  const chosen = chooseIsolation(pins, requested);
  if (requested === undefined && chosen !== DEFAULT_ISOLATION)
    log(
      `kgrade: ${pins.map((p) => `${p.id} assumes cgroup ${p.pin}`).join(', ')}; this host runs cgroup ${hostCgroupVersion()}: grading in ${chosen} sandboxes`,
    );
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs))
    throw new OptionError(`--jobs must be a whole number from 1, not "${values.jobs}"`);
  const jobs = values.jobs !== undefined ? Number(values.jobs) : configuredJobs();
  const notABoundary = RUNTIMES[chosen].notABoundary;
  if (notABoundary && labs.some((l) => l.environment === 'sandbox')) {
    log(
      `kgrade: WARNING: --isolation ${chosen}: ${notABoundary}. This is not a security boundary: grade only submissions you trust, or on a disposable machine.`,
    );
  }
  return { isolation: chosen, jobs };
}

export const CLUSTER_OPTIONS = {
  provider: {
    type: 'string',
    group: 'cluster',
    value: PROVIDER_KINDS.join('|'),
    help: `the cluster (default kind, or existing when --kubeconfig
is given):
${entries(PROVIDERS)}`,
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
  if (!isProviderKind(provider))
    throw new OptionError(`--provider must be ${either(PROVIDER_KINDS)}, not "${provider}"`);
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

/** kgrade's admission policies for submission namespaces (kgrade cluster up installs them and waits). */
export function installSubmissionAdmission(
  kc: import('../vendor/kubernetes-client.js').KubeConfig,
  wait: boolean,
): Promise<void> {
  return install(kc, wait, log);
}

/**
 * What the labs' scenarios run on, prepared for each environment kind they use (the node image,
 * the runtime's own images; the cluster, brought up): each lab's world parameters.
 */
export function prepareEnvironment(
  labs: Lab[],
  values: ClusterValues & { 'no-build'?: boolean | undefined },
  isolation: Isolation,
): Promise<(lab: Lab) => EnvironmentParameters> {
  return prepareEnvironments(labs, {
    isolation,
    cluster: () => clusterChoice(values),
    build: !values['no-build'],
    log,
  });
}
