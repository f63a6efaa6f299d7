import type { BatchRecord, Provenance, StoredResult } from '../../batch/records.js';
import type { GradeResult } from '../../grade/model.js';
import { plural } from '../summary.js';
import type { SimilarPair } from '../../similarity/match.js';
import type { LateAdjustment } from '../../batch/policy.js';
import { byId } from '../../batch/shard.js';

/**
 * graded: a final grade. error: no final grade (a bad archive, a grader error that survived the
 * retries, a stored result that cannot be used); never a zero. missing: listed in batch.json but
 * no results/<id>.json yet (the batch was stopped before it got there).
 */
export type StudentStatus = 'graded' | 'error' | 'missing';

export interface ClassStudent {
  id: string;
  status: StudentStatus;
  /** Why there is no final grade; empty when graded. */
  reason: string;
  /** Grading attempts in the batch; 0 when missing. */
  attempts: number;
  provenance?: Provenance;
  /** The grade, also when partial (an error that still produced a result). */
  result?: GradeResult;
  /** The latest kept grade of another version of the lab (results/history/), after a regrade. */
  previous?: StoredResult;
  /** What the late policy made of the score, when the report has one. */
  late?: LateAdjustment;
}

/** A class as the report sees it: the batch's lab and every student, sorted by id. */
export interface ClassResults {
  lab: BatchRecord['lab'];
  kgradeVersion: string;
  students: ClassStudent[];
  /** Pairs of near-identical submissions, when the batch kept the students' normalised files. */
  similarity?: ClassSimilarity;
  /** The late policy applied, when there is one. */
  policy?: { file: string; due: string };
}

export interface ClassSimilarity {
  threshold: number;
  /** Students whose normalised files were compared. */
  compared: string[];
  pairs: SimilarPair[];
}

/** One results/<id>.json as read: its id (from the file name), and the stored result or why it could not be used. */
export type StoredEntry = { id: string; stored: StoredResult } | { id: string; unreadable: string };

/** The first 12 hex digits of a "sha256:..." hash, enough to tell two apart at a glance. */
export function shortHash(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

function fromStored(batch: BatchRecord, id: string, stored: StoredResult): ClassStudent {
  const base = {
    id,
    attempts: stored.attempts,
    provenance: stored.provenance,
    ...(stored.result ? { result: stored.result } : {}),
  };
  const error = (reason: string): ClassStudent => ({ ...base, status: 'error', reason });
  if (stored.student !== id) return error(`results/${id}.json holds the result of "${stored.student}", not of "${id}"`);
  if (stored.status === 'error') return error(stored.reason?.trim() || 'grading failed; no reason was recorded');
  const result = stored.result;
  if (!result) return error('stored as graded but holds no grade');
  if (result.lab.id !== batch.lab.id) return error(`graded against lab ${result.lab.id}, not ${batch.lab.id}`);
  if (stored.provenance.labHash !== batch.lab.hash) {
    return error(
      `graded against another version of the lab (lab hash ${shortHash(stored.provenance.labHash)}, this batch's is ${shortHash(batch.lab.hash)}): grade it again`,
    );
  }
  if (!result.complete) {
    return error(`the grade is incomplete: ${plural(result.counts.error, 'scenario')} ended in a grader error`);
  }
  return { ...base, status: 'graded', reason: '' };
}

/**
 * The class from batch.json and the results files: every student of the batch and every stored
 * result, each once, sorted by id. A result that cannot be used is that student's error, with why.
 */
export function assembleClass(batch: BatchRecord, entries: StoredEntry[]): ClassResults {
  const students = new Map<string, ClassStudent>();
  for (const entry of entries) {
    students.set(
      entry.id,
      'unreadable' in entry
        ? { id: entry.id, status: 'error', reason: entry.unreadable, attempts: 0 }
        : fromStored(batch, entry.id, entry.stored),
    );
  }
  for (const id of batch.students) {
    if (!students.has(id))
      students.set(id, { id, status: 'missing', reason: `not graded yet: no results/${id}.json`, attempts: 0 });
  }
  return {
    lab: batch.lab,
    kgradeVersion: batch.kgradeVersion,
    students: [...students.values()].sort((a, b) => byId(a.id, b.id)),
  };
}
