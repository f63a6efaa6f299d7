import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { colorAllowed, isolation as configuredIsolation, jobs as configuredJobs } from '../config.js';
import { ISOLATIONS, isIsolation, type Isolation } from '../env/sandbox/index.js';
import { GraderError, LabError, UsageError } from '../errors.js';
import { ensureNodeImage } from '../env/images.js';
import type { Lab } from '../lab/types.js';
import type { ClusterChoice } from '../env/cluster/select.js';
import { isKubeProxyMode, KUBE_PROXY_MODES } from '../env/cluster/proxy-mode.js';
import type { WorldParameters } from '../cucumber/parameters.js';
import { installSignalCleanup, reapOrphans } from '../env/reaper.js';
import { loadLab } from '../lab/load.js';
import { REPO_ROOT } from '../paths.js';
import { readResultsJson } from '../report/results-json.js';
import { toSummary } from '../report/summary.js';
import { trace } from '../trace.js';

export const EXIT = { graded: 0, mismatch: 1, usage: 2, infrastructure: 3 } as const;

// Cucumber, Allure and the Kubernetes client take about a second to load: only the commands that use them do.
const providerFor = async (choice: ClusterChoice) => (await import('../env/cluster/select.js')).providerFor(choice);
const lazy = {
  grade: () => import('../grade/grade.js'),
  verify: () => import('../grade/verify.js'),
  validate: () => import('../lab/validate.js'),
  vocabulary: () => import('../cucumber/vocabulary.js'),
  allureHtml: () => import('../report/allure-html.js'),
  reports: () => import('../report/write-all.js'),
};

/**
 * Starts loading what grading needs (cucumber, the step definitions and through them the
 * Kubernetes client, the report writers) while the environment is prepared, which mostly waits on docker and
 * the API server. A failure here is left for gradeSubmission to meet and report.
 */
function preloadGrading(): Promise<unknown> {
  return Promise.all([lazy.grade(), lazy.reports(), import('../cucumber/steps.js').then((m) => m.loadSteps())]).catch(() => undefined);
}

const USAGE = `kgrade: grades Kubernetes course labs written as Gherkin scenarios

  kgrade grade LABDIR --submission DIR [--out DIR] [--allure] [--no-build] [sandbox options] [cluster options]
      Grade one submission; writes results.json, junit.xml, gradescope/results.json,
      summary.md (and allure-results/ with --allure) into --out
      (default reports/<lab>/<submission>/).
  kgrade verify LABDIR... [--case NAME]... [--out DIR] [--no-build] [sandbox options] [cluster options]
      Grade reference/ and every correct/<case>/ (other right answers: must get full
      marks) and every wrong/<case>/ (must get the score lab.yaml's expect: gives it).
      What a course repository's CI runs.

  sandbox options:
      --isolation userns|privileged   how a sandbox is kept from the host (default userns:
                                      root inside is an unprivileged uid on the host;
                                      privileged is for hosts without user namespaces and
                                      is NOT a security boundary)
      --jobs N                        scenarios run at once, each in its own sandbox or
                                      namespace (default: the machine's cores); @serial
                                      scenarios of a cluster lab run alone, after the rest
  kgrade batch LABDIR SUBMISSIONS [--out DIR] [--regrade] [--shard I/N] [--no-build] [sandbox options] [cluster options]
      Grade a class: SUBMISSIONS is a folder of one folder, .zip or .tar.gz per student
      (named by student id) or a CSV roster of id,path lines. Writes results/<id>.json
      the moment each student is done, students/<id>/ reports and batch.json into --out
      (default reports/<lab>/batch/); run again, it grades only what is missing or changed
      (--regrade: everyone). --jobs bounds submissions and scenarios together. Exit 0 every
      student graded, 3 some without a final grade (listed).
  kgrade merge OUTDIR SHARDDIR...
      Join the --out folders of kgrade batch --shard 1/N ... N/N into OUTDIR, as one batch.
  kgrade validate [LABDIR...]
      Check lab.yaml, the features and their steps without Docker (default: every lab).
  kgrade check [LABDIR...] [--jobs N] [cluster options]
      Regression-check a cluster's setup, with no submission: the shared features in
      features/ (what the course assumes of any cluster) and the @course checks of the
      given labs (default: every cluster lab). Prints which claims hold, with what was
      seen. Exit 0 all hold, 1 some do not, 3 some could not be checked.
  kgrade list [LABS_ROOT]
      The labs, their environment and points.
  kgrade cluster up|down|status|logs DIR|load IMAGE [cluster options]
      Drive the cluster that cluster labs run against: kind (default; created or
      reused, built offline) or an existing cluster named by kubeconfig and context.

  cluster options:
      --kubeconfig FILE --context NAME  any other cluster (provider existing)
      --node-image IMAGE                kind: run this node image instead of building one
                                        (e.g. kind's published kindest/node:v1.31.0 where a
                                        registry is reachable: saves the half-hour build)
      --kubernetes-version vX.Y.Z       kind: build the node image for this version
      --kube-proxy-mode iptables|nftables
                                        kind: kube-proxy's mode (default iptables); a running
                                        cluster in the other mode is recreated
  kgrade steps
      Every step sentence a feature may use, by subject.
  kgrade clean
      Remove the sandboxes (containers, mounts, cgroups, state) of kgrade runs that
      died without cleaning up. Every grade does this on start too.
  kgrade report DIR [--out DIR]
      The class report of a batch output folder (batch.json and results/, from kgrade
      batch or kgrade merge): index.html (offline; score histogram, pass rate per
      scenario, errors, a page per student), gradebook.csv, junit.xml and
      gradescope/<id>/results.json, into --out (default DIR/report/).
  kgrade report --html DIR [--out DIR]
      Make an Allure HTML report from DIR/allure-results (from grade --allure).
  kgrade report --classroom DIR [--out FILE]
      GitHub Classroom's autograding result of DIR/results.json (from grade): writes
      it to --out (default DIR/classroom.json) and prints it base64-encoded, the value
      of the runner's "result" output that the autograding reporter reads.

Exit codes: 0 graded (whatever the score) / verified; 1 verify found a mismatch;
2 usage or invalid lab; 3 could not grade (infrastructure or grader error).`;

