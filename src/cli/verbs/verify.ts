import path from 'node:path';
import { reapOrphans } from '../../env/reaper.js';
import { loadLab } from '../../lab/load.js';
import type { Lab } from '../../lab/types.js';
import { REPO_ROOT } from '../../paths.js';
import { CLUSTER_OPTIONS, prepareEnvironment, SANDBOX_OPTIONS, sandboxChoice } from '../environment.js';
import { EXIT } from '../exit.js';
import { freshDir } from '../folders.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

const lazy = {
  verify: () => import('../../grade/verify.js'),
  budget: () => import('../../grade/budget.js'),
  reports: () => import('../../report/write-all.js'),
};

export const verify = defineVerb({
  name: 'verify',
  synopsis: ['verify LABDIR... [--case NAME]... [--out DIR] [--no-build] [sandbox options] [cluster options]'],
  summary: "Grade a lab's reference/, correct/ and wrong/ cases against what lab.yaml expects of them.",
  description: `Grade reference/ and every correct/<case>/ (other right answers: must get full
marks) and every wrong/<case>/ (must get the score lab.yaml's expect: gives it).
The @course checks, which do not depend on the submission, are graded with
reference/ only. What a course repository's CI runs. Exit 0 every case as
expected; 1 some case scored otherwise (a mismatch); 3 some case could not be
graded.
Several labs are verified side by side on the same --jobs scenario slots (a lab
marked disruptive alone, after the others); --out DIR then holds a folder per lab.`,
  options: {
    case: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'only this case (repeat for more); default every case',
    },
    out: {
      type: 'string',
      value: 'DIR',
      help: "where each case's reports go (default reports/<lab>/verify/; several labs: DIR/<lab>/)",
    },
    'no-build': { type: 'boolean', help: 'fail instead of building a node image that is missing' },
    ...SANDBOX_OPTIONS,
    ...CLUSTER_OPTIONS,
  },
  async run({ values, positionals, usage }) {
    if (positionals.length === 0) return usage();
    const labs = [];
    for (const p of positionals) labs.push(await loadLab(p));
    const sandbox = sandboxChoice(labs, values);
    const prepared = await prepareEnvironment(labs, values, sandbox.isolation);
    await reapOrphans({ warn: log });
    let worst: number = EXIT.graded;
    const lines = new Map<Lab, string[]>();
    const { Budget } = await lazy.budget();
    const verifyOne = async (lab: Lab, shared?: InstanceType<typeof Budget>) => {
      // Several labs: each one's reports in a folder of its own under --out.
      const base = path.resolve(
        values.out
          ? labs.length > 1
            ? path.join(values.out, lab.id)
            : values.out
          : path.join(REPO_ROOT, 'reports', lab.id, 'verify'),
      );
      const verdicts = await (await lazy.verify()).verifyLab(lab, {
        environment: prepared(lab),
        jobs: sandbox.jobs,
        log,
        ...(values.case ? { cases: values.case } : {}),
        ...(shared ? { budget: shared, holdLines: true } : {}),
        onGraded: async (v) => {
          const dir = path.join(base, v.kind === 'correct' ? `correct-${v.name}` : v.name);
          await (await lazy.reports()).writeReports(v.result, await freshDir(dir));
          for (const [i, r] of v.rounds.entries())
            await (await lazy.reports()).writeReports(r, await freshDir(`${dir}.round-${i + 2}`));
        },
      });
      const mine: string[] = [];
      for (const v of verdicts) {
        const got = `${v.result.score}/${v.result.maxScore}`;
        const complete = v.result.complete && v.rounds.every((r) => r.complete);
        const state = !complete ? 'ERROR' : v.mismatch ? 'MISMATCH' : 'ok';
        const rounds = v.rounds.length ? ` (@races scenarios in ${v.rounds.length + 1} rounds)` : '';
        mine.push(
          `${state.padEnd(8)} ${lab.id} ${v.kind === 'reference' ? 'reference' : `${v.kind}/${v.name}`}: ${got} (expected ${v.expected})${rounds}${v.mismatch ? `: ${v.mismatch}` : ''}`,
        );
        if (!complete) {
          const errs = [v.result, ...v.rounds].flatMap((r) => r.scenarios).filter((s) => s.outcome === 'error');
          for (const s of errs) mine.push(`         error in "${s.name}": ${s.message.split('\n')[0]}`);
          worst = EXIT.infrastructure;
        } else if (v.mismatch && worst === EXIT.graded) worst = EXIT.mismatch;
      }
      lines.set(lab, mine);
    };
    // Labs side by side on one budget of --jobs scenario slots, as a batch grades students; a lab
    // whose scenarios disturb the whole cluster (disruptive: true) is verified alone, after them.
    const calm = labs.filter((l) => !l.disruptive);
    if (calm.length > 1) {
      const shared = new Budget(sandbox.jobs);
      await Promise.all(calm.map((lab) => verifyOne(lab, shared)));
    } else for (const lab of calm) await verifyOne(lab);
    for (const lab of labs.filter((l) => l.disruptive)) await verifyOne(lab);
    process.stdout.write(`${labs.flatMap((l) => lines.get(l) ?? []).join('\n')}\n`);
    return worst;
  },
});
