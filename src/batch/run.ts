import { appendFile, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { alive, trackPath, untrackPath } from '../env/cleanup.js';
import type { EnvironmentParameters } from '../env/environments/index.js';
import { UsageError } from '../errors.js';
import { Budget } from '../grade/budget.js';
import type { GradeResult } from '../grade/model.js';
import type { Lab } from '../lab/types.js';
import { kgradeVersion, labHash, sha256, submissionHash } from './provenance.js';
import type { Finished, Progress } from './progress.js';
import { readRoster, type Roster, type RosterEntry } from './roster.js';
import { readPolicy, unknownExtensions, type LatePolicy } from './policy.js';
import { submittedTimes } from './submitted.js';
import { writeAtomic } from './output-folder.js';
import { copyFile } from 'node:fs/promises';
import { formatShard, studentsOfShard, type Shard } from './shard.js';
import {
  lockOutput,
  readBatchRecord,
  readStoredResult,
  removeStaleTemps,
  reuseDecision,
  writeBatchRecord,
  writeStoredResult,
} from './output-folder.js';
import type { BatchRecord, StoredResult } from './records.js';
import { unpackArchive } from './unpack.js';
import { keepLabFiles, keepSubmission, labFixedNames } from '../similarity/store.js';
import { keepHistory } from './history.js';

/**
 * kgrade batch: grades every student of a roster (or of one shard of it) into an output folder.
 *
 * OUT/batch.json             the batch (lab and its hash, kgrade's version, the students)
 * OUT/results/<id>.json      each student's StoredResult, written atomically when they are done
 * OUT/students/<id>/         results.json, junit.xml, gradescope/results.json, summary.md
 * OUT/logs/<id>.log          what grading printed, attempt by attempt
 *
 * A stored result is reused when it is graded and its lab and submission hashes are the current
 * ones, so a batch stopped at any point and run again grades only what is missing. Submissions and
 * their scenarios share one budget of `jobs` slots. A student whose grade ends in a grader error is
 * graded again after a pause (5 s, then 15 s); one still in error is stored as an error.
 */

export const RETRY_DELAYS_MS = [5_000, 15_000];

export interface BatchPlan {
  lab: Lab;
  labHash: string;
  kgradeVersion: string;
  out: string;
  shard?: Shard;
  /** The students this run grades (the shard's, when sharded), sorted by id. */
  students: RosterEntry[];
  /** The whole roster's size. */
  rosterSize: number;
  /** Entries of the submissions folder that are no submission. */
  ignored: string[];
  /** The whole roster (every shard's students), for roster.json. */
  roster: Roster;
  policy?: LatePolicy;
}

/** Reads the roster and checks the output folder: every usage problem before anything is built or graded. */
export async function planBatch(opts: {
  lab: Lab;
  submissions: string;
  out: string;
  shard?: Shard;
  policy?: string;
}): Promise<BatchPlan> {
  const roster = await readRoster(opts.submissions);
  const policy = opts.policy !== undefined ? await readPolicy(opts.policy) : undefined;
  const strangers = policy
    ? unknownExtensions(
        policy,
        roster.students.map((s) => s.id),
      )
    : [];
  if (strangers.length)
    throw new UsageError(
      `the late policy names students the roster does not have:\n${strangers.map((p) => `  - ${p}`).join('\n')}`,
    );
  if (policy?.submittedAt === 'roster') {
    const where = roster.file ?? opts.submissions;
    if (!roster.columns.includes('submitted')) {
      throw new UsageError(
        `${where}:1: the late policy ${policy.file} takes each submission's time from the roster (submittedAt: roster), and ${roster.file ? 'this roster has no submitted column: give it a header id,path,submitted' : 'a folder of submissions has no roster: give a CSV roster with a header id,path,submitted'}, or set submittedAt to archive or git`,
      );
    }
    const without = roster.students.filter((s) => !s.submitted);
    if (without.length)
      throw new UsageError(
        `${where}: the late policy needs each student's submitted time; it is empty on:\n${without.map((s) => `  - ${where}:${s.line ?? '?'}: ${s.id}`).join('\n')}`,
      );
  }
  const students = studentsOfShard(roster.students, opts.shard);
  const before = await readBatchRecord(opts.out);
  if (before && before.lab.id !== opts.lab.id) {
    throw new UsageError(`${opts.out} holds a batch of lab ${before.lab.id}, not ${opts.lab.id}: give another --out`);
  }
  const shard = opts.shard ? formatShard(opts.shard) : undefined;
  if (before && before.shard !== shard) {
    throw new UsageError(
      `${opts.out} holds ${before.shard ? `shard ${before.shard}` : 'a whole batch'}, not ${shard ? `shard ${shard}` : 'a whole batch'}: give each shard its own --out`,
    );
  }
  return {
    lab: opts.lab,
    labHash: await labHash(opts.lab),
    kgradeVersion: await kgradeVersion(),
    out: opts.out,
    ...(opts.shard ? { shard: opts.shard } : {}),
    students,
    rosterSize: roster.students.length,
    ignored: roster.ignored,
    roster,
    ...(policy ? { policy } : {}),
  };
}

export interface BatchOptions {
  environment: EnvironmentParameters;
  jobs: number;
  /** Grade every student again, whatever is stored. */
  regrade: boolean;
  /** Where it grades, for the provenance (the environment's provenance line). */
  provenance: string;
  progress: Progress;
  log: (line: string) => void;
  retryDelaysMs?: number[];
}

export interface BatchOutcome {
  students: string[];
  graded: string[];
  errors: Array<{ id: string; reason: string }>;
  missing: string[];
}

/** The batch record, its fields always in this order (a merge writes the same bytes as a single run). */
export function batchRecord(r: {
  lab: Lab | BatchRecord['lab'];
  labHash?: string;
  kgradeVersion: string;
  shard?: string | undefined;
  students: string[];
  startedAt: string;
  finishedAt?: string | undefined;
  environment?: string | undefined;
}): BatchRecord {
  const lab =
    'dir' in r.lab ? { id: r.lab.id, title: r.lab.title, hash: r.labHash ?? '', maxScore: r.lab.maxScore } : r.lab;
  return {
    schemaVersion: 1,
    lab: { id: lab.id, title: lab.title, hash: lab.hash, maxScore: lab.maxScore },
    kgradeVersion: r.kgradeVersion,
    ...(r.shard ? { shard: r.shard } : {}),
    students: r.students,
    startedAt: r.startedAt,
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    ...(r.environment ? { environment: r.environment } : {}),
  };
}

/** Each student's final state in an output folder, read back from results/. */
export async function readBatchOutcome(out: string, students: string[], labHashNow: string): Promise<BatchOutcome> {
  const o: BatchOutcome = { students, graded: [], errors: [], missing: [] };
  for (const id of students) {
    const read = await readStoredResult(out, id);
    if ('missing' in read) o.missing.push(id);
    else if ('unreadable' in read)
      o.errors.push({ id, reason: `results/${id}.json cannot be used: ${read.unreadable}` });
    else if (read.stored.status !== 'graded' || !read.stored.result)
      o.errors.push({ id, reason: read.stored.reason ?? 'no final grade' });
    else if (read.stored.provenance.labHash !== labHashNow)
      o.errors.push({ id, reason: 'graded against another version of the lab' });
    else o.graded.push(id);
  }
  return o;
}

type Attempt =
  | { kind: 'reused'; stored: StoredResult }
  | { kind: 'done'; status: 'graded' | 'error'; reason?: string; result?: GradeResult; submissionHash: string }
  | { kind: 'retry'; reason: string; result?: GradeResult; submissionHash: string };

const safeName = (id: string) => id.replace(/[^A-Za-z0-9_.-]/g, '_');
const UNPACK_PREFIX = 'kgrade-unpack-';

/** Unpacked submissions of kgrade processes that are gone (killed before they could clean up). */
async function removeStaleUnpacks(): Promise<void> {
  for (const name of await readdir(os.tmpdir()).catch(() => [] as string[])) {
    const pid = Number(/^kgrade-unpack-(\d+)-/.exec(name)?.[1]);
    if (pid > 0 && !alive(pid)) await rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

function incompleteReason(result: GradeResult): string {
  const errs = result.scenarios.filter((s) => s.outcome === 'error');
  const first = errs[0];
  return `${errs.length} scenario(s) ended in a grader error even after a retry${first ? `: "${first.name}": ${firstLine(first.message)}` : ''}`;
}

class BatchRun {
  private readonly scenarios: Budget;
  private readonly submissions: Budget;
  private readonly delays: number[];
  private fixedNames: Promise<Set<string>> | undefined;

  constructor(
    private readonly plan: BatchPlan,
    private readonly opts: BatchOptions,
  ) {
    this.scenarios = new Budget(opts.jobs);
    // A lab that disturbs what the whole cluster shares grades one submission at a time, so its
    // @serial scenarios (run after the others of their grade) never overlap another grade's.
    this.submissions = new Budget(plan.lab.disruptive ? 1 : opts.jobs);
    this.delays = opts.retryDelaysMs ?? RETRY_DELAYS_MS;
  }

  private get out(): string {
    return this.plan.out;
  }

  private async log(id: string, attempt: number, began: Date, lines: string[], ending: string): Promise<void> {
    const text = [
      `== ${began.toISOString()} ${id}: attempt ${attempt}`,
      ...lines,
      `== ${new Date().toISOString()} ${ending}`,
      '',
    ].join('\n');
    await appendFile(path.join(this.out, 'logs', `${id}.log`), text, 'utf8');
  }

  /** One try at one student: unpack, hash, reuse when allowed, else grade. */
  private async attempt(entry: RosterEntry, n: number): Promise<Attempt> {
    const lines: string[] = [];
    const began = new Date();
    let temp: string | undefined;
    let ending = '';
    try {
      let dir = entry.source;
      if (entry.kind === 'folder') {
        const s = await stat(dir).catch(() => undefined);
        if (!s?.isDirectory()) {
          ending = 'error: no such folder';
          return {
            kind: 'done',
            status: 'error',
            reason: `${entry.source}: no such folder`,
            submissionHash: sha256(''),
          };
        }
      } else {
        temp = await mkdtemp(path.join(os.tmpdir(), `${UNPACK_PREFIX}${process.pid}-${safeName(entry.id)}-`));
        trackPath(temp);
        const raw = path.join(temp, 'raw');
        await mkdir(raw);
        const unpacked = await unpackArchive(entry.source, entry.kind, raw);
        if (!unpacked.ok) {
          ending = `error: ${unpacked.reason}`;
          return { kind: 'done', status: 'error', reason: unpacked.reason, submissionHash: await submissionHash(raw) };
        }
        // the folder graded is named after the student, as a folder submission is
        dir = path.join(temp, safeName(entry.id));
        await rename(unpacked.root, dir);
        lines.push(`unpacked ${path.basename(entry.source)}: ${unpacked.files} file(s), ${unpacked.bytes} bytes`);
      }
      const hash = await submissionHash(dir);
      try {
        this.fixedNames ??= labFixedNames(this.plan.lab);
        await keepSubmission(this.out, entry.id, dir, hash, await this.fixedNames);
      } catch (err) {
        lines.push(
          `the normalised copy for the similarity check could not be kept: ${firstLine((err as Error).message)}`,
        );
      }
      if (n === 1) {
        const read = await readStoredResult(this.out, entry.id);
        const decision = reuseDecision(
          read,
          { student: entry.id, labHash: this.plan.labHash, submissionHash: hash },
          this.opts.regrade,
        );
        if (decision.reuse && 'stored' in read) return { kind: 'reused', stored: read.stored };
        if (!decision.reuse) lines.push(`grading: ${decision.why}`);
      }
      const { gradeSubmission } = await import('../grade/grade.js');
      let result: GradeResult;
      try {
        ({ result } = await gradeSubmission(this.plan.lab, dir, {
          environment: this.opts.environment,
          jobs: this.opts.jobs,
          budget: this.scenarios,
          log: (l) => lines.push(l),
        }));
      } catch (err) {
        const reason = firstLine((err as Error).message);
        lines.push((err as Error).stack ?? String(err));
        ending = `error: ${reason}`;
        if (err instanceof UsageError) return { kind: 'done', status: 'error', reason, submissionHash: hash };
        return { kind: 'retry', reason: `could not grade: ${reason}`, submissionHash: hash };
      }
      result.submission = { name: entry.id, path: entry.source };
      ending = `${result.complete ? 'graded' : 'incomplete'}: ${result.score}/${result.maxScore}`;
      if (result.complete) return { kind: 'done', status: 'graded', result, submissionHash: hash };
      return { kind: 'retry', reason: incompleteReason(result), result, submissionHash: hash };
    } finally {
      if (temp) {
        await rm(temp, { recursive: true, force: true, maxRetries: 2 });
        untrackPath(temp);
      }
      if (ending) await this.log(entry.id, n, began, lines, ending);
    }
  }

  /** Writes the student's reports, then (last: it is what says "done") their stored result. */
  private async store(entry: RosterEntry, stored: StoredResult): Promise<StoredResult> {
    const dir = path.join(this.out, 'students', entry.id);
    await rm(dir, { recursive: true, force: true });
    if (stored.result) {
      try {
        const { writeReports } = await import('../report/write-all.js');
        await writeReports(stored.result, dir);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        const { result: _dropped, ...rest } = stored;
        stored = {
          ...rest,
          status: 'error',
          reason: `the grade could not be written: ${firstLine((err as Error).message)}`,
        };
      }
    }
    await keepHistory(this.out, stored);
    await writeStoredResult(this.out, stored);
    return stored;
  }

  async student(entry: RosterEntry): Promise<void> {
    /** Time spent grading, over the attempts: not waiting for a slot or a retry. */
    let busyMs = 0;
    const submitted = await submittedTimes(entry);
    for (let n = 1; ; n += 1) {
      const a = await this.submissions.run(async () => {
        const began = Date.now();
        try {
          return await this.attempt(entry, n);
        } catch (err) {
          const failed: Attempt = {
            kind: 'retry',
            reason: `could not grade: ${firstLine((err as Error).message)}`,
            submissionHash: sha256(''),
          };
          return failed;
        } finally {
          busyMs += Date.now() - began;
        }
      });
      if (a.kind === 'reused') {
        if (JSON.stringify(a.stored.submitted ?? {}) !== JSON.stringify(submitted))
          await writeStoredResult(this.out, { ...a.stored, submitted });
        this.finished({
          student: entry.id,
          status: a.stored.status,
          reused: true,
          attempts: a.stored.attempts,
          durationMs: 0,
          ...scoreOf(a.stored.result),
        });
        return;
      }
      const last = a.kind === 'done' || n > this.delays.length;
      if (!last) {
        const wait = this.delays[n - 1] ?? 0;
        const line = `${entry.id}: attempt ${n} ended in an error (${a.reason}); grading again in ${Math.round(wait / 1000)} s`;
        if (this.opts.progress.tty) this.opts.progress.note(line);
        else this.opts.log(`kgrade: ${line}`);
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      const status = a.kind === 'done' ? a.status : 'error';
      const reason = a.kind === 'retry' ? `${a.reason} (after ${n} attempts)` : a.reason;
      const stored = await this.store(entry, {
        schemaVersion: 1,
        student: entry.id,
        status,
        ...(status === 'error' && reason ? { reason } : {}),
        attempts: n,
        provenance: {
          kgradeVersion: this.plan.kgradeVersion,
          labHash: this.plan.labHash,
          environment: this.opts.provenance,
          submissionHash: a.submissionHash,
        },
        ...(a.result ? { result: a.result } : {}),
        source: entry.source,
        submitted,
      });
      this.finished({
        student: entry.id,
        status: stored.status,
        reused: false,
        attempts: n,
        durationMs: busyMs,
        ...(stored.reason ? { reason: stored.reason } : {}),
        ...scoreOf(stored.result),
      });
      return;
    }
  }

  private finished(e: Finished): void {
    this.opts.progress.finished(e);
  }
}

function scoreOf(result: GradeResult | undefined): { score?: number; maxScore?: number } {
  return result ? { score: result.score, maxScore: result.maxScore } : {};
}

/** OUT/roster.json: each student's roster line and LMS columns, for the report's canvas.csv and moodle.csv. */
async function writeRosterRecord(out: string, roster: Roster): Promise<void> {
  const students = roster.students.map((s) => ({
    id: s.id,
    ...(s.line ? { line: s.line } : {}),
    ...(s.identity ? { identity: s.identity } : {}),
  }));
  await writeAtomic(
    path.join(out, 'roster.json'),
    `${JSON.stringify({ schemaVersion: 1, ...(roster.file ? { file: roster.file } : {}), columns: roster.columns, students }, null, 2)}\n`,
    0o600,
  );
}

/** Runs the batch; returns each student's final state, read back from the output folder. */
export async function runBatch(plan: BatchPlan, opts: BatchOptions): Promise<BatchOutcome> {
  const out = plan.out;
  await mkdir(path.join(out, 'results'), { recursive: true });
  await mkdir(path.join(out, 'logs'), { recursive: true });
  const release = lockOutput(out);
  try {
    await removeStaleTemps(out);
    await removeStaleTemps(path.join(out, 'results'));
    await removeStaleUnpacks();
    const before = await readBatchRecord(out);
    const ids = plan.students.map((s) => s.id);
    const startedAt =
      before && before.lab.hash === plan.labHash && !opts.regrade ? before.startedAt : new Date().toISOString();
    const record = (finishedAt?: string) =>
      batchRecord({
        lab: plan.lab,
        labHash: plan.labHash,
        kgradeVersion: plan.kgradeVersion,
        shard: plan.shard ? formatShard(plan.shard) : undefined,
        students: ids,
        startedAt,
        finishedAt,
        environment: opts.provenance,
      });
    await writeBatchRecord(out, record());
    await writeRosterRecord(out, plan.roster);
    if (plan.policy) await copyFile(plan.policy.file, path.join(out, 'policy.yaml'));
    await keepLabFiles(out, plan.lab, plan.labHash, await labFixedNames(plan.lab));
    const run = new BatchRun(plan, opts);
    await Promise.all(plan.students.map((s) => run.student(s)));
    opts.progress.close();
    await writeBatchRecord(out, record(new Date().toISOString()));
    return await readBatchOutcome(out, ids, plan.labHash);
  } finally {
    release();
  }
}