const log = (line: string) => process.stderr.write(`${line}\n`);
const color = process.stdout.isTTY === true && colorAllowed();

async function labDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() && (await stat(path.join(root, e.name, 'lab.yaml')).catch(() => undefined))) out.push(path.join(root, e.name));
  }
  return out.sort();
}

async function freshDir(dir: string): Promise<string> {
  await rm(path.join(dir, 'allure-results'), { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

const SANDBOX_OPTIONS = {
  isolation: { type: 'string' },
  jobs: { type: 'string' },
} as const;

/** --isolation and --jobs, or their defaults from the configuration; the privileged warning. */
function sandboxChoice(labs: Lab[], values: { isolation?: string | undefined; jobs?: string | undefined }): { isolation: Isolation; jobs: number } {
  const chosen = values.isolation ?? configuredIsolation();
  if (!isIsolation(chosen)) throw new UsageError(`--isolation must be ${ISOLATIONS.join(' or ')}, not "${chosen}"`);
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) throw new UsageError(`--jobs must be a whole number from 1, not "${values.jobs}"`);
  const jobs = values.jobs !== undefined ? Number(values.jobs) : configuredJobs();
  if (chosen === 'privileged' && labs.some((l) => l.environment === 'sandbox')) {
    log('kgrade: WARNING: --isolation privileged: sandboxes are privileged containers, root inside is root on this host. This is not a security boundary: grade only submissions you trust, or on a disposable machine.');
  }
  return { isolation: chosen, jobs };
}

const CLUSTER_OPTIONS = {
  provider: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'node-image': { type: 'string' },
  'kubernetes-version': { type: 'string' },
  'kube-proxy-mode': { type: 'string' },
} as const;

type ClusterValues = {
  provider?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  'node-image'?: string | undefined;
  'kubernetes-version'?: string | undefined;
  'kube-proxy-mode'?: string | undefined;
};

function clusterChoice(values: ClusterValues): ClusterChoice {
  const provider = values.provider ?? (values.kubeconfig ? 'existing' : 'kind');
  if (provider !== 'kind' && provider !== 'existing') throw new UsageError(`--provider must be kind or existing, not "${provider}"`);
  if (provider === 'existing' && (values['node-image'] || values['kubernetes-version'] || values['kube-proxy-mode'])) {
    throw new UsageError('--node-image, --kubernetes-version and --kube-proxy-mode choose how kind makes its cluster; an existing cluster has its own');
  }
  const mode = values['kube-proxy-mode'];
  if (mode !== undefined && !isKubeProxyMode(mode)) throw new UsageError(`--kube-proxy-mode must be ${KUBE_PROXY_MODES.join(' or ')}, not "${mode}"`);
  return {
    provider,
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values['node-image'] ? { nodeImage: values['node-image'] } : {}),
    ...(values['kubernetes-version'] ? { kubernetesVersion: values['kubernetes-version'] } : {}),
    ...(mode ? { kubeProxyMode: mode } : {}),
  };
}

/**
 * kgrade's admission policies for submission namespaces, on any cluster it grades on (kept
 * when current). A grade does not wait here: its first namespace waits for the same install,
 * and a failure is that namespace's error.
 */
async function installSubmissionAdmission(kc: import('../vendor/kubernetes-client.js').KubeConfig, wait: boolean): Promise<void> {
  const installing = (await import('../kube/admission.js')).ensureAdmission(kc).then((changed) => {
    if (changed.length) log(`kgrade: admission policies for submission namespaces: ${changed.join(', ')}`);
  });
  if (wait) await installing;
  else installing.catch(() => undefined);
}

/** What a lab's scenarios run on: the node image for sandbox labs; for cluster labs, the cluster, brought up. */
async function prepareEnvironment(
  labs: Lab[],
  values: ClusterValues & { 'no-build'?: boolean | undefined },
): Promise<{ image: string; cluster?: WorldParameters['cluster'] }> {
  const image = labs.some((l) => l.environment === 'sandbox') ? await ensureNodeImage({ build: !values['no-build'], log }) : '';
  if (!labs.some((l) => l.environment === 'cluster')) return { image };
  const choice = clusterChoice(values);
  const provider = await providerFor(choice);
  const status = await provider.up(log);
  await installSubmissionAdmission(provider.kubeConfig(), false);
  return { image, cluster: { provider: choice.provider, kubeconfig: status.ref.kubeconfig, context: status.ref.context } };
}

async function cmdGrade(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { submission: { type: 'string' }, out: { type: 'string' }, allure: { type: 'boolean' }, 'no-build': { type: 'boolean' }, ...SANDBOX_OPTIONS, ...CLUSTER_OPTIONS },
  });
  const [labArg] = positionals;
  if (!labArg || !values.submission || positionals.length > 1) {
    log('usage: kgrade grade LABDIR --submission DIR [--out DIR] [--allure] [--no-build]');
    return EXIT.usage;
  }
  trace('modules loaded, arguments read');
  const lab = await loadLab(labArg);
  trace('lab loaded');
  const sandbox = sandboxChoice([lab], values);
  const loading = preloadGrading();
  // The sandboxes of dead runs are removed meanwhile: neither waits on the other.
  const [env] = await Promise.all([
    prepareEnvironment([lab], values).finally(() => trace('environment ready')),
    reapOrphans().finally(() => trace('orphans reaped')),
    loading.finally(() => trace('cucumber and the steps loaded')),
  ]);
  const subName = path.basename(path.resolve(values.submission));
  const out = await freshDir(path.resolve(values.out ?? path.join(REPO_ROOT, 'reports', lab.id, subName)));
  log(`kgrade: grading ${values.submission} against ${lab.id} (${lab.scenarios.length} scenarios, ${lab.maxScore} points) in ${env.cluster ? env.cluster.context : env.image}`);
  const { result } = await (await lazy.grade()).gradeSubmission(lab, values.submission, {
    nodeImage: env.image,
    ...sandbox,
    ...(env.cluster ? { cluster: env.cluster } : {}),
    log,
    ...(values.allure ? { allureResultsDir: path.join(out, 'allure-results') } : {}),
  });
  trace('graded');
  const written = await (await lazy.reports()).writeReports(result, out);
  trace('reports written');
  process.stdout.write(`${toSummary(result, { color })}\n`);
  log(`kgrade: reports in ${path.relative(process.cwd(), out) || '.'}: ${written.map((w) => path.relative(out, w)).join(', ')}`);
  if (!result.complete) {
    log(`kgrade: ${result.counts.error} scenario(s) ended in a grader error even after a retry: this grade is incomplete, not a zero`);
    return EXIT.infrastructure;
  }
  return EXIT.graded;
}

