import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { classGradescope } from './gradescope.js';
import { toGradebookCsv } from './gradebook.js';
import { toClassIndexHtml } from './index-html.js';
import { toClassJUnitXml } from './junit.js';
import type { ClassResults } from './model.js';
import { studentPagePath } from './page.js';
import { isSafeId } from './read.js';
import { toStudentHtml } from './student-html.js';
import { itemAnalysis } from './items.js';
import { toCanvasCsv, toMoodleCsv, type RosterRecord } from './lms.js';
import { regradeDiffs } from './regrade.js';

/** Every file of the class report, by path relative to the report folder ("/"-separated), in a stable order. */
export function classReportFiles(cls: ClassResults, roster?: RosterRecord): Map<string, string> {
  for (const s of cls.students)
    if (!isSafeId(s.id)) throw new Error(`student id ${JSON.stringify(s.id)} cannot be a file name`);
  const files = new Map<string, string>([
    ['index.html', toClassIndexHtml(cls)],
    ['gradebook.csv', toGradebookCsv(cls)],
    ['junit.xml', toClassJUnitXml(cls)],
    ['canvas.csv', toCanvasCsv(cls, roster)],
    ['moodle.csv', toMoodleCsv(cls, roster)],
    ['items.json', `${JSON.stringify(itemAnalysis(cls), null, 2)}\n`],
  ]);
  if (cls.similarity) files.set('similarity.json', `${JSON.stringify(cls.similarity.pairs, null, 2)}\n`);
  const diffs = regradeDiffs(cls);
  if (diffs.length > 0) files.set('regrade.json', `${JSON.stringify(diffs, null, 2)}\n`);
  for (const s of cls.students) files.set(studentPagePath(s.id), toStudentHtml(cls, s));
  for (const [id, json] of classGradescope(cls)) files.set(`gradescope/${id}/results.json`, json);
  return files;
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw err;
  }
}

/** The files an earlier report wrote for students no longer in the class; nothing else is touched. */
async function removeStale(outDir: string, files: Map<string, string>): Promise<void> {
  for (const name of await names(path.join(outDir, 'students'))) {
    if (name.endsWith('.html') && !files.has(`students/${name}`))
      await rm(path.join(outDir, 'students', name), { force: true });
  }
  for (const name of await names(path.join(outDir, 'gradescope'))) {
    if (files.has(`gradescope/${name}/results.json`)) continue;
    await rm(path.join(outDir, 'gradescope', name, 'results.json'), { force: true });
    await rmdir(path.join(outDir, 'gradescope', name)).catch(() => undefined);
  }
}

/**
 * Writes the class report into outDir: index.html, students/<id>.html, gradebook.csv, junit.xml
 * and gradescope/<id>/results.json. The pages and Gradescope files an earlier report wrote for a
 * student no longer in the batch are removed; no other file is.
 */
export async function writeClassReport(cls: ClassResults, outDir: string, roster?: RosterRecord): Promise<string[]> {
  const files = classReportFiles(cls, roster);
  await removeStale(outDir, files);
  const written: string[] = [];
  for (const [rel, text] of files) {
    const file = path.join(outDir, ...rel.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text, 'utf8');
    written.push(file);
  }
  return written;
}
