import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { byId } from './shard.js';

/** How a student handed in: a folder, or an archive that is unpacked (safely) before grading. */
export type SubmissionKind = 'folder' | 'zip' | 'tar.gz';

export interface RosterEntry {
  /** The student's id: the name of their results file and report folder. */
  id: string;
  /** The folder or archive, absolute. */
  source: string;
  kind: SubmissionKind;
  /** The line of a CSV roster that names the student. */
  line?: number;
  /** The roster's submitted column (ISO 8601), when it has one. */
  submitted?: string;
  /** The roster's LMS columns (name, email, sis_user_id, ...), for canvas.csv and moodle.csv. */
  identity?: Record<string, string>;
}

/** Columns a CSV roster with a header line may have besides id and path. */
export const ROSTER_COLUMNS = [
  'submitted',
  'name',
  'email',
  'sis_user_id',
  'sis_login_id',
  'canvas_id',
  'section',
  'username',
  'idnumber',
] as const;

export interface Roster {
  students: RosterEntry[];
  /** Entries of a submissions folder that are no submission (a README, a .pdf): named, not graded. */
  ignored: string[];
  /** The CSV roster, when the students came from one. */
  file?: string;
  /** The CSV roster's columns (id, path, then others), or none for a folder. */
  columns: string[];
}

const ARCHIVES: Array<[suffix: string, kind: SubmissionKind]> = [
  ['.tar.gz', 'tar.gz'],
  ['.tgz', 'tar.gz'],
  ['.zip', 'zip'],
];

/** Why an id cannot name a student (it becomes a file name), or undefined when it can. */
export function studentIdProblem(id: string): string | undefined {
  if (id === '') return 'a student id cannot be empty';
  if (id.length > 128) return `student id "${id.slice(0, 40)}…" is longer than 128 characters`;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$/.test(id)) {
    return `student id ${JSON.stringify(id)} may hold only letters, digits and _ . @ + - (and not start with . + - or @)`;
  }
  return undefined;
}

/** The kind of submission a path names, from its ending: an archive, or else a folder. */
export function kindOf(file: string): SubmissionKind {
  const lower = file.toLowerCase();
  return ARCHIVES.find(([suffix]) => lower.endsWith(suffix))?.[1] ?? 'folder';
}

/** A student's id and kind from an entry of a submissions folder; undefined for a file that is no archive. */
export function entryOfFolder(name: string, isDirectory: boolean): { id: string; kind: SubmissionKind } | undefined {
  if (isDirectory) return { id: name, kind: 'folder' };
  const lower = name.toLowerCase();
  const hit = ARCHIVES.find(([suffix]) => lower.endsWith(suffix));
  return hit ? { id: name.slice(0, name.length - hit[0].length), kind: hit[1] } : undefined;
}

/** Splits one CSV line into fields (RFC 4180: "quoted, with "" for a quote"). */
export function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    while (line[i] === ' ' || line[i] === '\t') i += 1;
    if (line[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= line.length) return undefined; // an unterminated quote
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        field += line[i];
        i += 1;
      }
      while (line[i] === ' ' || line[i] === '\t') i += 1;
      if (i < line.length && line[i] !== ',') return undefined;
    } else {
      const end = line.indexOf(',', i);
      field = line.slice(i, end === -1 ? line.length : end);
      i = end === -1 ? line.length : end;
    }
    fields.push(field.trim());
    if (i >= line.length) return fields;
    i += 1; // the comma
  }
}

/**
 * A CSV roster: one `id,path` line per student; a first line `id,path` is a header, and a header
 * may name more columns (ROSTER_COLUMNS: the submission time, LMS ids); blank lines and lines
 * starting with # are skipped. Relative paths are relative to the CSV's folder.
 */
export function parseRosterCsv(text: string, baseDir: string, name = 'roster'): RosterEntry[] {
  return parseRoster(text, baseDir, name).entries;
}