async function cmdVerify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { case: { type: 'string', multiple: true }, out: { type: 'string' }, 'no-build': { type: 'boolean' }, ...SANDBOX_OPTIONS, ...CLUSTER_OPTIONS },
  });
  if (positionals.length === 0) {
    log('usage: kgrade verify LABDIR... [--case NAME]... [--out DIR]');
    return EXIT.usage;
  }
  const labs = [];
  for (const p of positionals) labs.push(await loadLab(p));
  const sandbox = sandboxChoice(labs, values);
  const env = await prepareEnvironment(labs, values);
  await reapOrphans();
  let worst: number = EXIT.graded;
  const lines: string[] = [];
  for (const lab of labs) {
    const base = path.resolve(values.out ?? path.join(REPO_ROOT, 'reports', lab.id, 'verify'));
    const verdicts = await (await lazy.verify()).verifyLab(lab, {
      nodeImage: env.image,
      ...sandbox,
      ...(env.cluster ? { cluster: env.cluster } : {}),
      log,
      ...(values.case ? { cases: values.case } : {}),
      onGraded: async (v) => {
        await (await lazy.reports()).writeReports(v.result, await freshDir(path.join(base, v.kind === 'correct' ? `correct-${v.name}` : v.name)));
      },
    });
    for (const v of verdicts) {
      const got = `${v.result.score}/${v.result.maxScore}`;
      const state = !v.result.complete ? 'ERROR' : v.mismatch ? 'MISMATCH' : 'ok';
      lines.push(`${state.padEnd(8)} ${lab.id} ${v.kind === 'reference' ? 'reference' : `${v.kind}/${v.name}`}: ${got} (expected ${v.expected})${v.mismatch ? `: ${v.mismatch}` : ''}`);
      if (!v.result.complete) {
        const errs = v.result.scenarios.filter((s) => s.outcome === 'error');
        for (const s of errs) lines.push(`         error in "${s.name}": ${s.message.split('\n')[0]}`);
        worst = EXIT.infrastructure;
      } else if (v.mismatch && worst === EXIT.graded) worst = EXIT.mismatch;
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return worst;
}

async function cmdBatch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: 'string' }, regrade: { type: 'boolean' }, shard: { type: 'string' }, 'no-build': { type: 'boolean' }, ...SANDBOX_OPTIONS, ...CLUSTER_OPTIONS },
  });
  const [labArg, submissions] = positionals;
  if (!labArg || !submissions || positionals.length > 2) {
    log('usage: kgrade batch LABDIR SUBMISSIONS [--out DIR] [--regrade] [--shard I/N] [--jobs N] [--no-build]');
    return EXIT.usage;
  }
  const batch = await import('../batch/command.js');
  const lab = await loadLab(labArg);
  const shard = values.shard !== undefined ? batch.parseShard(values.shard) : undefined;
  const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'reports', lab.id, 'batch'));
  const plan = await batch.planBatch({ lab, submissions, out, ...(shard ? { shard } : {}) });
  const sandbox = sandboxChoice([lab], values);
  const env = await prepareEnvironment([lab], values);
  await reapOrphans();
  const outcome = await batch.gradeClass(plan, { nodeImage: env.image, ...sandbox, ...(env.cluster ? { cluster: env.cluster } : {}), regrade: values.regrade === true, log });
  return outcome.graded.length === outcome.students.length ? EXIT.graded : EXIT.infrastructure;
}

