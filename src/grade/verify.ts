import path from 'node:path';
import type { WorldParameters } from '../cucumber/parameters.js';
import type { Isolation } from '../env/sandbox/index.js';
import type { Lab } from '../lab/types.js';
import { gradeSubmission } from './grade.js';
import type { GradeResult } from './model.js';

export interface CaseVerdict {
  name: string;
  kind: 'reference' | 'wrong';
  expected: string;
  result: GradeResult;
  /** undefined when the case behaves as the lab says. */
  mismatch?: string;
}

/** Compares one graded case with what the lab expects of it. */
export function judgeCase(lab: Lab, name: string, result: GradeResult): Omit<CaseVerdict, 'result'> {
  if (name === 'reference') {
    const bad = result.scenarios.filter((s) => s.outcome !== 'passed');
    const mismatch =
      result.score !== result.maxScore || bad.length
        ? `reference must pass everything; ${bad.map((s) => `"${s.name}" ${s.outcome}${s.message ? `: ${s.message.split('\n')[0]}` : ''}`).join('; ')}`
        : undefined;
    return { name, kind: 'reference', expected: `${lab.maxScore}/${lab.maxScore}`, ...(mismatch ? { mismatch } : {}) };
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

/** Grades reference/ and every wrong/<case>/ of a lab. */
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
  const names = opts.cases ?? ['reference', ...Object.keys(lab.expect)];
  const verdicts: CaseVerdict[] = [];
  for (const name of names) {
    const dir = name === 'reference' ? path.join(lab.dir, 'reference') : path.join(lab.dir, 'wrong', name);
    opts.log(`${lab.id}: grading ${name === 'reference' ? 'reference' : `wrong/${name}`}`);
    const graded = await gradeSubmission(lab, dir, {
      nodeImage: opts.nodeImage,
      log: opts.log,
      ...(opts.isolation ? { isolation: opts.isolation } : {}),
      ...(opts.jobs ? { jobs: opts.jobs } : {}),
      ...(opts.cluster ? { cluster: opts.cluster } : {}),
    });
    const verdict = { ...judgeCase(lab, name, graded.result), result: graded.result };
    verdicts.push(verdict);
    await opts.onGraded?.(verdict);
  }
  return verdicts;
}
