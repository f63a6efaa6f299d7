import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { EnvironmentParameters } from '../env/environments/index.js';
import { DEFAULT_VERIFY_REPEAT, type Lab } from '../lab/types.js';
import { Budget } from './budget.js';
import { gradeSubmission } from './grade.js';
import type { GradeResult } from './model.js';

export interface CaseVerdict {
  name: string;
  /** reference/ and correct/<case>/ must get full marks; wrong/<case>/ what lab.yaml expects. */
  kind: 'reference' | 'correct' | 'wrong';
  expected: string;
  result: GradeResult;
  /** Correct cases: the later rounds of the lab's @races scenarios (verify.repeat). */
  rounds: GradeResult[];
  /** undefined when the case behaves as the lab says. */
  mismatch?: string;
}

/**
 * A correct case's @races scenarios over every round (the whole grade is round 1):
 * each must pass in every round. One that passes in one round and fails in another
 * is flaky: a student would lose its points to chance. Rounds that ended in a
 * grader error are left out here (the grade is incomplete, reported as an error).
 */
export function judgeRounds(first: GradeResult, rounds: GradeResult[]): string | undefined {
  if (rounds.length === 0) return undefined;
  const problems: string[] = [];
  for (const name of [...new Set(rounds.flatMap((r) => r.scenarios.map((s) => s.name)))]) {
    const seen = [first, ...rounds].map((r, i) => ({ round: i + 1, s: r.scenarios.find((x) => x.name === name) }));
    const passed = seen.filter((x) => x.s?.outcome === 'passed').map((x) => x.round);
    const failed = seen.filter((x) => x.s?.outcome === 'failed');
    if (failed.length === 0) continue;
    const why = failed[0]?.s?.message.split('\n')[0] ?? '';
    const where = `round${failed.length === 1 ? '' : 's'} ${failed.map((x) => x.round).join(', ')} of ${seen.length}`;
    problems.push(
      passed.length
        ? `flaky: "${name}" passed in round${passed.length === 1 ? '' : 's'} ${passed.join(', ')} and failed in ${where}: ${why}`
        : `"${name}" failed in ${where}: ${why}`,
    );
  }
  return problems.length ? problems.join('; ') : undefined;
}

/** Compares one graded case with what the lab expects of it. */
export function judgeCase(
  lab: Lab,
  name: string,
  result: GradeResult,
  kind: CaseVerdict['kind'] = name === 'reference' ? 'reference' : 'wrong',
): Omit<CaseVerdict, 'result' | 'rounds'> {
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
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Grades reference/, every correct/<case>/ (other right answers: full marks too) and every
 * wrong/<case>/ of a lab. --case picks by name: "reference", "correct/NAME" or a wrong case.
 */
export async function verifyLab(
  lab: Lab,
  opts: {
    environment: EnvironmentParameters;
    jobs?: number;
    log: (line: string) => void;
    cases?: string[];
    onGraded?: (c: CaseVerdict) => Promise<void>;
    /** The scenario slots, when other labs are verified beside this one and draw on the same. */
    budget?: Budget;
    /** Hold each case's lines and print them together when it ends (other labs print meanwhile). */
    holdLines?: boolean;
  },
): Promise<CaseVerdict[]> {
  const all = [
    { name: 'reference', kind: 'reference' as const, dir: path.join(lab.dir, 'reference'), label: 'reference' },
    ...(await folders(path.join(lab.dir, 'correct'))).map((n) => ({
      name: n,
      kind: 'correct' as const,
      dir: path.join(lab.dir, 'correct', n),
      label: `correct/${n}`,
    })),
    ...Object.keys(lab.expect).map((n) => ({
      name: n,
      kind: 'wrong' as const,
      dir: path.join(lab.dir, 'wrong', n),
      label: `wrong/${n}`,
    })),
  ];
  const chosen = opts.cases ? all.filter((c) => opts.cases?.includes(c.label) || opts.cases?.includes(c.name)) : all;
  // The cases are graded side by side, their scenarios drawing on one budget of `jobs` slots, as a
  // batch grades students; a lab whose scenarios disturb the whole cluster grades one case at a time.
  const jobs = Math.max(1, opts.jobs ?? 1);
  const scenarios = opts.budget ?? new Budget(jobs);
  const cases = new Budget(lab.disruptive ? 1 : jobs);
  const side = opts.holdLines === true || (chosen.length > 1 && !lab.disruptive && jobs > 1);
  const one = async ({ name, kind, dir, label }: (typeof chosen)[number]): Promise<CaseVerdict> => {
    opts.log(`${lab.id}: grading ${label}`);
    // Side by side, a case's lines are held back and printed together when it ends.
    const held: string[] = [];
    const log = side ? (line: string) => held.push(line) : opts.log;
    const common = {
      environment: opts.environment,
      log,
      budget: scenarios,
      ...(opts.jobs ? { jobs: opts.jobs } : {}),
    };
    // A @course check is independent of the submission: graded once, with the reference. Every
    // other case is judged on its graded scenarios only (a course check there would add
    // nothing to its verdict, only minutes).
    const scope = kind === 'reference' ? lab.scenarios : lab.scenarios.filter((s) => !s.course);
    const only = scope.length < lab.scenarios.length && scope.length > 0 ? { only: scope } : {};
    const graded = await gradeSubmission(lab, dir, { ...common, ...only });
    const rounds: GradeResult[] = [];
    const races = scope.filter((s) => s.races);
    const repeat = lab.verify.repeat ?? DEFAULT_VERIFY_REPEAT;
    if (kind !== 'wrong' && races.length) {
      for (let round = 2; round <= repeat; round++) {
        log(
          `${lab.id}: grading ${label} again (round ${round} of ${repeat}), its @races scenarios: ${races.map((s) => `"${s.name}"`).join(', ')}`,
        );
        const again = await gradeSubmission(lab, dir, { ...common, only: races });
        rounds.push(again.result);
      }
    }
    if (side) opts.log([`${lab.id}: ${label} graded`, ...held].join('\n'));
    const judged = judgeCase(lab, name, graded.result, kind);
    const flaky = judgeRounds(graded.result, rounds);
    const mismatch = flaky && judged.mismatch ? `${judged.mismatch}; ${flaky}` : (flaky ?? judged.mismatch);
    const verdict: CaseVerdict = { ...judged, ...(mismatch ? { mismatch } : {}), result: graded.result, rounds };
    await opts.onGraded?.(verdict);
    return verdict;
  };
  return Promise.all(chosen.map((c) => cases.run(() => one(c))));
}
