import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readStoredResult, resultFile } from './output-folder.js';
import type { StoredResult } from './records.js';

/*
 * A regrade keeps what it replaces: before a student's new result is written over
 * results/<id>.json, a graded result of another lab version is copied to
 * results/history/<id>/<labhash>.json (once; an existing copy is never written over). The class
 * report reads the latest of them to show whose score moved and on which scenarios.
 */

export const historyDir = (out: string, id: string) => path.join(out, 'results', 'history', id);

/** Keeps the stored result that `next` replaces, when it is a grade of another version of the lab. */
export async function keepHistory(out: string, next: StoredResult): Promise<void> {
  const read = await readStoredResult(out, next.student);
  if (!('stored' in read)) return;
  const before = read.stored;
  if (!before.result || before.provenance.labHash === next.provenance.labHash) return;
  const dir = historyDir(out, next.student);
  await mkdir(dir, { recursive: true });
  const name = `${before.provenance.labHash.replace(/^sha256:/, '')}.json`;
  await copyFile(resultFile(out, next.student), path.join(dir, name), constants.COPYFILE_EXCL).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    },
  );
}

/** Every kept earlier result of a student, oldest first (by when it was graded). */
export async function readHistory(out: string, id: string): Promise<StoredResult[]> {
  const dir = historyDir(out, id);
  const names = await readdir(dir).catch(() => [] as string[]);
  const kept: StoredResult[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      const s = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as StoredResult;
      if (s.schemaVersion === 1 && s.student === id && s.result) kept.push(s);
    } catch {
      // a copy that cannot be read shows no history; the current result stands
    }
  }
  return kept.sort((a, b) => ((a.result?.finishedAt ?? '') < (b.result?.finishedAt ?? '') ? -1 : 1));
}