async function cmdMerge(args: string[]): Promise<number> {
  const [out, ...shards] = args;
  if (!out || shards.length === 0 || args.some((a) => a.startsWith('-'))) {
    log('usage: kgrade merge OUTDIR SHARDDIR...');
    return EXIT.usage;
  }
  const outcome = await (await import('../batch/command.js')).mergeClass(path.resolve(out), shards.map((d) => path.resolve(d)), log);
  return outcome.graded.length === outcome.students.length ? EXIT.graded : EXIT.infrastructure;
}

async function cmdCheck(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { jobs: { type: 'string' }, ...CLUSTER_OPTIONS } });
  const { sharedFeatures, checkCluster, formatClaims } = await import('../grade/cluster-check.js');
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
}

async function cmdValidate(args: string[]): Promise<number> {
  const dirs = args.length ? args : await labDirs(path.join(REPO_ROOT, 'labs'));
  let bad = 0;
  for (const d of dirs) {
    const v = await (await lazy.validate()).validateLab(d);
    if (v.problems.length) {
      bad += 1;
      process.stdout.write(`INVALID ${d}\n${v.problems.map((p) => `  ${p.replaceAll('\n', '\n  ')}`).join('\n')}\n`);
    } else {
      process.stdout.write(`ok      ${v.lab?.id ?? d}: ${v.lab?.scenarios.length ?? 0} scenarios, ${v.lab?.maxScore ?? 0} points\n`);
    }
  }
  return bad ? EXIT.usage : EXIT.graded;
}

