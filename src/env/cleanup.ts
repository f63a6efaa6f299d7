import { rmSync } from 'node:fs';
import type { SandboxRuntime } from './sandbox/index.js';

/*
 * The process-wide cleanup registry: the sandboxes and private folders this process made and has
 * not removed yet, removed on Ctrl-C, SIGTERM and exit. The reaper (reaper.ts) is for what other,
 * dead processes left behind.
 */

/** Sandboxes this process started and has not removed yet, with the runtime that removes each. */
const live = new Map<string, SandboxRuntime>();
/** A submission's private copy is os.tmpdir()/<prefix><name>-XXXXXX, its owner's PID in <owner>. */
export const WORKSPACE_PREFIX = 'kgrade-sub-';
export const WORKSPACE_OWNER = 'owner';

/** Private folders (submission workspaces) to remove if the process is stopped. */
const paths = new Set<string>();

export function trackPath(dir: string): void {
  paths.add(dir);
  hookExit();
}

export function untrackPath(dir: string): void {
  paths.delete(dir);
}

let exitHooked = false;

/**
 * The first sandbox or folder tracked hooks the process's exit: a program that uses kgrade as a
 * library (a test, a script) and ends without removing them, a failed assertion's path, still
 * leaves no qemu, container or copy behind. Signals are the command line's to handle
 * (installSignalCleanup), not a library's.
 */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    removeAllNow();
  });
}

/** Records a sandbox this process started, removed at exit or on a signal unless untracked first. */
export function track(runtime: SandboxRuntime, name: string): void {
  live.set(name, runtime);
  hookExit();
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
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
