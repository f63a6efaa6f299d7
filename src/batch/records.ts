import type { GradeResult } from '../grade/model.js';

/**
 * What produced a stored result: enough to tell whether it may be reused. A result whose lab
 * hash differs from the lab's current one is graded again, not reused.
 */
export interface Provenance {
  kgradeVersion: string;
  /** sha256 over lab.yaml, the features and the fixtures (not reference/ or wrong/). */
  labHash: string;
  /** Sandbox labs: the node image and isolation; cluster labs: the cluster's Kubernetes version and node image. */
  environment: string;
  /** sha256 over the submission's files (paths and contents), after unpacking. */
  submissionHash: string;
}

/**
 * One student's result in a batch's output folder, results/<id>.json, written atomically the
 * moment the student is done. status "error": no final grade (a bad archive, or a grader error
 * that survived the retries); never a zero.
 */
export interface StoredResult {
  schemaVersion: 1;
  student: string;
  status: 'graded' | 'error';
  /** Why there is no final grade, when status is "error". */
  reason?: string;
  /** How many times the student was graded in this batch (retries of grader errors included). */
  attempts: number;
  provenance: Provenance;
  /** The grade; present when graded, and for an error that still produced a partial result. */
  result?: GradeResult;
  /** The folder or archive that was graded, as the roster named it. */
  source?: string;
  /** When it was handed in, by each source kgrade could read; the late policy picks one. */
  submitted?: SubmittedTimes;
}

export interface SubmittedTimes {
  /** The roster's submitted column. */
  roster?: string;
  /** The archive's (or folder's) modification time. */
  archive?: string;
  /** The last commit of a Git repository (a GitHub Classroom checkout). */
  git?: string;
}

/** The batch's own record, batch.json in the output folder. */
export interface BatchRecord {
  schemaVersion: 1;
  lab: { id: string; title: string; hash: string; maxScore: number };
  kgradeVersion: string;
  /** "I/N" when this folder holds one shard of a larger batch. */
  shard?: string;
  /** Every student of the batch (of this shard), in the order graded. */
  students: string[];
  startedAt: string;
  /** When the batch (or the last of its runs) ended; absent while it runs or when it was stopped. */
  finishedAt?: string;
  /** Where it graded: the node image and isolation, or the cluster and its Kubernetes version. */
  environment?: string;
}