async function cmdList(args: string[]): Promise<number> {
  const root = args[0] ?? path.join(REPO_ROOT, 'labs');
  for (const d of await labDirs(root)) {
    try {
      const lab = await loadLab(d);
      const graded = lab.scenarios.filter((s) => !s.course).length;
      process.stdout.write(`${lab.id.padEnd(24)} ch${String(lab.chapter).padStart(2, '0')} ${lab.environment.padEnd(8)} ${String(lab.maxScore).padStart(3)} points  ${graded} graded + ${lab.scenarios.length - graded} course checks  ${lab.title}\n`);
    } catch (err) {
      process.stdout.write(`${path.basename(d).padEnd(24)} INVALID: ${(err as Error).message.split('\n')[0]}\n`);
    }
  }
  return EXIT.graded;
}

async function cmdCluster(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CLUSTER_OPTIONS });
  const [action, arg] = positionals;
  const provider = await providerFor(clusterChoice(values));
  switch (action) {
    case 'up': {
      const s = await provider.up(log);
      await installSubmissionAdmission(provider.kubeConfig(), true);
      process.stdout.write(`${s.name}: ${s.version}, ${s.nodes.map((n) => `${n.name} ${n.ready ? 'Ready' : 'NotReady'} ${n.internalIP}`).join(', ')}\nkubeconfig: ${s.ref.kubeconfig} (context ${s.ref.context})\n`);
      return EXIT.graded;
    }
    case 'status': {
      const s = await provider.status();
      process.stdout.write(`${s.name} (${s.provider}) ${s.server} ${s.version}\n${s.nodes.map((n) => `  node ${n.name}: ${n.ready ? 'Ready' : 'NotReady'} ${n.internalIP} pods ${n.podCIDR}`).join('\n')}\n`);
      if (s.problems.length) {
        process.stdout.write(`problems:\n${s.problems.map((p) => `  - ${p}`).join('\n')}\n`);
        return EXIT.infrastructure;
      }
      process.stdout.write('healthy\n');
      return EXIT.graded;
    }
    case 'down':
      await provider.down(log);
      return EXIT.graded;
    case 'load':
      if (!arg) break;
      await provider.loadImage(arg, log);
      return EXIT.graded;
    case 'logs':
      process.stdout.write(`${await provider.exportLogs(path.resolve(arg ?? path.join(REPO_ROOT, 'reports', 'cluster-logs')))}\n`);
      return EXIT.graded;
    default:
      break;
  }
  log('usage: kgrade cluster up|down|status|logs [DIR]|load IMAGE [--provider kind|existing] [--kubeconfig FILE --context NAME]');
  return EXIT.usage;
}

async function cmdSteps(): Promise<number> {
  let file = '';
  for (const s of await (await lazy.vocabulary()).stepVocabulary()) {
    if (s.file !== file) {
      file = s.file;
      process.stdout.write(`\n${path.basename(file, '.steps.ts')} (${file})\n`);
    }
    process.stdout.write(`  ${s.pattern}\n`);
  }
  return EXIT.graded;
}

