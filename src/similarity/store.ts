import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { filesOf } from '../batch/provenance.js';
import { writeAtomic } from '../batch/output-folder.js';
import type { Lab } from '../lab/types.js';
import { fixedNames, normaliseFile, type NormalisedFile } from './normalise.js';

/*
 * What the similarity check reads at report time, kept by kgrade batch while it has each
 * submission unpacked: OUT/similarity/<id>.json, the student's files normalised (no comments, no
 * names; src/similarity/normalise.ts), and OUT/similarity/_lab.json, the lab's own files normalised
 * the same way (reference/, correct/, wrong/ and the fixtures), which the check leaves out. The
 * folder is the instructor's (mode 0700, files 0600); no submission is ever graded with it in reach.
 */

/** At most this much normalised text is kept per student (a lab's submission is smaller). */
export const MAX_KEPT_BYTES = 512 * 1024;
/** A file larger than this is not text a student wrote for the lab; it is left out. */
const MAX_FILE_BYTES = 256 * 1024;

/** Raised when normalise.ts changes what it makes: a kept copy of another version is made again by the next batch. */
export const NORMALISER_VERSION = 2;

export interface KeptSubmission {
  schemaVersion: 1;
  normaliser: number;
  /** The student's id, or "_lab" for the lab's own files. */
  id: string;
  submissionHash: string;
  files: NormalisedFile[];
  /** Files left out, with why (binary, too large, over the budget). */
  skipped: string[];
}

/** Not a student id: an id never starts with a dot. */
export const LAB_KEPT_ID = '.lab';
export const similarityDir = (out: string) => path.join(out, 'similarity');
const keptFile = (out: string, id: string) => path.join(similarityDir(out), `${id}.json`);

/** The names a lab fixes, read from its features and its submission contract. */
export async function labFixedNames(lab: Lab): Promise<Set<string>> {
  const texts: string[] = [];
  for (const name of (await readdir(lab.featuresDir)).sort()) {
    if (name.endsWith('.feature')) texts.push(await readFile(path.join(lab.featuresDir, name), 'utf8'));
  }
  return fixedNames(
    texts,
    lab.submission.files.map((f) => f.path),
  );
}

function looksBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8192).includes(0);
}

/** A folder's text files, normalised, in path order, within the budget. */
export async function normaliseFolder(
  dir: string,
  fixed: ReadonlySet<string>,
  prefix = '',
): Promise<{ files: NormalisedFile[]; skipped: string[] }> {
  const files: NormalisedFile[] = [];
  const skipped: string[] = [];
  let kept = 0;
  const listed = (await filesOf(dir))
    .filter((f) => f.kind !== 'link')
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of listed) {
    const shown = `${prefix}${f.path}`;
    const bytes = await readFile(path.join(dir, ...f.path.split('/')));
    if (bytes.length > MAX_FILE_BYTES) {
      skipped.push(`${shown}: over ${MAX_FILE_BYTES} bytes`);
      continue;
    }
    if (looksBinary(bytes)) {
      skipped.push(`${shown}: not text`);
      continue;
    }
    const n = normaliseFile(f.path, bytes.toString('utf8'), fixed);
    const size = n.lines.reduce((s, l) => s + l.join(' ').length + 1, 0);
    if (kept + size > MAX_KEPT_BYTES) {
      skipped.push(`${shown}: over the ${MAX_KEPT_BYTES}-byte budget of kept text`);
      continue;
    }
    kept += size;
    files.push({ path: shown, lines: n.lines });
  }
  return { files, skipped };
}

async function writeKept(out: string, kept: KeptSubmission): Promise<void> {
  await mkdir(similarityDir(out), { recursive: true, mode: 0o700 });
  await chmod(similarityDir(out), 0o700);
  await writeAtomic(keptFile(out, kept.id), `${JSON.stringify(kept)}\n`, 0o600);
}

/** Keeps a student's normalised files, unless what is kept is of this very submission already. */
export async function keepSubmission(
  out: string,
  id: string,
  dir: string,
  submissionHash: string,
  fixed: ReadonlySet<string>,
): Promise<void> {
  const before = await readKept(out, id);
  if (before && before.submissionHash === submissionHash && before.normaliser === NORMALISER_VERSION) return;
  const { files, skipped } = await normaliseFolder(dir, fixed);
  await writeKept(out, { schemaVersion: 1, normaliser: NORMALISER_VERSION, id, submissionHash, files, skipped });
}

/** Keeps the lab's own files (reference/, correct/, wrong/, the fixtures), normalised as submissions are. */
export async function keepLabFiles(out: string, lab: Lab, labHash: string, fixed: ReadonlySet<string>): Promise<void> {
  const files: NormalisedFile[] = [];
  const skipped: string[] = [];
  for (const folder of ['reference', 'correct', 'wrong']) {
    const n = await normaliseFolder(path.join(lab.dir, folder), fixed, `${folder}/`);
    files.push(...n.files);
    skipped.push(...n.skipped);
  }
  for (const f of lab.fixtures) {
    const text = await readFile(path.join(lab.dir, f.manifest), 'utf8').catch(() => undefined);
    if (text !== undefined) files.push({ ...normaliseFile(f.manifest, text, fixed), path: f.manifest });
  }
  await writeKept(out, {
    schemaVersion: 1,
    normaliser: NORMALISER_VERSION,
    id: LAB_KEPT_ID,
    submissionHash: labHash,
    files,
    skipped,
  });
}

export async function readKept(out: string, id: string): Promise<KeptSubmission | undefined> {
  let text: string;
  try {
    text = await readFile(keptFile(out, id), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const data = JSON.parse(text) as KeptSubmission;
    return data.schemaVersion === 1 && Array.isArray(data.files) ? data : undefined;
  } catch {
    return undefined;
  }
}
