import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { alive } from '../cleanup.js';

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

/** A saved node that no run has used for this long is removed when another is saved beside it. */
const UNUSED_DAYS = 7;

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

/** Removes half-made snapshots of dead runs, and snapshots no run has used for a week (an older qemu or recipe). */
function prune(root: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === keep) continue;
    const dir = path.join(root, name);
    const making = /^\.new-(\d+)-/.exec(name);
    try {
      if (
        making
          ? !alive(Number(making[1]))
          : Date.now() - statSync(path.join(dir, 'ready')).mtimeMs > UNUSED_DAYS * 86_400_000
      )
        rmSync(dir, { recursive: true, force: true });
    } catch {
      // no ready file: a snapshot cut short some other way, left to the week's rule of the folder
      if (Date.now() - statSync(dir).mtimeMs > UNUSED_DAYS * 86_400_000) rmSync(dir, { recursive: true, force: true });
    }
  }
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
      prune(root, key);
      if (existsSync(path.join(dir, 'ready'))) {
        const now = new Date();
        utimesSync(path.join(dir, 'ready'), now, now);
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
