import path from 'node:path';
import { reapOrphans } from '../../env/reaper.js';
import { loadLab } from '../../lab/load.js';
import { REPO_ROOT } from '../../paths.js';
import { CLUSTER_OPTIONS, prepareEnvironment, SANDBOX_OPTIONS, sandboxChoice } from '../environment.js';
import { EXIT } from '../exit.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

export const batch = defineVerb({
  name: 'batch',
  synopsis: [
    'batch LABDIR SUBMISSIONS [--out DIR] [--regrade] [--shard I/N] [--policy FILE] [--no-build] [sandbox options] [cluster options]',
  ],
  summary: 'Grade a class: a folder or CSV roster of submissions, resumable and shardable.',
  description: `Grade a class: SUBMISSIONS is a folder of one folder, .zip or .tar.gz per student
(named by student id) or a CSV roster of id,path lines. Writes results/<id>.json
the moment each student is done, students/<id>/ reports and batch.json into --out
(default reports/<lab>/batch/); run again, it grades only what is missing or changed
(--regrade: everyone; earlier grades of another lab version go to results/history/).
--policy: a late policy (schemas/late-policy.schema.json), checked and kept for kgrade report.
--jobs bounds submissions and scenarios together. Exit 0 every
student graded, 3 some without a final grade (listed).`,
  options: {
    out: { type: 'string', value: 'DIR', help: 'the batch folder (default reports/<lab>/batch/)' },
    regrade: { type: 'boolean', help: 'grade everyone again, not only what is missing or changed' },
    shard: {
      type: 'string',
      value: 'I/N',
      help: 'grade only the I-th of N parts of the class (kgrade merge joins them)',
    },
    policy: {
      type: 'string',
      value: 'FILE',
      help: 'a late policy (due date, penalty, extensions), kept as policy.yaml for kgrade report',
    },
    'no-build': { type: 'boolean', help: 'fail instead of building a node image that is missing' },
    ...SANDBOX_OPTIONS,
    ...CLUSTER_OPTIONS,
  },
  async run({ values, positionals, usage }) {
    const [labArg, submissions] = positionals;
    if (!labArg || !submissions || positionals.length > 2) return usage();
    const batch = await import('../../batch/command.js');
    const lab = await loadLab(labArg);
    const shard = values.shard !== undefined ? batch.parseShard(values.shard) : undefined;
    const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'reports', lab.id, 'batch'));
    const plan = await batch.planBatch({
      lab,
      submissions,
      out,
      ...(shard ? { shard } : {}),
      ...(values.policy !== undefined ? { policy: values.policy } : {}),
    });
    const sandbox = sandboxChoice([lab], values);
    const prepared = await prepareEnvironment([lab], values, sandbox.isolation);
    await reapOrphans({ warn: log });
    const outcome = await batch.gradeClass(plan, {
      environment: prepared(lab),
      jobs: sandbox.jobs,
      regrade: values.regrade === true,
      log,
    });
    return outcome.graded.length === outcome.students.length ? EXIT.graded : EXIT.infrastructure;
  },
});
