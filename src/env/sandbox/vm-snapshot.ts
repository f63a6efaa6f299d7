import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CacheRule, markUsed, pruneCache } from '../cache-prune.js';

/**
 * A booted node, saved: the disk overlay it had written and its RAM and device state, taken once
 * its agent answered and its network was set up, before any submission ran. A VM sandbox starts
 * from it (qemu -incoming) in a fraction of a second instead of booting its kernel again; its
 * writes go to an overlay of its own on top of the saved one, which no VM writes.
 */
export interface VmSnapshot {
  dir: string;
  /** The saved disk overlay: the backing file of every VM restored from this snapshot. */
  overlay: string;
  /** qemu's migration stream: the RAM and devices. */
  state: string;
}

/** Half-made nodes of dead runs go, and so does a node no run has used for a week (an older qemu or recipe). */
const STORE: CacheRule = { making: /^\.new-(\d+)-/, stamp: 'ready', unusedDays: 7 };

/**
 * The name of a snapshot: everything that must match for qemu to take the state back (its binary,
 * the machine and devices it was given, the images, the accelerator, the cgroup version).
 */
export function snapshotKey(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

const promised = new Map<string, Promise<VmSnapshot>>();

function at(dir: string): VmSnapshot {
  return { dir, overlay: path.join(dir, 'overlay.qcow2'), state: path.join(dir, 'state') };
}

/**
 * The snapshot named `key` under `root`, made by `make(folder)` the first time any run asks for
 * it. Runs that make it at once each make their own and the first to finish is kept; the rest
 * throw theirs away. A run asks only once per key, whatever its number of VMs.
 */
export function snapshotFor(root: string, key: string, make: (into: string) => Promise<void>): Promise<VmSnapshot> {
  let p = promised.get(key);
  if (!p) {
    p = (async () => {
      const dir = path.join(root, key);
      pruneCache(root, STORE, [key]);
      if (existsSync(path.join(dir, 'ready'))) {
        markUsed(dir, STORE);
        return at(dir);
      }
      mkdirSync(root, { recursive: true, mode: 0o755 });
      const tmp = path.join(root, `.new-${process.pid}-${randomBytes(4).toString('hex')}`);
      mkdirSync(tmp, { mode: 0o755 });
      try {
        await make(tmp);
        writeFileSync(path.join(tmp, 'ready'), `${new Date().toISOString()}\n`);
        try {
          renameSync(tmp, dir);
        } catch (err) {
          if (!existsSync(path.join(dir, 'ready'))) throw err;
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return at(dir);
    })();
    promised.set(key, p);
    p.catch(() => promised.delete(key));
  }
  return p;
}
