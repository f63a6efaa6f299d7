import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ScenarioRun, WorldParameters } from '../cucumber/parameters.js';
import { LabError } from '../errors.js';
import { finishNamespaceDeletions } from '../kube/namespace.js';
import { parseFeature } from '../lab/load.js';
import type { Lab, ScenarioDef } from '../lab/types.js';
import { runInLanes } from './lanes.js';

/** One claim the course makes of any cluster, and whether it held here. */
export interface Claim {
  source: string;
  name: string;
  outcome: 'holds' | 'fails' | 'unchecked';
  /** What was seen: the failure's message, or the grader's notes when it held. */
  seen: string;
}

/**
 * The top-level features/ folder as a lab of course checks: what the course assumes of any
 * cluster. Every scenario there must be a @course check: it needs no submission.
 */
export async function sharedFeatures(root: string): Promise<Lab> {
  const featuresDir = path.join(root, 'features');
  const files = (await readdir(featuresDir)).filter((f) => f.endsWith('.feature')).sort();
  const scenarios: ScenarioDef[] = [];
  for (const f of files) scenarios.push(...parseFeature(await readFile(path.join(featuresDir, f), 'utf8'), path.join('features', f)));
  const graded = scenarios.filter((s) => !s.course);
  if (graded.length) throw new LabError(`${path.join(root, graded[0]?.uri ?? '')}: "${graded[0]?.name}": shared features hold @course checks only`);
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
    expect: {},
    dir: root,
    featuresDir,
    scenarios,
    maxScore: 0,
  };
}

function claimOf(lab: Lab, run: ScenarioRun): Claim {
  const def = lab.scenarios.find((s) => s.id === run.id);
  const outcome = run.outcome === 'passed' ? 'holds' : run.outcome === 'failed' ? 'fails' : 'unchecked';
  return {
    source: lab.id,
    name: def?.name ?? run.id,
    outcome,
    seen: outcome === 'holds' ? run.notes.join('; ') : run.message,
  };
}

/**
 * Runs the course checks of each lab (only its @course scenarios; the shared features are all
 * @course) against the cluster, with no submission. A check that ends in the grader's error is
 * run once more before it counts as unchecked.
 */
export async function checkCluster(
  labs: Lab[],
  opts: { cluster: NonNullable<WorldParameters['cluster']>; jobs: number; log: (line: string) => void },
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
        nodeImage: '',
        isolation: 'userns',
        fixtures: lab.fixtures,
        timeouts: lab.timeouts,
        cluster: opts.cluster,
      };
      opts.log(`kgrade: ${lab.id}: ${course.length} course check(s)`);
      const runs = await runInLanes({ lab, world }, course, opts.jobs, false);
      const errored = course.filter((s) => runs.find((r) => r.id === s.id)?.outcome !== 'passed' && runs.find((r) => r.id === s.id)?.outcome !== 'failed');
      const again = errored.length ? await runInLanes({ lab, world: { ...world, runId: randomBytes(3).toString('hex') } }, errored, opts.jobs, false) : [];
      for (const s of course) {
        const run = again.find((r) => r.id === s.id) ?? runs.find((r) => r.id === s.id);
        claims.push(run ? claimOf(lab, run) : { source: lab.id, name: s.name, outcome: 'unchecked', seen: 'the check did not run' });
      }
    }
  } finally {
    await finishNamespaceDeletions();
  }
  return claims;
}

const MARK = { holds: 'holds  ', fails: 'FAILS  ', unchecked: 'UNCHECKED' } as const;

/** A held claim's evidence, on one line of at most this many characters. */
const HELD_SEEN = 240;

/**
 * The terminal report: one line a claim; under each that did not hold, what was seen; under
 * each that held, the start of the grader's notes (the form it saw, e.g. kube-proxy's mode).
 */
export function formatClaims(claims: Claim[]): string {
  const lines: string[] = [];
  for (const c of claims) {
    lines.push(`${MARK[c.outcome]} ${c.source}: ${c.name}`);
    if (!c.seen) continue;
    if (c.outcome !== 'holds') lines.push(...c.seen.split('\n').slice(0, 8).map((l) => `          ${l}`));
    else {
      const one = c.seen.replace(/\s+/g, ' ');
      lines.push(`          seen: ${one.length > HELD_SEEN ? `${one.slice(0, HELD_SEEN - 1)}…` : one}`);
    }
  }
  const n = (o: Claim['outcome']) => claims.filter((c) => c.outcome === o).length;
  lines.push('', `${n('holds')} hold, ${n('fails')} do not hold, ${n('unchecked')} could not be checked`);
  return `${lines.join('\n')}\n`;
}
