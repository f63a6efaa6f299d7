import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';
import { DEFAULT_ISOLATION, ISOLATIONS, isIsolation, type Isolation } from './env/sandbox/index.js';

/*
 * The one place that reads kgrade's environment variables; README.md's
 * "Configuration" table lists them. Each is read when asked for, so a change
 * to process.env (a test, a child's environment) is seen. An empty value
 * counts as unset, as the bash scripts' ${VAR:-default} read it.
 */

export type IsolationSetting = Isolation;

/** How many host ids a userns sandbox maps: its slot's range (see usernsBase, usernsSlots). */
export const USERNS_SIZE = 65536;

const MAX_ID = 2 ** 32 - 2;

function setting(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function integerSetting(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = setting(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`${name}=${raw}: must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** The docker CLI kgrade runs: KGRADE_DOCKER, default "docker". */
export function dockerCommand(): string {
  return setting('KGRADE_DOCKER') ?? 'docker';
}

/** The node image that replaces kgrade/node:<images/node/VERSION>: KGRADE_NODE_IMAGE, unset by default. */
export function nodeImageOverride(): string | undefined {
  return setting('KGRADE_NODE_IMAGE');
}

/** Where built images, tools and downloads are kept between runs: KGRADE_CACHE, default ~/.cache/kgrade. */
export function cacheDir(): string {
  return setting('KGRADE_CACHE') ?? path.join(os.homedir(), '.cache/kgrade');
}

/** Where the runtime state of sandboxes lives while they exist: KGRADE_STATE, default /run/kgrade. */
export function stateDir(): string {
  return setting('KGRADE_STATE') ?? '/run/kgrade';
}

/** How a sandbox is kept apart from the grading host: KGRADE_ISOLATION, a runtime's name (src/env/sandbox/index.ts), default userns. */
export function isolation(): IsolationSetting {
  return isolationSetting() ?? DEFAULT_ISOLATION;
}

/** KGRADE_ISOLATION when it is set (checked), else undefined: the lab's kernel pin then chooses. */
export function isolationSetting(): IsolationSetting | undefined {
  const raw = setting('KGRADE_ISOLATION');
  if (raw === undefined) return undefined;
  if (!isIsolation(raw)) {
    throw new UsageError(`KGRADE_ISOLATION=${raw}: must be ${ISOLATIONS.join(', ').replace(/, ([^,]*)$/, ' or $1')}`);
  }
  return raw;
}

/** The host uid and gid a VM sandbox's qemu runs as once started: KGRADE_VM_UID, default 99999. */
export function vmUid(): number {
  return integerSetting('KGRADE_VM_UID', 99_999, 1, MAX_ID);
}

/** How VM sandboxes are run: KGRADE_VM_ACCEL, auto (default: KVM if it boots a VM here, else TCG), kvm or tcg. */
export function vmAccel(): 'auto' | 'kvm' | 'tcg' {
  const raw = setting('KGRADE_VM_ACCEL') ?? 'auto';
  if (raw !== 'auto' && raw !== 'kvm' && raw !== 'tcg')
    throw new UsageError(`KGRADE_VM_ACCEL=${raw}: must be auto, kvm or tcg`);
  return raw;
}

/** The qemu binary of VM sandboxes: KGRADE_QEMU, default qemu-system-x86_64 in /usr/bin or /usr/local/bin. */
export function vmQemu(): string | undefined {
  return setting('KGRADE_QEMU');
}

/**
 * Whether VM sandboxes start from a saved booted node (KGRADE_VM_SNAPSHOT, on by default) rather
 * than booting their kernel each: off is for measuring the difference, or a host whose qemu
 * cannot take a saved state back.
 */
export function vmSnapshots(): boolean {
  const raw = setting('KGRADE_VM_SNAPSHOT') ?? 'on';
  if (raw !== 'on' && raw !== 'off') throw new UsageError(`KGRADE_VM_SNAPSHOT=${raw}: must be on or off`);
  return raw === 'on';
}

/** How many virtual CPUs a VM sandbox has: KGRADE_VM_CPUS, default 1. */
export function vmCpus(): number {
  return integerSetting('KGRADE_VM_CPUS', 1, 1, 8);
}

/** How long a VM sandbox may take to boot until its guest agent answers: KGRADE_VM_BOOT_SECONDS, default 180 (TCG on a loaded host). */
export function vmBootSeconds(): number {
  return integerSetting('KGRADE_VM_BOOT_SECONDS', 180, 1, 3600);
}

/**
 * How many times slower than the host a VM sandbox runs commands, which stretches the lab's
 * deadlines for work inside it: KGRADE_VM_PACE, a number from 1 to 100; unset (default): measured
 * once per process (src/env/sandbox/vm-pace.ts).
 */
export function vmPaceSetting(): number | undefined {
  const raw = setting('KGRADE_VM_PACE');
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < 1 || value > 100) {
    throw new UsageError(`KGRADE_VM_PACE=${raw}: must be a number from 1 to 100 (how many times slower than the host)`);
  }
  return value;
}

/** How many scenarios may run at once: KGRADE_JOBS, default the number of CPU cores. */
export function jobs(): number {
  return integerSetting('KGRADE_JOBS', os.availableParallelism(), 1);
}

/**
 * How many userns sandboxes may exist at once on the machine, each with host ids of its own:
 * KGRADE_USERNS_SLOTS, default 64.
 */
export function usernsSlots(): number {
  return integerSetting('KGRADE_USERNS_SLOTS', 64, 1, 4096);
}

/**
 * The first host uid and gid of the userns sandboxes' ranges: KGRADE_USERNS_BASE, default 100000.
 * Slot k maps USERNS_SIZE ids from base + k × USERNS_SIZE (root of the first sandbox is the base).
 */
export function usernsBase(): number {
  return integerSetting('KGRADE_USERNS_BASE', 100_000, 1, MAX_ID - USERNS_SIZE * usernsSlots() + 1);
}

/** The size cap of a userns sandbox's writable layer, like "1g" or "512m": KGRADE_SANDBOX_DISK, default 1g. */
export function sandboxDisk(): string {
  const raw = setting('KGRADE_SANDBOX_DISK') ?? '1g';
  if (!/^[1-9]\d*[kmgt]?$/i.test(raw)) {
    throw new UsageError(`KGRADE_SANDBOX_DISK=${raw}: must be a size such as 1g, 512m or 2048k`);
  }
  return raw;
}

/** The kind cluster's name: KGRADE_CLUSTER, default "kgrade". */
export function kindClusterName(): string {
  return setting('KGRADE_CLUSTER') ?? 'kgrade';
}

/** The kind node image that replaces kgrade/kind-node:<K8S_VERSION>-<NODE_REV>: KGRADE_KIND_IMAGE, unset by default. */
export function kindImageOverride(): string | undefined {
  return setting('KGRADE_KIND_IMAGE');
}

/** The kubeconfig kgrade writes for the kind cluster: KGRADE_KUBECONFIG, default ~/.kube/kgrade/kind-<cluster>.yaml. */
export function kindKubeconfig(clusterName: string): string {
  return setting('KGRADE_KUBECONFIG') ?? path.join(os.homedir(), '.kube', 'kgrade', `kind-${clusterName}.yaml`);
}

/** Seconds to wait for every node Ready and every kube-system pod Running: KGRADE_CLUSTER_READY_SECONDS, default 240. */
export function clusterReadySeconds(): number {
  return integerSetting('KGRADE_CLUSTER_READY_SECONDS', 240, 1);
}

/** The image of the debug pods that reach the nodes of an existing cluster: KGRADE_DEBUG_IMAGE, default busybox:1.36. */
export function debugPodImage(): string {
  return setting('KGRADE_DEBUG_IMAGE') ?? 'busybox:1.36';
}

/** A pin of images/k8s/versions.env (K8S_VERSION, NODE_REV, KIND_VERSION, ...) set in the environment, which wins over the file. */
export function pinnedVersionOverride(name: string): string | undefined {
  return setting(name);
}

/** Whether output may be coloured: not when NO_COLOR is set (https://no-color.org). */
export function colorAllowed(): boolean {
  return setting('NO_COLOR') === undefined;
}

/** Whether kgrade prints when each phase of a run ends, in seconds since the process started: KGRADE_TRACE=1. */
export function traceEnabled(): boolean {
  return setting('KGRADE_TRACE') !== undefined && setting('KGRADE_TRACE') !== '0';
}
