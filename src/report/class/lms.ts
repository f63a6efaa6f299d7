import { formatPoints, printable } from '../summary.js';
import { csvText } from './escape.js';
import type { ClassResults, ClassStudent } from './model.js';

/*
 * The class's grades in the import layouts of two LMSs, keyed by the ids the roster maps each
 * student to (its LMS columns; without them the kgrade id stands for the login). A student without
 * a final grade is never exported as a zero or a blank: kgrade report stops with an error naming
 * them, or leaves them out with --lms-omit-ungraded (an import leaves their grade as it was).
 *
 * canvas.csv: Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then a
 * column per assignment, and a "Points Possible" row; Canvas matches a row by ID, SIS User ID or
 * SIS Login ID. moodle.csv: Moodle's CSV grade import: an identifier column to map a user by (ID
 * number, Username, Email address) and a grade column to map to the grade item.
 */

export interface RosterRecord {
  file?: string;
  students: Map<string, { line?: number; identity: Record<string, string> }>;
}

const rows = (r: string[][]) => r.map((cells) => `${cells.map((c) => csvText(printable(c))).join(',')}\r\n`).join('');

/** The score exported: the late policy's adjusted one when there is a policy, else the raw one. */
export function exportedScore(s: ClassStudent): number | undefined {
  if (s.status !== 'graded' || !s.result) return undefined;
  return s.late ? s.late.adjusted : s.result.score;
}

function idOf(roster: RosterRecord | undefined, id: string): Record<string, string> {
  return roster?.students.get(id)?.identity ?? {};
}

export function toCanvasCsv(cls: ClassResults, roster: RosterRecord | undefined): string {
  const title = cls.lab.title === '' ? cls.lab.id : `${cls.lab.title} (${cls.lab.id})`;
  const out = [
    ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', title],
    ['Points Possible', '', '', '', '', formatPoints(cls.lab.maxScore)],
  ];
  for (const s of cls.students) {
    const score = exportedScore(s);
    if (score === undefined) continue;
    const who = idOf(roster, s.id);
    out.push([
      who['name'] ?? s.id,
      who['canvas_id'] ?? '',
      who['sis_user_id'] ?? '',
      who['sis_login_id'] ?? (who['canvas_id'] || who['sis_user_id'] ? '' : s.id),
      who['section'] ?? '',
      formatPoints(score),
    ]);
  }
  return rows(out);
}

export function toMoodleCsv(cls: ClassResults, roster: RosterRecord | undefined): string {
  const out = [['ID number', 'Username', 'Email address', cls.lab.title === '' ? cls.lab.id : cls.lab.title]];
  for (const s of cls.students) {
    const score = exportedScore(s);
    if (score === undefined) continue;
    const who = idOf(roster, s.id);
    out.push([
      who['idnumber'] ?? '',
      who['username'] ?? (who['idnumber'] || who['email'] ? '' : s.id),
      who['email'] ?? '',
      formatPoints(score),
    ]);
  }
  return rows(out);
}

/** The students an LMS export would leave without a grade, each with where the roster names them. */
export function ungraded(cls: ClassResults, roster: RosterRecord | undefined): string[] {
  return cls.students
    .filter((s) => exportedScore(s) === undefined)
    .map((s) => {
      const line = roster?.students.get(s.id)?.line;
      const where = roster?.file && line ? `${roster.file}:${line}` : `results/${s.id}.json`;
      return `${where}: ${s.id} has no final grade (${s.status}: ${s.reason})`;
    });
}
