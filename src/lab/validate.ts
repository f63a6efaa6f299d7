import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { runScenarios } from '../cucumber/run.js';
import { loadLab } from './load.js';
import type { Lab } from './types.js';

export interface Validation {
  lab?: Lab;
  dir: string;
  problems: string[];
}

async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Everything that can be checked without Docker: lab.yaml against its schema,
 * the features' syntax and tags, every step matched by exactly one definition
 * (a cucumber dry run), the reference holding the contract's files, and expect:
 * naming exactly the folders under wrong/.
 */
export async function validateLab(dir: string): Promise<Validation> {
  let lab: Lab;
  try {
    lab = await loadLab(dir);
  } catch (err) {
    return { dir, problems: [(err as Error).message] };
  }
  const problems: string[] = [];
  const dry = await runScenarios({
    lab,
    dryRun: true,
  });
  for (const run of dry.runs) {
    if (run.outcome === 'error') problems.push(`${path.join(lab.dir, run.id)}: ${run.message}`);
  }
  const reference = path.join(lab.dir, 'reference');
  if (
    !(await stat(reference).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    problems.push(`${reference}: missing; a lab needs a reference submission that gets full marks`);
  } else {
    for (const f of lab.submission.files) {
      if (
        !(await stat(path.join(reference, f.path)).then(
          (s) => s.isFile(),
          () => false,
        ))
      ) {
        problems.push(`${reference}: lacks ${f.path}, which lab.yaml's submission.files asks for`);
      }
    }
  }
  const wrong = await folders(path.join(lab.dir, 'wrong'));
  for (const c of wrong)
    if (!(c in lab.expect)) problems.push(`${path.join(lab.dir, 'lab.yaml')}: expect: has no entry for wrong/${c}`);
  for (const c of Object.keys(lab.expect))
    if (!wrong.includes(c))
      problems.push(`${path.join(lab.dir, 'lab.yaml')}: expect.${c}: there is no folder wrong/${c}`);
  for (const [c, e] of Object.entries(lab.expect)) {
    if (e.score >= lab.maxScore)
      problems.push(
        `${path.join(lab.dir, 'lab.yaml')}: expect.${c}.score: ${e.score} is full marks (${lab.maxScore}); a wrong submission must lose points`,
      );
  }
  return { lab, dir, problems };
}
