import { rmSync } from 'node:fs';
import { execaSync } from 'execa';
import { docker, dockerBinary } from './docker.js';

/** Containers this process started and has not removed yet. */
const live = new Set<string>();
/** Private folders (submission workspaces) to remove if the process is stopped. */
const paths = new Set<string>();

export function trackPath(dir: string): void {
  paths.add(dir);
}

export function untrackPath(dir: string): void {
  paths.delete(dir);
}

export function track(container: string): void {
  live.add(container);
}

export function untrack(container: string): void {
  live.delete(container);
}

/** Removes, synchronously, every container this process still owns; for signal and exit handlers. */
export function removeAllNow(): number {
  const names = [...live];
  for (const name of names) {
    try {
      execaSync(dockerBinary(), ['rm', '-f', '-v', name], { reject: false, timeout: 60_000, stdio: 'ignore' });
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
    log(`kgrade: ${signal}: removed ${n} sandbox container(s); nothing is left running`);
    process.exit(code);
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('exit', () => {
    removeAllNow();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes sandboxes left by kgrade processes that died without cleaning up (kill -9, a crash). */
export async function reapOrphans(): Promise<string[]> {
  const r = await docker(['ps', '-a', '--filter', 'label=kgrade=sandbox', '--format', '{{.Names}} {{.Label "kgrade.owner-pid"}}']);
  if (r.code !== 0) return [];
  const removed: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const [name, pidText] = line.trim().split(/\s+/);
    const pid = Number(pidText);
    if (!name || !Number.isInteger(pid) || pid <= 0) continue;
    if (pid !== process.pid && !alive(pid)) {
      await docker(['rm', '-f', '-v', name]);
      removed.push(name);
    }
  }
  return removed;
}
