/**
 * Helpers for the batch tests (test/batch/): a class of submissions made from a lab's reference/
 * and wrong/ folders under other student ids, kgrade batch run through the CLI, and what it wrote.
 */
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import type { BatchRecord, StoredResult } from '../../src/batch/records.js';
import { REPO_ROOT } from '../../src/paths.js';
import { gzipSync } from 'node:zlib';
import { runCli, type CliOptions, type CliRun } from './grading.js';
import { tar, zip } from './archives.js';

export const CH01 = path.join(REPO_ROOT, 'labs/ch01-isolation');

export interface LabCopy {
  /** lab.yaml's timeouts to change. */
  timeouts?: Record<string, number>;
  /**
   * Leave out the @course checks: they check the course's claims on the node, not the submission,
   * and each costs a sandbox per student; the graded scenarios stay as the lab has them.
   */
  withoutCourseChecks?: boolean;
  /** Feature files to leave out (lab.yaml's expect: is then emptied, as it may name their scenarios). */
  withoutFeatures?: string[];
}

/** A copy of a lab under root (its folder keeps the lab's id), changed as asked. */
export async function copyLab(root: string, labDir = CH01, change: LabCopy = {}): Promise<string> {
  const dir = path.join(root, path.basename(labDir));
  await cp(labDir, dir, { recursive: true });
  const file = path.join(dir, 'lab.yaml');
  const doc = yaml.load(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (change.timeouts) doc['timeouts'] = { ...(doc['timeouts'] as object), ...change.timeouts };
  for (const f of change.withoutFeatures ?? []) {
    await rm(path.join(dir, 'features', f));
    doc['expect'] = {};
  }
  await writeFile(file, yaml.dump(doc), 'utf8');
  if (change.withoutCourseChecks) {
    for (const f of await readdir(path.join(dir, 'features'))) {
      const feature = path.join(dir, 'features', f);
      const text = await readFile(feature, 'utf8');
      await writeFile(feature, text.replace(/\n {2}@course[^\n]*\n {2}Scenario:[\s\S]*?(?=\n {2}@|\s*$)/g, ''), 'utf8');
    }
  }
  return dir;
}

/** Every file of a folder, relative, with its content and executable bit. */
async function filesOf(dir: string, under = ''): Promise<Array<{ rel: string; body: Buffer; executable: boolean }>> {
  const out = [];
  for (const e of (await readdir(path.join(dir, under), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const rel = path.posix.join(under, e.name);
    if (e.isDirectory()) out.push(...(await filesOf(dir, rel)));
    else if (e.isFile()) {
      out.push({
        rel,
        body: await readFile(path.join(dir, rel)),
        executable: ((await stat(path.join(dir, rel))).mode & 0o111) !== 0,
      });
    }
  }
  return out;
}

/** A submission folder of the lab (reference, or wrong/<case>) as student `id` in subs/. */
export async function asFolder(labDir: string, which: string, subs: string, id: string): Promise<string> {
  const to = path.join(subs, id);
  await mkdir(subs, { recursive: true });
  await cp(path.join(labDir, which), to, { recursive: true });
  return to;
}

/** The same, zipped (inside a folder of the student's name, as a download often is). */
export async function asZip(labDir: string, which: string, subs: string, id: string): Promise<string> {
  const files = await filesOf(path.join(labDir, which));
  const file = path.join(subs, `${id}.zip`);
  await mkdir(subs, { recursive: true });
  await writeFile(
    file,
    zip([
      { name: `${id}/` },
      ...files.map((f) => ({
        name: `${id}/${f.rel}`,
        body: f.body,
        mode: f.executable ? 0o100755 : 0o100644,
        deflate: true,
      })),
    ]),
  );
  return file;
}

/** The same, as a .tar.gz with the files at its root. */
export async function asTarGz(labDir: string, which: string, subs: string, id: string): Promise<string> {
  const files = await filesOf(path.join(labDir, which));
  const file = path.join(subs, `${id}.tar.gz`);
  await mkdir(subs, { recursive: true });
  await writeFile(
    file,
    gzipSync(tar(files.map((f) => ({ path: f.rel, body: f.body, mode: f.executable ? 0o755 : 0o644 })))),
  );
  return file;
}

export interface BatchRun extends CliRun {
  /** stdout's JSON lines, parsed. */
  lines: Array<{
    student: string;
    status: string;
    reused: boolean;
    score?: number;
    maxScore?: number;
    attempts: number;
    reason?: string;
    durationMs: number;
  }>;
}

export function parseLines(stdout: string): BatchRun['lines'] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as BatchRun['lines'][number];
      } catch {
        throw new Error(`stdout holds a line that is not JSON: ${JSON.stringify(l)}\nstdout:\n${stdout}`);
      }
    });
}

/** kgrade batch LAB SUBS --out OUT --no-build [extra]; stdout is a pipe, so it prints JSON lines. */
export async function batch(
  lab: string,
  subs: string,
  out: string,
  extra: string[] = [],
  opts: CliOptions = {},
): Promise<BatchRun> {
  const r = await runCli(['batch', lab, subs, '--out', out, '--no-build', '--jobs', '2', ...extra], {
    timeoutMs: 400_000,
    ...opts,
  });
  return { ...r, lines: parseLines(r.stdout) };
}

export function show(r: CliRun): string {
  return `\nexit ${r.code} (signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

export async function stored(out: string, id: string): Promise<StoredResult> {
  return JSON.parse(await readFile(path.join(out, 'results', `${id}.json`), 'utf8')) as StoredResult;
}

export async function batchJson(out: string): Promise<BatchRecord> {
  return JSON.parse(await readFile(path.join(out, 'batch.json'), 'utf8')) as BatchRecord;
}

/** A stored result without what differs from one grading to the next: times and durations. */
export function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      if (!['startedAt', 'finishedAt', 'durationMs'].includes(k)) out[k] = timeless(v);
    return out;
  }
  return value;
}
