import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { alive } from '../env/cleanup.js';
import { UsageError } from '../errors.js';
import type { BatchRecord, StoredResult } from './records.js';

/**
 * The batch's output folder on disk: results/<id>.json and batch.json, each written atomically
 * (a temporary file in the same folder, flushed, then renamed over the old one), so a batch killed
 * at any moment leaves every file either whole or absent.
 */

export const resultFile = (out: string, id: string) => path.join(out, 'results', `${id}.json`);
export const batchFile = (out: string) => path.join(out, 'batch.json');

const TEMP = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;

/** Writes text to file atomically: a reader sees the old content or the new, never a part. */
export async function writeAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  // The rename itself survives a power cut once the folder is flushed too.
  const folder = await open(dir, 'r');
  try {
    await folder.sync().catch(() => undefined);
  } finally {
    await folder.close();
  }
}

export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  await writeAtomic(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** Removes temporary files that a killed writer left in dir (those of live processes stay). */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP.exec(name);
    if (m && !alive(Number(m[1]))) {
      await rm(path.join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

export type StoredRead = { stored: StoredResult } | { missing: true } | { unreadable: string };

/** A student's stored result, or that there is none, or why the file cannot be used. */
export async function readStoredResult(out: string, id: string): Promise<StoredRead> {
  let text: string;
  try {
    text = await readFile(resultFile(out, id), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { unreadable: (err as Error).message };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { unreadable: `not valid JSON: ${(err as Error).message}` };
  }
  const s = data as Partial<StoredResult> | null;
  if (
    !s ||
    typeof s !== 'object' ||
    s.schemaVersion !== 1 ||
    typeof s.student !== 'string' ||
    !s.provenance ||
    typeof s.attempts !== 'number'
  ) {
    return { unreadable: 'not a stored result (schemaVersion 1 with student, status, attempts and provenance)' };
  }
  return { stored: s as StoredResult };
}

export type ReuseDecision = { reuse: true } | { reuse: false; why: string };

/**
 * Whether a stored result stands for this run: only a graded result of the same student, the
 * same lab content and the same submission content. --regrade reuses nothing.
 */
export function reuseDecision(
  read: StoredRead,
  now: { student: string; labHash: string; submissionHash: string },
  regrade: boolean,
): ReuseDecision {
  if (regrade) return { reuse: false, why: '--regrade' };
  if ('missing' in read) return { reuse: false, why: 'not graded yet' };
  if ('unreadable' in read) return { reuse: false, why: `the stored result cannot be used: ${read.unreadable}` };
  const s = read.stored;
  if (s.student !== now.student) return { reuse: false, why: `the stored result is of "${s.student}"` };
  if (s.status !== 'graded' || !s.result)
    return { reuse: false, why: `the stored result is an error${s.reason ? ` (${s.reason})` : ''}` };
  if (s.provenance.labHash !== now.labHash) return { reuse: false, why: 'the lab changed since (another lab hash)' };
  if (s.provenance.submissionHash !== now.submissionHash) return { reuse: false, why: 'the submission changed since' };
  return { reuse: true };
}

export async function writeStoredResult(out: string, stored: StoredResult): Promise<void> {
  await writeJsonAtomic(resultFile(out, stored.student), stored);
}

export async function readBatchRecord(out: string): Promise<BatchRecord | undefined> {
  try {
    return JSON.parse(await readFile(batchFile(out), 'utf8')) as BatchRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`${batchFile(out)} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

export async function writeBatchRecord(out: string, record: BatchRecord): Promise<void> {
  await writeJsonAtomic(batchFile(out), record);
}

/**
 * Takes the output folder for this process: one batch writes a folder at a time. A lock left by a
 * process that died is taken over. Returns the release, which also runs at exit.
 */
export function lockOutput(out: string): () => void {
  const lock = path.join(out, '.lock');
  for (let tries = 0; ; tries += 1) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 2) throw err;
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (owner > 0 && owner !== process.pid && alive(owner))
        throw new UsageError(`${out}: another kgrade batch (PID ${owner}) is writing this folder`);
      unlinkSync(lock);
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    try {
      unlinkSync(lock);
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  return release;
}
