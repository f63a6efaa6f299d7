import type { ScenarioResult } from '../../grade/model.js';
import { formatPoints } from '../summary.js';
import type { ClassResults, ClassStudent } from './model.js';

/** A graded scenario of the lab (a @course check carries no points and is no column). */
export interface ScenarioColumn {
  id: string;
  name: string;
  feature: string;
  maxPoints: number;
  hidden: boolean;
}

/**
 * The lab's graded scenarios in the lab's order: the order of the scenarios in the results, a
 * scenario that only some results hold placed after the one it follows there.
 */
export function scenarioColumns(cls: ClassResults): ScenarioColumn[] {
  const columns: ScenarioColumn[] = [];
  const seen = new Set<string>();
  for (const student of cls.students) {
    let at = 0;
    for (const s of student.result?.scenarios ?? []) {
      if (s.course) continue;
      if (seen.has(s.id)) {
        at = columns.findIndex((c) => c.id === s.id) + 1;
        continue;
      }
      seen.add(s.id);
      columns.splice(at, 0, { id: s.id, name: s.name, feature: s.feature, maxPoints: s.maxPoints, hidden: s.hidden });
      at += 1;
    }
  }
  return columns;
}

export function scenarioOf(student: ClassStudent, id: string): ScenarioResult | undefined {
  return student.result?.scenarios.find((s) => s.id === id);
}

export interface PassRate {
  scenario: ScenarioColumn;
  passed: number;
  /** Students with a final outcome for the scenario (passed, failed or skipped); a grader error is no outcome. */
  graded: number;
  /** Students whose run of the scenario ended in a grader error. */
  errors: number;
  /** passed / graded; 0 when nobody was graded on it. */
  rate: number;
  /** The scenario's position in the lab, to break ties. */
  order: number;
}

/** Each graded scenario's pass rate over every stored outcome of it, hardest first (ties in the lab's order). */
export function passRates(cls: ClassResults): PassRate[] {
  return scenarioColumns(cls)
    .map((scenario, order) => {
      let passed = 0;
      let graded = 0;
      let errors = 0;
      for (const student of cls.students) {
        const s = scenarioOf(student, scenario.id);
        if (!s) continue;
        if (s.outcome === 'error') errors += 1;
        else {
          graded += 1;
          if (s.outcome === 'passed') passed += 1;
        }
      }
      return { scenario, passed, graded, errors, rate: graded === 0 ? 0 : passed / graded, order };
    })
    .sort((a, b) =>
      (a.graded === 0) !== (b.graded === 0) ? (a.graded === 0 ? 1 : -1) : a.rate - b.rate || a.order - b.order,
    );
}

export interface HistogramBin {
  /** "7" for a bin of one score, "40–49%" for a range. */
  label: string;
  /** Inclusive lower and exclusive upper bound in points; the last bin includes its upper bound. */
  from: number;
  to: number;
  /** The ids of the students whose final score falls in the bin. */
  students: string[];
}

/**
 * The final scores of the graded students: a bin per whole point when the lab is worth at most 20
 * (0, 1, ... max), else ten bins of a tenth of the maximum each. Error and missing students have
 * no score and are in no bin.
 */
export function scoreHistogram(cls: ClassResults): HistogramBin[] {
  const max = cls.lab.maxScore;
  const bins: HistogramBin[] = [];
  if (Number.isInteger(max) && max <= 20) {
    for (let p = 0; p <= max; p += 1) bins.push({ label: formatPoints(p), from: p, to: p + 1, students: [] });
  } else {
    for (let i = 0; i < 10; i += 1) {
      bins.push({
        label: `${i * 10}–${i === 9 ? 100 : i * 10 + 9}%`,
        from: (max * i) / 10,
        to: (max * (i + 1)) / 10,
        students: [],
      });
    }
  }
  for (const student of cls.students) {
    if (student.status !== 'graded' || !student.result) continue;
    const score = Math.min(Math.max(student.result.score, 0), max);
    const bin = bins.find((b, i) => (score >= b.from && score < b.to) || (i === bins.length - 1 && score >= b.from));
    bin?.students.push(student.id);
  }
  return bins;
}

export interface ClassSummary {
  students: number;
  graded: number;
  errors: number;
  missing: number;
  mean?: number;
  median?: number;
}

export function classSummary(cls: ClassResults): ClassSummary {
  const scores = cls.students
    .filter((s) => s.status === 'graded' && s.result)
    .map((s) => s.result?.score ?? 0)
    .sort((a, b) => a - b);
  const summary: ClassSummary = {
    students: cls.students.length,
    graded: scores.length,
    errors: cls.students.filter((s) => s.status === 'error').length,
    missing: cls.students.filter((s) => s.status === 'missing').length,
  };
  if (scores.length > 0) {
    const mid = Math.floor(scores.length / 2);
    summary.mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    summary.median = scores.length % 2 === 1 ? (scores[mid] ?? 0) : ((scores[mid - 1] ?? 0) + (scores[mid] ?? 0)) / 2;
  }
  return summary;
}
