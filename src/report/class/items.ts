import type { ClassResults } from './model.js';
import { scenarioColumns, scenarioOf, type ScenarioColumn } from './stats.js';

/*
 * Classical item analysis of the lab's scenarios over the graded students: difficulty (the pass
 * rate) and discrimination, the point-biserial correlation between passing the scenario and the
 * rest score (the student's score without this scenario's points), so a scenario does not
 * correlate with itself. A scenario everyone or no one passes tells the class apart in nothing;
 * one with negative discrimination is passed more by weaker submissions than by stronger ones.
 */

export type ItemFlag = 'everyone-passes' | 'no-one-passes' | 'negative-discrimination';

export interface ItemAnalysis {
  id: string;
  name: string;
  maxPoints: number;
  /** Graded students with a final outcome for the scenario. */
  students: number;
  passed: number;
  /** passed / students; null with no student. */
  passRate: number | null;
  /** Point-biserial correlation with the rest score, -1..1; null when it is undefined (no student, everyone alike, or no spread in the rest score). */
  discrimination: number | null;
  flags: ItemFlag[];
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** The point-biserial correlation of a 0/1 item with a score, or null when either has no spread. */
export function pointBiserial(passed: boolean[], rest: number[]): number | null {
  const n = passed.length;
  if (n < 2 || rest.length !== n) return null;
  const mean = rest.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const p = passed.filter(Boolean).length / n;
  if (sd === 0 || p === 0 || p === 1) return null;
  const m1 = rest.filter((_, i) => passed[i]).reduce((a, b) => a + b, 0) / (p * n);
  const m0 = rest.filter((_, i) => !passed[i]).reduce((a, b) => a + b, 0) / ((1 - p) * n);
  return ((m1 - m0) / sd) * Math.sqrt(p * (1 - p));
}

function analyse(cls: ClassResults, column: ScenarioColumn): ItemAnalysis {
  const passed: boolean[] = [];
  const rest: number[] = [];
  for (const student of cls.students) {
    if (student.status !== 'graded' || !student.result) continue;
    const s = scenarioOf(student, column.id);
    if (!s || s.outcome === 'error') continue;
    passed.push(s.outcome === 'passed');
    rest.push(student.result.score - s.points);
  }
  const count = passed.filter(Boolean).length;
  const r = pointBiserial(passed, rest);
  const flags: ItemFlag[] = [];
  if (passed.length > 0 && count === passed.length) flags.push('everyone-passes');
  if (passed.length > 0 && count === 0) flags.push('no-one-passes');
  if (r !== null && r < 0) flags.push('negative-discrimination');
  return {
    id: column.id,
    name: column.name,
    maxPoints: column.maxPoints,
    students: passed.length,
    passed: count,
    passRate: passed.length > 0 ? round(count / passed.length) : null,
    discrimination: r === null ? null : round(r),
    flags,
  };
}

/** Each graded scenario's analysis, in the lab's order. */
export function itemAnalysis(cls: ClassResults): ItemAnalysis[] {
  return scenarioColumns(cls).map((c) => analyse(cls, c));
}

export const FLAG_TEXT: Record<ItemFlag, string> = {
  'everyone-passes': 'everyone passes: it tells no one apart',
  'no-one-passes': 'no one passes: check the scenario or the lab text',
  'negative-discrimination': 'weaker submissions pass it more than stronger ones',
};
