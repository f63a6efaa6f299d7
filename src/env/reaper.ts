import { readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ISOLATIONS, sandboxRuntime, type Isolation, type SetAsideSandbox } from './sandbox/index.js';
import { alive, WORKSPACE_OWNER, WORKSPACE_PREFIX } from './cleanup.js';

export interface ReapReport {
  removed: string[];
  /** Sandboxes that could not be removed and are kept aside (this time or an earlier one), with why. */
  setAside: SetAsideSandbox[];
  /** Private submission copies of dead runs that were removed. */
  copies?: string[];
}

export interface ReapOptions {
  /** Told, one line each, about what could not be removed: a warning, never a failure. */
  warn?: (line: string) => void;
  /** Also try again the sandboxes set aside earlier (`kgrade clean`). */
  retrySetAside?: boolean;
  isolations?: readonly Isolation[];
}

/**
 * Removes sandboxes left by kgrade processes that died without cleaning up (kill -9, a crash),
 * of every runtime that has any on this machine. Never throws for another run's leftovers: what
 * will not go is set aside, reported, and left for `kgrade clean`.
 */
export async function reapOrphans(opts: ReapOptions = {}): Promise<ReapReport> {
  const warn = opts.warn ?? (() => undefined);
  // Each runtime lists its own sandboxes (docker, runc): both are asked at once.
  const each = await Promise.all(
    (opts.isolations ?? ISOLATIONS).map(async (isolation): Promise<ReapReport> => {
      const report: ReapReport = { removed: [], setAside: [] };
      const runtime = await sandboxRuntime(isolation);
      let listed: string[];
      try {
        listed = (await runtime.list())
          .filter((s) => s.ownerPid !== process.pid && !alive(s.ownerPid))
          .map((s) => s.name);
        if (opts.retrySetAside) listed.push(...(await runtime.setAside()).map((s) => s.name));
      } catch {
        return report; // that runtime cannot be asked now (dockerd down): its orphans wait for the next run
      }
      for (const name of listed) {
        try {
          await runtime.remove(name);
          report.removed.push(name);
        } catch (err) {
          warn(`kgrade: warning: a sandbox left by an earlier run could not be removed: ${(err as Error).message}`);
        }
      }
      try {
        report.setAside = await runtime.setAside();
      } catch {
        // unreadable now: the next run reports it
      }
      return report;
    }),
  );
  const report: ReapReport = {
    removed: each.flatMap((r) => r.removed),
    setAside: each.flatMap((r) => r.setAside),
    copies: await reapSubmissionCopies(warn),
  };
  if (!opts.retrySetAside && report.setAside.length) {
    warn(
      `kgrade: warning: ${report.setAside.length} sandbox(es) of earlier runs could not be removed and are set aside (${report.setAside.map((s) => s.name).join(', ')}): \`kgrade clean\` tries again`,
    );
  }
  return report;
}

/**
 * Removes the private submission copies (lab/submission.ts) of kgrade processes that died
 * without cleaning up: a copy whose owner is gone, or one with no owner file that is over a
 * minute old (a run killed between making the folder and writing the file).
 */
async function reapSubmissionCopies(warn: (line: string) => void): Promise<string[]> {
  const tmp = os.tmpdir();
  const removed: string[] = [];
  for (const entry of await readdir(tmp).catch(() => [] as string[])) {
    if (!entry.startsWith(WORKSPACE_PREFIX)) continue;
    const dir = path.join(tmp, entry);
    const owner = Number((await readFile(path.join(dir, WORKSPACE_OWNER), 'utf8').catch(() => '')).trim());
    if (owner > 0) {
      if (owner === process.pid || alive(owner)) continue;
    } else {
      const made = await stat(dir).catch(() => undefined);
      if (!made?.isDirectory() || Date.now() - made.mtimeMs < 60_000) continue;
    }
    try {
      await rm(dir, { recursive: true, force: true, maxRetries: 2 });
      removed.push(dir);
    } catch (err) {
      warn(`kgrade: warning: a submission copy left by an earlier run could not be removed: ${(err as Error).message}`);
    }
  }
  return removed;
}
