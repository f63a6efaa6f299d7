import { trace } from '../../trace.js';
import type { Sandbox, SandboxOptions } from './index.js';

/**
 * VMs started ahead: while a scenario runs in one VM, the next scenario's VM starts beside it.
 * A spare is made only for a caller that says it will start more sandboxes like this one
 * (`ahead`), at most that many per kind (image, images folder, accelerator, cgroup version, lab);
 * a spare is handed to one start only, and whatever spare is left at exit is removed. Spares are
 * shared by the submissions one process grades (verify, batch): none has been used by anyone.
 */
export class VmPool {
  private readonly spares = new Map<string, Promise<Sandbox>[]>();
  /** Spares booted or booting that no start has taken yet, by name. */
  private readonly untaken = new Set<string>();
  private exitHook = false;

  constructor(
    /**
     * Boots a VM, telling `named` its name as soon as it has one (before qemu starts). `early`:
     * the VM is wanted now and a spare will follow it, so it need not wait to measure its pace.
     */
    private readonly boot: (opts: SandboxOptions, named?: (name: string) => void, early?: boolean) => Promise<Sandbox>,
    /** Removes a VM at once, synchronously: for the exit handler. */
    private readonly removeSync: (name: string) => void,
    /** What else, beside the options, decides what a VM boots (the images folder, the accelerator). */
    private readonly flavour: () => string,
  ) {}

  /** A fresh VM for one scenario: a spare started earlier if there is one, else one started now. */
  async take(opts: SandboxOptions): Promise<Sandbox> {
    const key = this.keyOf(opts);
    const t0 = performance.now();
    const spare = this.spares.get(key)?.shift();
    let node: Sandbox | undefined;
    if (spare) {
      node = await spare.catch(() => undefined); // a spare that did not boot: boot again, and report that boot
      if (node) this.untaken.delete(node.name);
    }
    const from = node ? 'a spare' : 'started now';
    node ??= await this.boot(opts, undefined, (opts.ahead ?? 0) >= 1);
    trace(`${node.name} taken (${from}) after waiting ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    this.refill(key, opts);
    return node;
  }

  /** Boots spares up to `ahead` for this kind, one after the other: spares do not race each other for the CPU. */
  private refill(key: string, opts: SandboxOptions): void {
    const want = Math.max(0, Math.floor(opts.ahead ?? 0));
    const list = this.spares.get(key) ?? [];
    this.spares.set(key, list);
    if (list.length >= want) return;
    this.hookExit();
    const previous = list.at(-1);
    const next = (async () => {
      if (previous) await previous.catch(() => undefined);
      return this.boot(opts, (name) => this.untaken.add(name));
    })();
    next.catch(() => undefined);
    list.push(next);
    if (list.length < want) this.refill(key, opts);
  }

  private keyOf(opts: SandboxOptions): string {
    return JSON.stringify([opts.image, opts.purpose, opts.cgroup ?? '', this.flavour()]);
  }

  /** Spares belong to no scenario: nobody else would remove them when the process ends. */
  private hookExit(): void {
    if (this.exitHook) return;
    this.exitHook = true;
    process.once('exit', () => this.removeUntakenSync());
  }

  /** Removes every spare no start has taken, booted or booting. */
  removeUntakenSync(): void {
    for (const name of this.untaken) this.removeSync(name);
    this.untaken.clear();
    // Every spare still listed is one of those: none may be handed out after its removal.
    this.spares.clear();
  }
}
