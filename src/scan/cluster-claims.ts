import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ScenarioRun, WorldParameters } from '../cucumber/parameters.js';
import type { ClusterParameters } from '../env/environments/cluster.js';
import { LabError } from '../errors.js';
import { finishNamespaceDeletions } from '../kube/namespace.js';
import { scannerProblems } from '../lab/course-checks.js';
import { parseFeature } from '../lab/load.js';
import type { Lab, ScenarioDef } from '../lab/types.js';
import { REPO_ROOT } from '../paths.js';
import { claimId, type Claim } from './claim.js';
import { runInLanes } from '../grade/lanes.js';

/**
 * The top-level features/ folder as a lab of course checks: what the course assumes of any
 * cluster. Every scenario there must be a @course check: it needs no submission.
 */
export async function sharedFeatures(root: string): Promise<Lab> {
  const featuresDir = path.join(root, 'features');
  const files = (await readdir(featuresDir)).filter((f) => f.endsWith('.feature')).sort();
  const scenarios: ScenarioDef[] = [];
  for (const f of files)
    scenarios.push(...parseFeature(await readFile(path.join(featuresDir, f), 'utf8'), path.join('features', f)));
  const graded = scenarios.filter((s) => !s.course);
  if (graded.length)
    throw new LabError(
      `${path.join(root, graded[0]?.uri ?? '')}: "${graded[0]?.name}": shared features hold @course checks only`,
    );
  const problems = scannerProblems(scenarios);
  if (problems.length) throw new LabError(`${featuresDir}:\n  - ${problems.join('\n  - ')}`);
  return {
    id: 'cluster-setup',
    title: 'What the course assumes of any cluster',
    chapter: 0,
    environment: 'cluster',
    kernel: { cgroup: 'either' },
    submission: { files: [], maxBytes: 1 },
    timeouts: { script: 60, command: 60, wait: 120 },
    fixtures: [],
    disruptive: false,
    feedback: 'full',
    verify: {},
    expect: {},
    dir: root,
    featuresDir,
    scenarios,
    maxScore: 0,
  };
}

/** The feature file relative to the repository, or a file: URL when the lab lives elsewhere. */
function fileOf(lab: Lab, def: ScenarioDef): string {
  const abs = path.resolve(lab.dir, def.uri);
  const rel = path.relative(REPO_ROOT, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? pathToFileURL(abs).href : rel.split(path.sep).join('/');
}

function claimOf(lab: Lab, def: ScenarioDef, run: ScenarioRun | undefined): Claim {
  const outcome = run?.outcome === 'passed' ? 'holds' : run?.outcome === 'failed' ? 'fails' : 'unchecked';
  return {
    id: claimId(lab.id, def.name),
    source: lab.id,
    name: def.name,
    severity: def.severity ?? 'medium',
    remediation: def.hint,
    uri: fileOf(lab, def),
    line: def.line,
    outcome,
    seen: !run ? 'the check did not run' : outcome === 'holds' ? run.notes.join('; ') : run.message,
  };
}

/** Every course check of the labs as not checked, with the reason: when the cluster could not be reached at all. */
export function uncheckedClaims(labs: Lab[], reason: string): Claim[] {
  return labs.flatMap((lab) =>
    lab.scenarios.filter((s) => s.course).map((s) => ({ ...claimOf(lab, s, undefined), seen: reason })),
  );
}

/**
 * Runs the course checks of each lab (only its @course scenarios; the shared features are all
 * @course) against the cluster, with no submission. A check that ends in the grader's error is
 * run once more before it counts as unchecked.
 */
export async function checkCluster(
  labs: Lab[],
  opts: { cluster: ClusterParameters; jobs: number; log: (line: string) => void },
): Promise<Claim[]> {
  const claims: Claim[] = [];
  try {
    for (const lab of labs) {
      const course = lab.scenarios.filter((s) => s.course);
      if (course.length === 0) continue;
      const world: WorldParameters = {
        labDir: lab.dir,
        labId: lab.id,
        runId: randomBytes(3).toString('hex'),
        submissionDir: '',
        submissionName: 'cluster-check',
        missingFiles: [],
        environment: opts.cluster,
        fixtures: lab.fixtures,
        timeouts: lab.timeouts,
      };
      opts.log(`kgrade: ${lab.id}: ${course.length} course check(s)`);
      const runs = await runInLanes({ lab, world }, course, opts.jobs, false);
      const errored = course.filter(
        (s) =>
          runs.find((r) => r.id === s.id)?.outcome !== 'passed' &&
          runs.find((r) => r.id === s.id)?.outcome !== 'failed',
      );
      const again = errored.length
        ? await runInLanes(
            { lab, world: { ...world, runId: randomBytes(3).toString('hex') } },
            errored,
            opts.jobs,
            false,
          )
        : [];
      for (const s of course)
        claims.push(claimOf(lab, s, again.find((r) => r.id === s.id) ?? runs.find((r) => r.id === s.id)));
    }
  } finally {
    await finishNamespaceDeletions();
  }
  return claims;
}
