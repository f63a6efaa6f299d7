import path from 'node:path';
import { GraderError, UsageError } from '../../errors.js';
import { loadLab } from '../../lab/load.js';
import { SEVERITIES } from '../../lab/types.js';
import { REPO_ROOT } from '../../paths.js';
import type { Claim } from '../../scan/claim.js';
import { CLUSTER_OPTIONS, prepareEnvironment, SANDBOX_OPTIONS, sandboxChoice } from '../environment.js';
import { EXIT } from '../exit.js';
import { labDirs } from '../folders.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

export const check = defineVerb({
  name: 'check',
  synopsis: [
    'check [LABDIR...] [--format text|json|junit|sarif] [--fail-on SEVERITY] [--baseline FILE] [--jobs N] [cluster options]',
  ],
  summary: "Regression-check a cluster's setup: which of the course's claims hold, with no submission.",
  description: `Regression-check a cluster's setup, with no submission: the shared features in
features/ (what the course assumes of any cluster) and the @course checks of the
given labs (default: every cluster lab). Prints each claim with its severity, what was
seen and, when it does not hold, its remediation, in the --format asked for, on stdout.
Claims that could not be checked are listed with the reason in every format.
Exit 0 when no counted claim fails, 1 when one does not hold, 3 when one could not be
checked; only claims at or above --fail-on that did not fail in --baseline count.`,
  options: {
    format: {
      type: 'string',
      value: 'FORMAT',
      help: 'text (default), json (a run --baseline reads back), junit, or sarif (SARIF 2.1.0)',
    },
    'fail-on': {
      type: 'string',
      value: 'SEVERITY',
      help: `the least severity that decides the exit code: ${SEVERITIES.join(', ')} (default low)`,
    },
    baseline: {
      type: 'string',
      value: 'FILE',
      help: 'a run saved with --format json by this kgrade version: only claims that did not fail there count',
    },
    jobs: SANDBOX_OPTIONS.jobs,
    ...CLUSTER_OPTIONS,
  },
  async run({ values, positionals }) {
    const { FORMATS, render } = await import('../../scan/formats.js');
    const { isSeverity, judge } = await import('../../scan/claim.js');
    const format = values.format ?? 'text';
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format ${format}: must be one of ${FORMATS.join(', ')}`);
    const failOn = values['fail-on'] ?? 'low';
    if (!isSeverity(failOn)) throw new UsageError(`--fail-on ${failOn}: must be one of ${SEVERITIES.join(', ')}`);
    const version = await (await import('../../batch/provenance.js')).kgradeVersion();
    // read before anything runs: a bad baseline changes nothing and costs no cluster time
    const baseline =
      values.baseline === undefined
        ? undefined
        : await (await import('../../scan/baseline.js')).readBaseline(values.baseline, version);
    const { sharedFeatures, checkCluster, uncheckedClaims } = await import('../../scan/cluster-claims.js');
    const labs = [await sharedFeatures(REPO_ROOT)];
    const dirs = positionals.length ? positionals : await labDirs(path.join(REPO_ROOT, 'labs'));
    for (const d of dirs) {
      const lab = await loadLab(d);
      if (lab.environment === 'cluster') labs.push(lab);
      else if (positionals.length)
        throw new UsageError(
          `${d}: kgrade check runs the course checks of cluster labs; ${lab.id} is a ${lab.environment} lab`,
        );
    }
    const { isolation, jobs } = sandboxChoice(labs, values);
    let claims: Claim[];
    let context: string;
    try {
      const [first] = labs;
      const cluster = first && (await prepareEnvironment(labs, values, isolation))(first);
      if (cluster?.kind !== 'cluster') throw new GraderError('no cluster to check');
      context = cluster.context;
      log(`kgrade: checking ${context}: ${labs.map((l) => l.id).join(', ')}`);
      claims = await checkCluster(labs, { cluster, jobs, log });
    } catch (err) {
      if (!(err instanceof GraderError)) throw err;
      log(`kgrade: ${err.message}`);
      context = values.context ?? 'the cluster';
      claims = uncheckedClaims(labs, `the cluster could not be reached: ${err.message}`);
    }
    const verdict = judge(claims, failOn, baseline);
    const ctx = {
      kgradeVersion: version,
      cluster: context,
      failOn,
      verdict,
      ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    };
    process.stdout.write(render(format as (typeof FORMATS)[number], claims, ctx));
    if (verdict.counted.length) return EXIT.mismatch;
    if (verdict.unknown.length) return EXIT.infrastructure;
    return EXIT.graded;
  },
});
