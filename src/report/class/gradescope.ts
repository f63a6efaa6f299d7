import { toGradescope } from '../gradescope.js';
import type { ClassResults } from './model.js';

/**
 * Gradescope's results.json for each student, keyed by id: every graded student, and a student in
 * error whose partial result says itself that it is incomplete (its output reads "INCOMPLETE ...
 * not final"). A student with no usable result gets none: no file is better than a zero.
 */
export function classGradescope(cls: ClassResults): Map<string, string> {
  const files = new Map<string, string>();
  for (const student of cls.students) {
    const r = student.result;
    if (!r || (student.status !== 'graded' && r.complete)) continue;
    files.set(student.id, `${JSON.stringify(toGradescope(r), null, 2)}\n`);
  }
  return files;
}
