import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readHistory } from '../../batch/history.js';
import { adjust, readPolicy, unknownExtensions } from '../../batch/policy.js';
import type { StoredResult } from '../../batch/records.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_SIMILARITY, similarPairs, type Submission } from '../../similarity/match.js';
import { LAB_KEPT_ID, readKept } from '../../similarity/store.js';
import type { RosterRecord } from './lms.js';
import type { ClassResults } from './model.js';

/*
 * What the class report adds to the stored grades, each from its own file of the batch's folder:
 * the regrade history (results/history/), the similarity check (similarity/), the late policy
 * (--policy FILE, else the policy.yaml kgrade batch kept) and the roster's LMS ids (roster.json).
 * Every problem is found before anything is written.
 */

export interface ExtrasOptions {
  policy?: string;
  similarityThreshold?: number;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function readStoredSubmitted(dir: string, id: string): Promise<StoredResult['submitted']> {
  try {
    return (JSON.parse(await readFile(path.join(dir, 'results', `${id}.json`), 'utf8')) as StoredResult).submitted;
  } catch {
    return undefined;
  }
}

export async function readRosterRecord(dir: string): Promise<RosterRecord | undefined> {
  let data: { file?: unknown; students?: unknown };
  try {
    data = JSON.parse(await readFile(path.join(dir, 'roster.json'), 'utf8')) as typeof data;
  } catch {
    return undefined;
  }
  const students = new Map<string, { line?: number; identity: Record<string, string> }>();
  for (const s of Array.isArray(data.students)
    ? (data.students as Array<{ id?: unknown; line?: unknown; identity?: unknown }>)
    : []) {
    if (typeof s.id !== 'string') continue;
    students.set(s.id, {
      ...(typeof s.line === 'number' ? { line: s.line } : {}),
      identity: (s.identity ?? {}) as Record<string, string>,
    });
  }
  return { ...(typeof data.file === 'string' ? { file: data.file } : {}), students };
}

/** Adds the regrade history, the similarity pairs and the late policy to the class; returns the roster's ids. */
export async function addClassExtras(
  dir: string,
  cls: ClassResults,
  opts: ExtrasOptions = {},
): Promise<{ roster?: RosterRecord }> {
  const policyFile =
    opts.policy ?? ((await exists(path.join(dir, 'policy.yaml'))) ? path.join(dir, 'policy.yaml') : undefined);
  const policy = policyFile ? await readPolicy(policyFile) : undefined;
  if (policy) {
    const strangers = unknownExtensions(
      policy,
      cls.students.map((s) => s.id),
    );
    if (strangers.length)
      throw new UsageError(
        `the late policy names students the batch does not have:\n${strangers.map((p) => `  - ${p}`).join('\n')}`,
      );
    const problems: string[] = [];
    for (const s of cls.students) {
      if (s.status !== 'graded' || !s.result) continue;
      const when = (await readStoredSubmitted(dir, s.id))?.[policy.submittedAt];
      if (!when) {
        problems.push(
          `results/${s.id}.json: no ${policy.submittedAt} time for ${s.id}${policy.submittedAt === 'roster' ? ' (grade from a roster with a submitted column)' : policy.submittedAt === 'git' ? ' (no Git repository in the submission)' : ''}`,
        );
        continue;
      }
      s.late = adjust(policy, s.id, s.result.score, when);
    }
    if (problems.length) {
      throw new UsageError(
        `the late policy ${policyFile} takes the submission time from "${policy.submittedAt}", which some students lack:\n${problems.map((p) => `  - ${path.join(dir, p)}`).join('\n')}`,
      );
    }
    cls.policy = { file: policyFile ?? '', due: new Date(Date.parse(policy.due)).toISOString() };
  }
  for (const s of cls.students) {
    const kept = await readHistory(dir, s.id);
    const last = kept.filter((k) => k.provenance.labHash !== cls.lab.hash).at(-1);
    if (last) s.previous = last;
  }
  const lab = await readKept(dir, LAB_KEPT_ID);
  const submissions: Submission[] = [];
  for (const s of cls.students) {
    const kept = await readKept(dir, s.id);
    if (kept) submissions.push({ id: s.id, files: kept.files });
  }
  if (submissions.length > 0) {
    const threshold = opts.similarityThreshold ?? DEFAULT_SIMILARITY.threshold;
    cls.similarity = {
      threshold,
      compared: submissions.map((s) => s.id),
      pairs: similarPairs(submissions, lab?.files ?? [], { ...DEFAULT_SIMILARITY, threshold }),
    };
  }
  const roster = await readRosterRecord(dir);
  return roster ? { roster } : {};
}
