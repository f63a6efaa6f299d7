import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { USERNS_SIZE, usernsBase, usernsSlots } from '../../config.js';
import { GraderError } from '../../errors.js';

/**
 * Each userns sandbox maps its own range of host ids, a slot: slot k is the USERNS_SIZE ids from
 * usernsBase() + k × USERNS_SIZE. Kernel keys and their quota, inotify instances and every other
 * per-uid count of the host are then apart between concurrent sandboxes.
 *
 * A slot is held by the file uid-slot in the sandbox's own folder: it lasts exactly as long as the
 * sandbox's folder (removed with the sandbox, by its owner or by the reaper once the owner died;
 * kept while the sandbox is set aside, since its processes or cgroups may still hold those ids).
 */
const SLOT_FILE = 'uid-slot';

export function slotBase(slot: number): number {
  return usernsBase() + slot * USERNS_SIZE;
}

function slotsInUse(sandboxesDir: string): Set<number> {
  const used = new Set<number>();
  if (!existsSync(sandboxesDir)) return used;
  for (const name of readdirSync(sandboxesDir)) {
    try {
      used.add(Number(readFileSync(path.join(sandboxesDir, name, SLOT_FILE), 'utf8').trim()));
    } catch {
      // a folder being made, before it holds a slot
    }
  }
  return used;
}

/** The slot a sandbox holds, from its folder; undefined when it holds none (yet). */
export function slotOf(bundle: string): number | undefined {
  try {
    return Number(readFileSync(path.join(bundle, SLOT_FILE), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Choosing a free slot and writing it down is one step for every kgrade process on the machine:
 * a lock that is an abstract unix socket named after the id base, which the kernel frees with
 * the process that holds it (a crash leaves no stale lock).
 */
async function withSlotLock<T>(body: () => Promise<T>): Promise<T> {
  const lock = `\0kgrade-uid-slots-${usernsBase()}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const server = net.createServer();
    const got = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
      server.listen({ path: lock }, () => resolve(true));
    });
    if (got) {
      try {
        return await body();
      } finally {
        server.close();
      }
    }
    if (Date.now() > deadline)
      throw new GraderError(
        'could not choose a uid slot for a sandbox within 60 s: another kgrade process holds the slot lock',
      );
    await sleep(20);
  }
}

/** Takes the lowest free slot for the sandbox whose folder is bundle; resolves to its first host id. */
export function leaseSlot(sandboxesDir: string, bundle: string): Promise<number> {
  return withSlotLock(async () => {
    const used = slotsInUse(sandboxesDir);
    const slots = usernsSlots();
    for (let slot = 0; slot < slots; slot += 1) {
      if (used.has(slot)) continue;
      await writeFile(path.join(bundle, SLOT_FILE), `${slot}\n`);
      return slotBase(slot);
    }
    throw new GraderError(
      `all ${slots} uid slots of userns sandboxes are in use (KGRADE_USERNS_SLOTS): let running grades finish, run \`kgrade clean\` for sandboxes set aside, or raise KGRADE_USERNS_SLOTS`,
    );
  });
}

/** A user namespace made for one sandbox, to be joined by runc; release() once runc has. */
export interface HeldUserNamespace {
  path: string;
  release(): void;
}

const UNSHARE_PATHS = ['/usr/bin/unshare', '/bin/unshare'];

/**
 * Makes the sandbox's user namespace as its own root's host uid (base), not as host root, and maps
 * its id range into it. The kernel charges some per-user counts of a namespace to the host uid
 * that owns it (inotify instances, user namespaces), so a namespace runc made as root would spend
 * host root's: owned by base, a sandbox spends only its own slot's. A process holds the namespace
 * until runc's init has joined it; it lives at most HOLD_S seconds, even if kgrade is killed.
 */
const HOLD_S = 300;

export async function holdUserNamespace(base: number): Promise<HeldUserNamespace> {
  const unshare = UNSHARE_PATHS.find((p) => existsSync(p));
  if (!unshare)
    throw new GraderError("cannot make a sandbox's user namespace: unshare(1) is not installed (Debian: util-linux)");
  const child = spawn(unshare, ['--user', '--', 'sleep', String(HOLD_S)], { uid: base, gid: base, stdio: 'ignore' });
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);
  const release = () => {
    child.kill('SIGKILL');
  };
  try {
    const pid = child.pid;
    if (pid === undefined) await spawnError;
    const own = readlinkSync('/proc/self/ns/user');
    const deadline = Date.now() + 20_000;
    let seen = own;
    for (;;) {
      try {
        seen = readlinkSync(`/proc/${pid}/ns/user`);
      } catch (err) {
        throw new GraderError(
          `the process that makes a sandbox's user namespace ended at once (exit ${child.exitCode ?? 'unknown'})`,
          { cause: err },
        );
      }
      if (seen !== own) break;
      if (Date.now() > deadline)
        throw new GraderError(
          `the process that makes a sandbox's user namespace did not make it within 20 s (its namespace is still ${seen})`,
        );
      await sleep(5);
    }
    writeFileSync(`/proc/${pid}/uid_map`, `0 ${base} ${USERNS_SIZE}\n`);
    writeFileSync(`/proc/${pid}/gid_map`, `0 ${base} ${USERNS_SIZE}\n`);
    return { path: `/proc/${pid}/ns/user`, release };
  } catch (err) {
    release();
    throw err instanceof GraderError
      ? err
      : new GraderError(`could not make a sandbox's user namespace as uid ${base}: ${(err as Error).message}`, {
          cause: err,
        });
  }
}
