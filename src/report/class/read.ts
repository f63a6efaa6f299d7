import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BatchRecord, StoredResult } from '../../batch/records.js';
import { UsageError } from '../../errors.js';
import { validateGradeResult } from '../results-json.js';
import { assembleClass, type ClassResults, type StoredEntry } from './model.js';

/** A student id is a file name in results/ and in the report: one path segment, nothing that climbs or hides. */
export function isSafeId(id: string): boolean {
  return id !== '' && id !== '.' && id !== '..' && id.length <= 255 && !/[/\\\u0000-\u001f\u007f]/.test(id);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function batchProblems(data: unknown): string[] {
  if (!isObject(data)) return ['is not a JSON object'];
  const problems: string[] = [];
  if (data['schemaVersion'] !== 1)
    problems.push(`schemaVersion is ${JSON.stringify(data['schemaVersion'])}, this kgrade reads 1`);
  const lab = data['lab'];
  if (
    !isObject(lab) ||
    typeof lab['id'] !== 'string' ||
    typeof lab['title'] !== 'string' ||
    typeof lab['hash'] !== 'string' ||
    typeof lab['maxScore'] !== 'number'
  ) {
    problems.push('lab must hold id, title, hash (strings) and maxScore (a number)');
  }
  if (typeof data['kgradeVersion'] !== 'string') problems.push('kgradeVersion must be a string');
  const students = data['students'];
  if (!Array.isArray(students) || !students.every((s) => typeof s === 'string'))
    problems.push('students must be a list of ids');
  else
    for (const s of students as string[])
      if (!isSafeId(s)) problems.push(`student id ${JSON.stringify(s)} cannot be a file name`);
  return problems;
}

function storedProblems(data: unknown, file: string): string[] {
  if (!isObject(data)) return ['is not a JSON object'];
  const problems: string[] = [];
  if (data['schemaVersion'] !== 1)
    problems.push(`schemaVersion is ${JSON.stringify(data['schemaVersion'])}, this kgrade reads 1`);
  if (typeof data['student'] !== 'string') problems.push('student must be a string');
  if (data['status'] !== 'graded' && data['status'] !== 'error')
    problems.push(`status is ${JSON.stringify(data['status'])}, must be "graded" or "error"`);
  if (data['reason'] !== undefined && typeof data['reason'] !== 'string') problems.push('reason must be a string');
  if (typeof data['attempts'] !== 'number') problems.push('attempts must be a number');
  const p = data['provenance'];
  if (
    !isObject(p) ||
    !['kgradeVersion', 'labHash', 'environment', 'submissionHash'].every((k) => typeof p[k] === 'string')
  ) {
    problems.push('provenance must hold kgradeVersion, labHash, environment and submissionHash (strings)');
  }
  if (data['result'] !== undefined) {
    try {
      validateGradeResult(data['result'], `${file}: result`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

async function readEntry(dir: string, name: string): Promise<StoredEntry> {
  const id = name.slice(0, -'.json'.length);
  const file = path.join(dir, 'results', name);
  let data: unknown;
  try {
    data = await readJson(file);
  } catch (err) {
    return { id, unreadable: `results/${name} cannot be read: ${(err as Error).message.replace(`${file}: `, '')}` };
  }
  const problems = storedProblems(data, `results/${name}`);
  if (problems.length > 0) return { id, unreadable: `results/${name} is not a stored result: ${problems.join('; ')}` };
  return { id, stored: data as StoredResult };
}

/**
 * Reads a batch's output folder (batch.json and results/*.json, as src/batch/records.ts describes
 * them) into the class the report shows. A results file that cannot be read or used makes that
 * student an error with the reason; a folder without a usable batch.json is a usage error.
 */
export async function readClassResults(dir: string): Promise<ClassResults> {
  const batchFile = path.join(dir, 'batch.json');
  let batch: unknown;
  try {
    batch = await readJson(batchFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(
        `${dir}: no batch.json there: kgrade report DIR reads the output folder of kgrade batch (or kgrade merge)`,
        { cause: err },
      );
    }
    throw new UsageError(`cannot read ${batchFile}: ${(err as Error).message}`, { cause: err });
  }
  const problems = batchProblems(batch);
  if (problems.length > 0)
    throw new UsageError(`${batchFile} is not a batch record:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  let names: string[];
  try {
    names = (await readdir(path.join(dir, 'results'), { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith('.json') && e.name !== '.json' && isSafeId(e.name.slice(0, -5)))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    names = [];
  }
  const entries: StoredEntry[] = [];
  for (const name of names) entries.push(await readEntry(dir, name));
  return assembleClass(batch as BatchRecord, entries);
}
