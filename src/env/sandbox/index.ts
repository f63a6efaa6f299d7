import type { Node } from '../../node.js';

export interface SandboxOptions {
  image: string;
  runId: string;
  /** Shown where the runtime lists its sandboxes: the lab and the scenario it serves. */
  purpose: string;
  /** The cgroup version the sandbox's kernel mounts, where the runtime can choose it (vm); else the host's. */
  cgroup?: 'v1' | 'v2';
  /** How many more sandboxes like this one the caller means to start soon (its --jobs): vm boots that many ahead. */
  ahead?: number;
}

/** A disposable node for one scenario. */
export interface Sandbox extends Node {
  readonly isolation: Isolation;
  /** The sandbox's kernel release and cgroup version, where it has a kernel of its own (vm). */
  readonly kernel?: string;
  readonly cgroup?: string;
  /** How many times slower than the host it runs commands, where its runtime measured it (vm); see Node. */
  readonly pace?: number;
  /** Removes the sandbox and everything it made on the host (cgroups, mounts, state). */
  destroy(): Promise<void>;
}

/** A sandbox that could not be removed: kept out of the way, and out of the reaper's list. */
export interface SetAsideSandbox {
  name: string;
  /** Why its removal failed, and when it was set aside. */
  reason: string;
  since: string;
}

export interface SandboxListing {
  name: string;
  /** The kgrade process that started it; a sandbox whose owner is gone is an orphan. */
  ownerPid: number;
}

/**
 * One way of making sandboxes: a file beside this one that exports it, and its entry in RUNTIMES
 * below. Every list of runtimes (KGRADE_ISOLATION, --isolation and its help, results.json's
 * isolation, the reports' wording and warnings) is read from RUNTIMES; the isolation enum of
 * schemas/results.schema.json is a copy that test/unit/registries.test.ts holds equal to it.
 */
export interface SandboxRuntime {
  readonly isolation: Isolation;
  /** What a sandbox needs before the first starts (images of its own); absent when the node image is all. */
  prepare?(opts: { build: boolean; log: (line: string) => void }): Promise<void>;
  /** The release of the kernel its sandboxes run, where it boots one of its own; absent: the host's. */
  kernelRelease?(): string;
  /** Whether the runtime can make sandboxes of this image without Docker (a root it prepared earlier). */
  preparedWithoutDocker?(image: string): boolean;
  start(opts: SandboxOptions): Promise<Sandbox>;
  /** Every sandbox of this runtime on the machine, whoever started it. */
  list(): Promise<SandboxListing[]>;
  /**
   * Removes a sandbox by name (an orphan, one this process still holds, or one set aside earlier).
   * What cannot be removed is set aside (see setAside) and the GraderError says so.
   */
  remove(name: string): Promise<void>;
  /** Sandboxes whose removal failed: list() leaves them out; `kgrade clean` tries them again. */
  setAside(): Promise<SetAsideSandbox[]>;
  /** The same, synchronously: for exit and signal handlers. */
  removeSync(name: string): void;
}

/** What kgrade says of a runtime without loading it: its help, its wording in reports, its warning. */
export interface RuntimeEntry {
  /** --isolation's help: what it is, in a few words. */
  readonly help: string;
  /** The reports: what stood between a submission and the grading host (no final period). */
  readonly boundary: string;
  /**
   * null when the runtime is a security boundary; else what makes it none, in the words of every
   * warning (the CLI's when it is chosen, the summaries' of a submission it graded).
   */
  readonly notABoundary: string | null;
  /** Boots a kernel of its own, with the cgroup version a lab pins: grades labs the host's kernel cannot. */
  readonly ownKernel: boolean;
  load(): Promise<SandboxRuntime>;
}

/** The sandbox runtimes, by the name --isolation and KGRADE_ISOLATION give them. */
export const RUNTIMES = {
  userns: {
    help: 'root inside is an unprivileged uid on the host',
    boundary: 'root inside was an unprivileged user on the grading host',
    notABoundary: null,
    ownKernel: false,
    load: async () => (await import('./userns.js')).usernsRuntime,
  },
  privileged: {
    help: 'for hosts without user namespaces',
    boundary: 'root inside was root on the grading host',
    notABoundary: 'sandboxes are privileged containers, root inside is root on this host',
    ownKernel: false,
    load: async () => (await import('./privileged.js')).privilegedRuntime,
  },
  vm: {
    help: 'a VM with its own kernel per scenario (images/vm/build.sh)',
    boundary: 'a virtual machine with its own kernel; on the grading host only an unprivileged qemu process ran',
    notABoundary: null,
    ownKernel: true,
    load: async () => (await import('./vm.js')).vmRuntime,
  },
} satisfies Record<string, RuntimeEntry>;

/** How a sandbox is kept apart from the grading host: a runtime's name. */
export type Isolation = keyof typeof RUNTIMES;
export const ISOLATIONS = Object.keys(RUNTIMES) as Isolation[];
export const DEFAULT_ISOLATION: Isolation = 'userns';

export function isIsolation(value: string): value is Isolation {
  return Object.hasOwn(RUNTIMES, value);
}

export function runtimeEntry(isolation: Isolation): RuntimeEntry {
  return RUNTIMES[isolation];
}

export function sandboxRuntime(isolation: Isolation): Promise<SandboxRuntime> {
  return RUNTIMES[isolation].load();
}

export async function startSandbox(isolation: Isolation, opts: SandboxOptions): Promise<Sandbox> {
  return (await sandboxRuntime(isolation)).start(opts);
}
