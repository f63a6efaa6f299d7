import type { Outcome } from '../../grade/model.js';
import type { ClassResults, ClassStudent } from './model.js';

/*
 * Whose grade moved in a regrade: each student with a kept earlier result (results/history/, a
 * grade of another version of the lab), the old and the new score, and each scenario whose
 * outcome or points differ, or that only one of the two grades has.
 */

export interface ScenarioChange {
  id: string;
  name: string;
  before?: { outcome: Outcome; points: number };
  after?: { outcome: Outcome; points: number };
}

export interface RegradeDiff {
  student: string;
  /** The lab hash the earlier grade was made against. */
  previousLabHash: string;
  oldScore: number;
  /** undefined when the student has no final grade now. */
  newScore?: number;
  maxScore: number;
  changed: ScenarioChange[];
}

function diffOf(student: ClassStudent): RegradeDiff | undefined {
  const prev = student.previous;
  if (!prev?.result) return undefined;
  const now = student.status === 'graded' ? student.result : undefined;
  const before = new Map(prev.result.scenarios.filter((s) => !s.course).map((s) => [s.id, s]));
  const after = new Map((now?.scenarios ?? []).filter((s) => !s.course).map((s) => [s.id, s]));
  const changed: ScenarioChange[] = [];
  for (const id of new Set([...after.keys(), ...before.keys()])) {
    const b = before.get(id);
    const a = after.get(id);
    if (!now && !a) continue;
    if (b && a && b.outcome === a.outcome && b.points === a.points) continue;
    changed.push({
      id,
      name: (a ?? b)?.name ?? id,
      ...(b ? { before: { outcome: b.outcome, points: b.points } } : {}),
      ...(a ? { after: { outcome: a.outcome, points: a.points } } : {}),
    });
  }
  return {
    student: student.id,
    previousLabHash: prev.provenance.labHash,
    oldScore: prev.result.score,
    ...(now ? { newScore: now.score } : {}),
    maxScore: now?.maxScore ?? prev.result.maxScore,
    changed,
  };
}

/** Every student with an earlier grade kept, by id. */
export function regradeDiffs(cls: ClassResults): RegradeDiff[] {
  return cls.students.map(diffOf).filter((d): d is RegradeDiff => d !== undefined);
}
