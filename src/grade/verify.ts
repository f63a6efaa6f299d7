import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { WorldParameters } from '../cucumber/parameters.js';
import type { Isolation } from '../env/sandbox/index.js';
import type { Lab } from '../lab/types.js';
import { gradeSubmission } from './grade.js';
import type { GradeResult } from './model.js';

export interface CaseVerdict {
  name: string;
  /** reference/ and correct/<case>/ must get full marks; wrong/<case>/ what lab.yaml expects. */
  kind: 'reference' | 'correct' | 'wrong';
  expected: string;
  result: GradeResult;
  /** undefined when the case behaves as the lab says. */
  mismatch?: string;
}

/** Compares one graded case with what the lab expects of it. */
export function judgeCase(lab: Lab, name: string, result: GradeResult, kind: CaseVerdict['kind'] = name === 'reference' ? 'reference' : 'wrong'): Omit<CaseVerdict, 'result'> {
  if (kind !== 'wrong') {
    const bad = result.scenarios.filter((s) => s.outcome !== 'passed');
    const mismatch =
      result.score !== result.maxScore || bad.length
        ? `${kind === 'reference' ? 'reference' : `correct/${name}`} must pass everything; ${bad.map((s) => `"${s.name}" ${s.outcome}${s.message ? `: ${s.message.split('\n')[0]}` : ''}`).join('; ')}`
        : undefined;
    return { name, kind, expected: `${lab.maxScore}/${lab.maxScore}`, ...(mismatch ? { mismatch } : {}) };
  }
  const exp = lab.expect[name];
  if (!exp) return { name, kind: 'wrong', expected: '?', mismatch: `lab.yaml has no expect entry for wrong/${name}` };
  const problems: string[] = [];
  if (result.score !== exp.score) problems.push(`scored ${result.score}, expected ${exp.score}`);
  for (const n of exp.failed ?? []) {
    const s = result.scenarios.find((x) => x.name === n);
    if (s?.outcome !== 'failed') problems.push(`"${n}" should fail but ${s ? s.outcome : 'did not run'}`);
  }
  const mismatch = problems.length ? problems.join('; ') : undefined;
  return { name, kind: 'wrong', expected: `${exp.score}/${lab.maxScore}`, ...(mismatch ? { mismatch } : {}) };
}

async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * Grades reference/, every correct/<case>/ (other right answers: full marks too) and every
 * wrong/<case>/ of a lab. --case picks by name: "reference", "correct/NAME" or a wrong case.
 */
export async function verifyLab(
  lab: Lab,
  opts: {
    nodeImage: string;
    cluster?: WorldParameters['cluster'];
    isolation?: Isolation;
    jobs?: number;
    log: (line: string) => void;
    cases?: string[];
    onGraded?: (c: CaseVerdict) => Promise<void>;
  },
): Promise<CaseVerdict[]> {
  const all = [
    { name: 'reference', kind: 'reference' as const, dir: path.join(lab.dir, 'reference'), label: 'reference' },
    ...(await folders(path.join(lab.dir, 'correct'))).map((n) => ({ name: n, kind: 'correct' as const, dir: path.join(lab.dir, 'correct', n), label: `correct/${n}` })),
    ...Object.keys(lab.expect).map((n) => ({ name: n, kind: 'wrong' as const, dir: path.join(lab.dir, 'wrong', n), label: `wrong/${n}` })),
  ];
  const chosen = opts.cases ? all.filter((c) => opts.cases?.includes(c.label) || opts.cases?.includes(c.name)) : all;
  const verdicts: CaseVerdict[] = [];
  for (const { name, kind, dir, label } of chosen) {
    opts.log(`${lab.id}: grading ${label}`);
    const graded = await gradeSubmission(lab, dir, {
      nodeImage: opts.nodeImage,
      log: opts.log,
      ...(opts.isolation ? { isolation: opts.isolation } : {}),
      ...(opts.jobs ? { jobs: opts.jobs } : {}),
      ...(opts.cluster ? { cluster: opts.cluster } : {}),
    });
    const verdict = { ...judgeCase(lab, name, graded.result, kind), result: graded.result };
    verdicts.push(verdict);
    await opts.onGraded?.(verdict);
  }
  return verdicts;
}
