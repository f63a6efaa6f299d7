import { batch } from './batch.js';
import { check } from './check.js';
import { clean } from './clean.js';
import { cluster } from './cluster.js';
import { grade } from './grade.js';
import { list } from './list.js';
import { merge } from './merge.js';
import { report } from './report.js';
import { steps } from './steps.js';
import { validate } from './validate.js';
import { verify } from './verify.js';
import type { Verb } from '../verb.js';

/** Every kgrade verb, in the order kgrade --help lists them. A new verb is a file here and a line below. */
export const VERBS: readonly Verb[] = [
  grade,
  verify,
  batch,
  merge,
  validate,
  check,
  list,
  cluster,
  steps,
  clean,
  report,
];
