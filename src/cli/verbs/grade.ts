import path from 'node:path';
import { environmentOf } from '../../env/environments/index.js';
import { reapOrphans } from '../../env/reaper.js';
import { loadLab } from '../../lab/load.js';
import { REPO_ROOT } from '../../paths.js';
import { toSummary } from '../../report/summary.js';
import { trace } from '../../trace.js';
import { CLUSTER_OPTIONS, prepareEnvironment, SANDBOX_OPTIONS, sandboxChoice } from '../environment.js';
import { EXIT } from '../exit.js';
import { freshDir } from '../folders.js';
import { color, log } from '../output.js';
import { defineVerb } from '../verb.js';

// Cucumber, Allure and the Kubernetes client take about a second to load: only when grading.
const lazy = {
  grade: () => import('../../grade/grade.js'),
  reports: () => import('../../report/write-all.js'),
};

/**
 * Starts loading what grading needs (cucumber, the step definitions and through them the
 * Kubernetes client, the report writers) while the environment is prepared, which mostly waits on docker and
 * the API server. A failure here is left for gradeSubmission to meet and report.
 */
function preloadGrading(): Promise<unknown> {
  return Promise.all([
    lazy.grade(),
    lazy.reports(),
    import('../../cucumber/steps.js').then((m) => m.loadSteps()),
  ]).catch(() => undefined);
}

export const grade = defineVerb({
  name: 'grade',
  synopsis: ['grade LABDIR --submission DIR [--out DIR] [--allure] [--no-build] [sandbox options] [cluster options]'],
  summary: 'Grade one submission; writes its reports into --out.',
  description: `Grade one submission; writes results.json, junit.xml, gradescope/results.json,
summary.md (and allure-results/ with --allure) into --out
(default reports/<lab>/<submission>/). Exit 0 graded, whatever the score;
3 some scenario ended in a grader error even after a retry (incomplete, not a zero).`,
  options: {
    submission: { type: 'string', value: 'DIR', help: "the student's folder" },
    out: { type: 'string', value: 'DIR', help: 'where the reports go (default reports/<lab>/<submission>/)' },
    allure: { type: 'boolean', help: 'also write allure-results/ (kgrade report --html turns it into HTML)' },
    'no-build': { type: 'boolean', help: 'fail instead of building a node image that is missing' },
    ...SANDBOX_OPTIONS,
    ...CLUSTER_OPTIONS,
  },
  async run({ values, positionals, usage }) {
    const [labArg] = positionals;
    if (!labArg || !values.submission || positionals.length > 1) return usage();
    trace('modules loaded, arguments read');
    const lab = await loadLab(labArg);
    trace('lab loaded');
    const sandbox = sandboxChoice([lab], values);
    const loading = preloadGrading();
    // The sandboxes of dead runs are removed meanwhile: neither waits on the other.
    const [prepared] = await Promise.all([
      prepareEnvironment([lab], values, sandbox.isolation).finally(() => trace('environment ready')),
      reapOrphans({ warn: log }).finally(() => trace('orphans reaped')),
      loading.finally(() => trace('cucumber and the steps loaded')),
    ]);
    const environment = prepared(lab);
    const subName = path.basename(path.resolve(values.submission));
    const out = await freshDir(path.resolve(values.out ?? path.join(REPO_ROOT, 'reports', lab.id, subName)));
    log(
      `kgrade: grading ${values.submission} against ${lab.id} (${lab.scenarios.length} scenarios, ${lab.maxScore} points) in ${environmentOf(environment).where(environment)}`,
    );
    const { result } = await (await lazy.grade()).gradeSubmission(lab, values.submission, {
      environment,
      jobs: sandbox.jobs,
      log,
      ...(values.allure ? { allureResultsDir: path.join(out, 'allure-results') } : {}),
    });
    trace('graded');
    const written = await (await lazy.reports()).writeReports(result, out);
    trace('reports written');
    process.stdout.write(`${toSummary(result, { color })}\n`);
    log(
      `kgrade: reports in ${path.relative(process.cwd(), out) || '.'}: ${written.map((w) => path.relative(out, w)).join(', ')}`,
    );
    if (!result.complete) {
      log(
        `kgrade: ${result.counts.error} scenario(s) ended in a grader error even after a retry: this grade is incomplete, not a zero`,
      );
      return EXIT.infrastructure;
    }
    return EXIT.graded;
  },
});
