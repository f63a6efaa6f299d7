import { chmod, cp, lstat, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { trackPath, untrackPath, WORKSPACE_OWNER, WORKSPACE_PREFIX } from '../env/cleanup.js';
import type { LabFile } from './types.js';

export interface Submission {
  /** Folder name of the submission, used as its name in reports. */
  name: string;
  /** Where the student's folder was. */
  source: string;
  /** A private read-only copy the grader works from. */
  workspace: string;
  bytes: number;
  /** Contract files that are missing: the scenarios that use them fail, the others still count. */
  missing: string[];
  /** Set when the submission cannot be graded at all (over the size cap): every graded scenario fails with it. */
  rejected?: string;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await sizeOf(p);
    else if (entry.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

async function makeReadOnly(p: string): Promise<void> {
  const s = await lstat(p);
  if (s.isSymbolicLink()) return;
  if (s.isDirectory()) {
    for (const e of await readdir(p)) await makeReadOnly(path.join(p, e));
    await chmod(p, 0o555);
  } else {
    await chmod(p, s.mode & 0o111 ? 0o555 : 0o444);
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/**
 * Checks a student's folder against the lab's contract and copies it into a
 * private, read-only workspace. Symbolic links are copied as links, never followed.
 */
export async function takeSubmission(lab: LabFile, source: string): Promise<Submission> {
  const dir = path.resolve(source);
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new UsageError(`submission ${source}: no such folder`);
  const name = path.basename(dir);
  const bytes = await sizeOf(dir);
  const workspace = await mkdtemp(
    path.join(os.tmpdir(), `${WORKSPACE_PREFIX}${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-`),
  );
  const missing: string[] = [];
  for (const f of lab.submission.files) {
    const st = await lstat(path.join(dir, f.path)).catch(() => undefined);
    if (!st?.isFile()) missing.push(f.path);
  }
  const sub: Submission = { name, source: dir, workspace, bytes, missing };
  if (bytes > lab.submission.maxBytes) {
    sub.rejected = `the submission is ${formatBytes(bytes)}, over this lab's cap of ${formatBytes(lab.submission.maxBytes)}; it was not run`;
    return sub;
  }
  trackPath(workspace);
  try {
    // Who holds this copy: after a kill -9 the next run's reaper removes it (env/reaper.ts).
    await writeFile(path.join(workspace, WORKSPACE_OWNER), `${process.pid}\n`);
    await cp(dir, path.join(workspace, 'files'), {
      recursive: true,
      verbatimSymlinks: true,
      dereference: false,
      // Only files, folders and links: a FIFO, socket or device in a submission is not copied.
      filter: async (src) => {
        const st = await lstat(src);
        return st.isFile() || st.isDirectory() || st.isSymbolicLink();
      },
    });
    await makeReadOnly(path.join(workspace, 'files'));
  } catch (err) {
    await releaseSubmission(sub);
    throw err;
  }
  return sub;
}

export async function releaseSubmission(sub: Submission): Promise<void> {
  await rm(sub.workspace, { recursive: true, force: true, maxRetries: 2 });
  untrackPath(sub.workspace);
}
