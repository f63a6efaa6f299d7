import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { alive } from './cleanup.js';

/**
 * Pruning of a cache folder whose entries are made once and reused by every later run (saved VM
 * nodes, the userns sandboxes' shifted roots): an entry is made in a temporary folder named with
 * its maker's PID, then renamed into place with a stamp file; each run that uses it touches the
 * stamp. What a dead run left half-made, and what no run has used for a while, goes.
 */
export interface CacheRule {
  /** A half-made entry's name; its first group is the PID of the run making it. */
  making: RegExp;
  /** The file inside a finished entry whose mtime says when a run last used it. */
  stamp: string;
  /** An entry no run has used for this many days is removed. */
  unusedDays: number;
}

const DAY_MS = 86_400_000;

/** Records that a run uses the entry at `dir` (its stamp's mtime is now). */
export function markUsed(dir: string, rule: Pick<CacheRule, 'stamp'>): void {
  const now = new Date();
  utimesSync(path.join(dir, rule.stamp), now, now);
}

/**
 * Removes from `root` the entries half-made by runs that are gone, and the finished ones unused for
 * `unusedDays`; the names in `keep` (the caller's own) stay whatever their age. Returns the names removed.
 */
export function pruneCache(root: string, rule: CacheRule, keep: readonly string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const old = (file: string) => Date.now() - statSync(file).mtimeMs > rule.unusedDays * DAY_MS;
  for (const name of names) {
    if (keep.includes(name)) continue;
    const dir = path.join(root, name);
    const making = rule.making.exec(name);
    let gone: boolean;
    try {
      if (making) gone = !alive(Number(making[1]));
      else {
        try {
          gone = old(path.join(dir, rule.stamp));
        } catch {
          // no stamp: an entry cut short some other way, left to the age of its folder
          gone = old(dir);
        }
      }
    } catch {
      continue; // removed by another run meanwhile
    }
    if (!gone) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
