import path from 'node:path';
import { UsageError } from '../../errors.js';
import { addClassExtras } from './extras.js';
import { ungraded } from './lms.js';
import { readClassResults } from './read.js';
import { writeClassReport } from './write.js';

export interface ClassReportOptions {
  out?: string | undefined;
  policy?: string | undefined;
  similarityThreshold?: string | undefined;
  lmsOmitUngraded?: boolean | undefined;
}

function threshold(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0 || v > 1)
    throw new UsageError(`--similarity-threshold ${text}: give a share above 0 and at most 1, e.g. 0.5`);
  return v;
}

/**
 * kgrade report DIR: reads the batch's folder and everything the report adds to it, checks it all,
 * then writes the report. A problem (a bad policy, a student the LMS files would miss) stops it
 * before any file is written.
 */
export async function reportClass(
  dirArg: string,
  opts: ClassReportOptions,
  log: (line: string) => void,
): Promise<string> {
  const dir = path.resolve(dirArg);
  const out = path.resolve(opts.out ?? path.join(dir, 'report'));
  if (out === dir)
    throw new UsageError(`--out ${opts.out}: the report goes into a folder of its own, not into the batch's folder`);
  const similarityThreshold = threshold(opts.similarityThreshold);
  const cls = await readClassResults(dir);
  const { roster } = await addClassExtras(dir, cls, {
    ...(opts.policy !== undefined ? { policy: path.resolve(opts.policy) } : {}),
    ...(similarityThreshold !== undefined ? { similarityThreshold } : {}),
  });
  const missing = ungraded(cls, roster);
  // A roster that maps students to LMS ids says the grades are meant for an import: one missing there is an error.
  const mapped = roster !== undefined && [...roster.students.values()].some((s) => Object.keys(s.identity).length > 0);
  if (missing.length > 0 && mapped && !opts.lmsOmitUngraded) {
    throw new UsageError(
      `canvas.csv and moodle.csv would have no grade for ${missing.length} student(s); grade them again (kgrade batch), or give --lms-omit-ungraded to leave them out (an import then keeps their grade as it was):\n${missing.map((m) => `  - ${m}`).join('\n')}`,
    );
  }
  await writeClassReport(cls, out, roster);
  const count = (status: string) => cls.students.filter((s) => s.status === status).length;
  log(
    `kgrade: class report of ${cls.lab.id} in ${path.relative(process.cwd(), out) || '.'}: ${cls.students.length} students, ${count('graded')} graded, ${count('error')} error, ${count('missing')} missing`,
  );
  if (missing.length > 0)
    log(
      `kgrade: left out of canvas.csv and moodle.csv (no final grade):\n${missing.map((m) => `  - ${m}`).join('\n')}`,
    );
  if (cls.similarity)
    log(
      `kgrade: ${cls.similarity.pairs.length} pair(s) of similar submissions (from ${Math.round(cls.similarity.threshold * 100)}%) among ${cls.similarity.compared.length}: similarity.json`,
    );
  return path.join(out, 'index.html');
}
