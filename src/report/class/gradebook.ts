import { formatPoints, printable } from '../summary.js';
import { csvText } from './escape.js';
import type { ClassResults } from './model.js';
import { scenarioColumns, scenarioOf } from './stats.js';

/** A scenario's header: its name, with its id when another scenario has the same name. */
function headers(cls: ClassResults): string[] {
  const columns = scenarioColumns(cls);
  return columns.map((c) => (columns.filter((o) => o.name === c.name).length > 1 ? `${c.name} (${c.id})` : c.name));
}

/**
 * The gradebook: id, score, max, status (with a late policy: score is the adjusted score, followed
 * by raw_score, submitted_at, days_late, penalty_percent), then the points of each graded scenario in the lab's
 * order; one row per student, sorted by id. A student without a final grade (error, missing) has
 * an empty score; a scenario cell is empty when there are no final points for it (no result, or
 * the scenario ended in a grader error). UTF-8, CRLF line ends (RFC 4180).
 */
export function toGradebookCsv(cls: ClassResults): string {
  const columns = scenarioColumns(cls);
  const late = cls.policy !== undefined;
  const lateHeaders = late ? ['raw_score', 'submitted_at', 'days_late', 'penalty_percent'] : [];
  const rows = [['id', 'score', 'max', 'status', ...lateHeaders, ...headers(cls)].map((h) => csvText(printable(h)))];
  for (const student of cls.students) {
    const final = student.status === 'graded' && student.result;
    rows.push([
      csvText(printable(student.id)),
      final ? formatPoints(student.late?.adjusted ?? student.result?.score ?? 0) : '',
      formatPoints(student.result?.maxScore ?? cls.lab.maxScore),
      student.status,
      ...(late
        ? student.late && final
          ? [
              formatPoints(student.late.raw),
              student.late.submittedAt,
              String(student.late.daysLate),
              formatPoints(student.late.penaltyPercent),
            ]
          : ['', '', '', '']
        : []),
      ...columns.map((c) => {
        const s = scenarioOf(student, c.id);
        return s && s.outcome !== 'error' ? formatPoints(s.points) : '';
      }),
    ]);
  }
  return rows.map((r) => `${r.join(',')}\r\n`).join('');
}
