import { rmSync } from 'node:fs';
import { ISOLATIONS, sandboxRuntime, type SandboxRuntime } from './sandbox/index.js';

/** Sandboxes this process started and has not removed yet, with the runtime that removes each. */
const live = new Map<string, SandboxRuntime>();
/** Private folders (submission workspaces) to remove if the process is stopped. */
const paths = new Set<string>();

export function trackPath(dir: string): void {
  paths.add(dir);
}

export function untrackPath(dir: string): void {
  paths.delete(dir);
}

export function track(runtime: SandboxRuntime, name: string): void {
  live.set(name, runtime);
}

export function untrack(name: string): void {
  live.delete(name);
}

/** Removes, synchronously, every sandbox this process still owns; for signal and exit handlers. */
export function removeAllNow(): number {
  const names = [...live.entries()];
  for (const [name, runtime] of names) {
    try {
      runtime.removeSync(name);
    } catch {
      // best effort at exit
    }
    live.delete(name);
  }
  for (const dir of paths) rmSync(dir, { recursive: true, force: true });
  paths.clear();
  return names.length;
}

let installed = false;

/** On Ctrl-C or SIGTERM: remove what this run started, then exit with the conventional code. */
export function installSignalCleanup(log: (line: string) => void): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    const n = removeAllNow();
    log(`kgrade: ${signal}: removed ${n} sandbox(es); nothing is left running`);
    process.exit(code);
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('exit', () => {
    removeAllNow();
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes sandboxes left by kgrade processes that died without cleaning up (kill -9, a crash),
 * of every runtime that has any on this machine.
 */
export async function reapOrphans(isolations: readonly (typeof ISOLATIONS)[number][] = ISOLATIONS): Promise<string[]> {
  // Each runtime lists its own sandboxes (docker, runc): both are asked at once.
  const each = await Promise.all(
    isolations.map(async (isolation) => {
      const removed: string[] = [];
      const runtime = await sandboxRuntime(isolation);
      let listed;
      try {
        listed = await runtime.list();
      } catch {
        return removed; // that runtime cannot be asked now (dockerd down): its orphans wait for the next run
      }
      for (const s of listed) {
        if (s.ownerPid !== process.pid && !alive(s.ownerPid)) {
          await runtime.remove(s.name);
          removed.push(s.name);
        }
      }
      return removed;
    }),
  );
  return each.flat();
}