async function cmdReportClass(dirArg: string, outArg: string | undefined): Promise<number> {
  const { readClassResults } = await import('../report/class/read.js');
  const { writeClassReport } = await import('../report/class/write.js');
  const dir = path.resolve(dirArg);
  const out = path.resolve(outArg ?? path.join(dir, 'report'));
  if (out === dir) throw new UsageError(`--out ${outArg}: the report goes into a folder of its own, not into the batch's folder`);
  const cls = await readClassResults(dir);
  await writeClassReport(cls, out);
  const count = (status: string) => cls.students.filter((s) => s.status === status).length;
  log(`kgrade: class report of ${cls.lab.id} in ${path.relative(process.cwd(), out) || '.'}: ${cls.students.length} students, ${count('graded')} graded, ${count('error')} error, ${count('missing')} missing`);
  process.stdout.write(`${path.join(out, 'index.html')}\n`);
  return EXIT.graded;
}

async function cmdReportClassroom(dirArg: string, outArg: string | undefined): Promise<number> {
  const { toClassroom, classroomOutput, classroomFeedback } = await import('../report/classroom.js');
  const dir = path.resolve(dirArg);
  const result = toClassroom(await readResultsJson(path.join(dir, 'results.json')));
  const out = path.resolve(outArg ?? path.join(dir, 'classroom.json'));
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`, 'utf8');
  process.stderr.write(classroomFeedback(result));
  log(`kgrade: GitHub Classroom result in ${path.relative(process.cwd(), out) || out}`);
  process.stdout.write(`${classroomOutput(result)}\n`);
  return EXIT.graded;
}

async function cmdReport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { html: { type: 'string' }, classroom: { type: 'string' }, out: { type: 'string' } } });
  const [dirArg, ...extra] = positionals;
  if (values.classroom !== undefined && values.html === undefined && dirArg === undefined) return cmdReportClassroom(values.classroom, values.out);
  if (values.classroom === undefined && values.html === undefined && dirArg !== undefined && extra.length === 0) return cmdReportClass(dirArg, values.out);
  if (!values.html || values.classroom !== undefined || dirArg !== undefined) {
    log('usage: kgrade report DIR [--out DIR]            (DIR: the output folder of kgrade batch or kgrade merge)');
    log('       kgrade report --html DIR [--out DIR]     (DIR holds allure-results/ and results.json from kgrade grade --allure)');
    log('       kgrade report --classroom DIR [--out FILE] (DIR holds results.json from kgrade grade)');
    return EXIT.usage;
  }
  const dir = path.resolve(values.html);
  const results = path.join(dir, 'allure-results');
  const out = path.resolve(values.out ?? path.join(dir, 'allure-report'));
  const summary = await readResultsJson(path.join(dir, 'results.json')).catch(() => undefined);
  await (await lazy.allureHtml()).generateAllureHtml(results, out, { reportName: summary ? `${summary.lab.id}: ${summary.submission.name}` : 'kgrade' });
  process.stdout.write(`${path.join(out, 'index.html')}\n`);
  return EXIT.graded;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  installSignalCleanup(log);
  try {
    switch (command) {
      case 'grade':
        return await cmdGrade(rest);
      case 'verify':
        return await cmdVerify(rest);
      case 'batch':
        return await cmdBatch(rest);
      case 'merge':
        return await cmdMerge(rest);
      case 'validate':
        return await cmdValidate(rest);
      case 'list':
        return await cmdList(rest);
      case 'check':
        return await cmdCheck(rest);
      case 'report':
        return await cmdReport(rest);
      case 'steps':
        return await cmdSteps();
      case 'cluster':
        return await cmdCluster(rest);
      case 'clean': {
        const removed = await reapOrphans();
        process.stdout.write(removed.length ? `removed ${removed.length} orphaned sandbox(es): ${removed.join(', ')}\n` : 'no orphaned sandboxes\n');
        return EXIT.graded;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.graded;
      default:
        log(`kgrade: unknown command "${command}"\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (err) {
    if (err instanceof LabError) {
      log(`kgrade: invalid lab: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof GraderError) {
      log(`kgrade: could not grade: ${err.message}`);
      return EXIT.infrastructure;
    }
    if (err instanceof UsageError) {
      log(`kgrade: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      log(`kgrade: ${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    log(`kgrade: could not grade: ${(err as Error).stack ?? String(err)}`);
    return EXIT.infrastructure;
  }
}
