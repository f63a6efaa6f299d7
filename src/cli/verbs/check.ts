import path from 'node:path';
import { GraderError, UsageError } from '../../errors.js';
import { loadLab } from '../../lab/load.js';
import { REPO_ROOT } from '../../paths.js';
import { CLUSTER_OPTIONS, prepareEnvironment, SANDBOX_OPTIONS, sandboxChoice } from '../environment.js';
import { EXIT } from '../exit.js';
import { labDirs } from '../folders.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

export const check = defineVerb({
  name: 'check',
  synopsis: ['check [LABDIR...] [--jobs N] [cluster options]'],
  summary: "Regression-check a cluster's setup: which of the course's claims hold, with no submission.",
  description: `Regression-check a cluster's setup, with no submission: the shared features in
features/ (what the course assumes of any cluster) and the @course checks of the
given labs (default: every cluster lab). Prints which claims hold, with what was
seen. Exit 0 all hold, 1 some do not, 3 some could not be checked.`,
  options: { jobs: SANDBOX_OPTIONS.jobs, ...CLUSTER_OPTIONS },
  async run({ values, positionals }) {
    const { sharedFeatures, checkCluster, formatClaims } = await import('../../check/cluster-claims.js');
    const labs = [await sharedFeatures(REPO_ROOT)];
    const dirs = positionals.length ? positionals : await labDirs(path.join(REPO_ROOT, 'labs'));
    for (const d of dirs) {
      const lab = await loadLab(d);
      if (lab.environment === 'cluster') labs.push(lab);
      else if (positionals.length) throw new UsageError(`${d}: kgrade check runs the course checks of cluster labs; ${lab.id} is a ${lab.environment} lab`);
    }
    const { jobs } = sandboxChoice(labs, values);
    const env = await prepareEnvironment(labs, values);
    if (!env.cluster) throw new GraderError('no cluster to check');
    log(`kgrade: checking ${env.cluster.context}: ${labs.map((l) => l.id).join(', ')}`);
    const claims = await checkCluster(labs, { cluster: env.cluster, jobs, log });
    process.stdout.write(formatClaims(claims));
    if (claims.some((c) => c.outcome === 'fails')) return EXIT.mismatch;
    if (claims.some((c) => c.outcome === 'unchecked')) return EXIT.infrastructure;
    return EXIT.graded;
  },
});