export function parseRoster(
  text: string,
  baseDir: string,
  name = 'roster',
): { entries: RosterEntry[]; columns: string[] } {
  const entries: RosterEntry[] = [];
  const problems: string[] = [];
  let columns = ['id', 'path'];
  let header = false;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const fields = csvFields(line);
    const at = `${name}:${i + 1}`;
    if (
      !header &&
      entries.length === 0 &&
      problems.length === 0 &&
      fields &&
      fields[0]?.toLowerCase() === 'id' &&
      fields[1]?.toLowerCase() === 'path'
    ) {
      header = true;
      columns = fields.map((f) => f.toLowerCase());
      const unknown = columns.slice(2).filter((c) => !(ROSTER_COLUMNS as readonly string[]).includes(c));
      if (unknown.length)
        problems.push(
          `${at}: unknown column(s) ${unknown.map((c) => JSON.stringify(c)).join(', ')}; a roster may have id, path, ${ROSTER_COLUMNS.join(', ')}`,
        );
      const twice = columns.filter((c, k) => columns.indexOf(c) !== k);
      if (twice.length) problems.push(`${at}: column(s) named twice: ${twice.join(', ')}`);
      return;
    }
    if (!fields || fields.length !== columns.length) {
      problems.push(
        `${at}: expected ${columns.length === 2 ? 'two' : columns.length} fields, ${columns.join(',')}: ${JSON.stringify(line)}`,
      );
      return;
    }
    const [id = '', file = ''] = fields;
    const bad = studentIdProblem(id);
    if (bad) {
      problems.push(`${at}: ${bad}`);
      return;
    }
    if (file === '') {
      problems.push(`${at}: student ${id} has no path`);
      return;
    }
    const entry: RosterEntry = { id, source: path.resolve(baseDir, file), kind: kindOf(file), line: i + 1 };
    const identity: Record<string, string> = {};
    columns.slice(2).forEach((c, k) => {
      const v = fields[k + 2] ?? '';
      if (c === 'submitted') {
        if (v === '') return;
        if (
          !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ||
          Number.isNaN(Date.parse(v))
        ) {
          problems.push(
            `${at}: submitted ${JSON.stringify(v)} is not a date and time with its offset (e.g. 2026-10-01T23:59:00+02:00)`,
          );
        } else entry.submitted = new Date(Date.parse(v)).toISOString();
      } else if (v !== '') identity[c] = v;
    });
    if (Object.keys(identity).length > 0) entry.identity = identity;
    entries.push(entry);
  });
  if (problems.length)
    throw new UsageError(`${name} is not a roster of id,path lines:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { entries, columns };
}

function checkUnique(entries: RosterEntry[], where: string): void {
  const seen = new Map<string, string>();
  const dup: string[] = [];
  for (const e of entries) {
    const before = seen.get(e.id);
    if (before) dup.push(`${e.id}: ${before} and ${e.source}`);
    else seen.set(e.id, e.source);
  }
  if (dup.length)
    throw new UsageError(`${where}: a student id appears more than once:\n${dup.map((d) => `  - ${d}`).join('\n')}`);
}

/**
 * The students of a batch, sorted by id: from a folder holding one folder, .zip or .tar.gz per
 * student (named by the student's id; hidden entries skipped), or from a CSV roster.
 */
export async function readRoster(submissions: string): Promise<Roster> {
  const where = path.resolve(submissions);
  const s = await stat(where).catch(() => undefined);
  if (!s) throw new UsageError(`${submissions}: no such folder or roster file`);
  let students: RosterEntry[];
  let columns: string[] = [];
  const ignored: string[] = [];
  if (s.isFile()) {
    if (!where.toLowerCase().endsWith('.csv'))
      throw new UsageError(
        `${submissions}: a roster file must be a .csv of id,path lines (or give a folder of submissions)`,
      );
    ({ entries: students, columns } = parseRoster(await readFile(where, 'utf8'), path.dirname(where), submissions));
  } else if (s.isDirectory()) {
    students = [];
    const problems: string[] = [];
    for (const e of (await readdir(where, { withFileTypes: true })).sort((a, b) => byId(a.name, b.name))) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(where, e.name);
      const isDir =
        e.isDirectory() ||
        (e.isSymbolicLink() &&
          (await stat(full).then(
            (x) => x.isDirectory(),
            () => false,
          )));
      const entry = entryOfFolder(e.name, isDir);
      if (!entry) {
        ignored.push(e.name);
        continue;
      }
      const bad = studentIdProblem(entry.id);
      if (bad) problems.push(`${e.name}: ${bad}`);
      else students.push({ id: entry.id, source: full, kind: entry.kind });
    }
    if (problems.length) {
      throw new UsageError(
        `${submissions}: some entries cannot be named by a student id (rename them, or list them in a CSV roster of id,path):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
  } else {
    throw new UsageError(`${submissions}: neither a folder of submissions nor a .csv roster`);
  }
  checkUnique(students, submissions);
  if (students.length === 0)
    throw new UsageError(`${submissions}: holds no submission (a folder, .zip or .tar.gz per student)`);
  return {
    students: students.sort((a, b) => byId(a.id, b.id)),
    ignored,
    columns,
    ...(s.isFile() ? { file: where } : {}),
  };
}
