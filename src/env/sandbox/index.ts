import type { Node } from '../node.js';

/**
 * How a sandbox is kept apart from the grading host.
 * - userns: root inside is an unprivileged uid range on the host (runc with a user namespace);
 *   the default, and a real boundary.
 * - privileged: a privileged Docker container; root inside is root on the host. For hosts whose
 *   kernel has user namespaces disabled; not a security boundary.
 * - vm: a virtual machine with its own kernel (qemu); the host sees an unprivileged qemu process.
 */
export const ISOLATIONS = ['userns', 'privileged', 'vm'] as const;
export type Isolation = (typeof ISOLATIONS)[number];
export const DEFAULT_ISOLATION: Isolation = 'userns';

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
 * One way of making sandboxes. Adding one is a file beside this one, its name in ISOLATIONS and a
 * line in RUNTIMES, and today also: the isolation's type in src/config.ts (KGRADE_ISOLATION) and
 * src/grade/model.ts, the isolation enum of schemas/results.schema.json and the README; for a
 * runtime that is no security boundary, the warnings of src/cli/environment.ts and
 * src/report/summary.ts, markdown.ts. Six files, or nine.
 */
export interface SandboxRuntime {
  readonly isolation: Isolation;
  /** One sentence for reports: what stands between a submission and the grading host. */
  readonly boundary: string;
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

const RUNTIMES: Record<Isolation, () => Promise<SandboxRuntime>> = {
  userns: async () => (await import('./userns.js')).usernsRuntime,
  privileged: async () => (await import('./privileged.js')).privilegedRuntime,
  vm: async () => (await import('./vm.js')).vmRuntime,
};

export function isIsolation(value: string): value is Isolation {
  return (ISOLATIONS as readonly string[]).includes(value);
}

export function sandboxRuntime(isolation: Isolation): Promise<SandboxRuntime> {
  return RUNTIMES[isolation]();
}

export async function startSandbox(isolation: Isolation, opts: SandboxOptions): Promise<Sandbox> {
  return (await sandboxRuntime(isolation)).start(opts);
}
