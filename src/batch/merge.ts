import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { batchRecord, readBatchOutcome, type BatchOutcome } from './run.js';
import { byId, parseShard } from './shard.js';
import { readBatchRecord, resultFile, writeAtomic, writeBatchRecord } from './output-folder.js';
import type { BatchRecord } from './records.js';

/**
 * kgrade merge OUT SHARD...: joins the output folders of `kgrade batch --shard I/N` into the
 * folder one unsharded batch would have written: each student's results/<id>.json, students/<id>/
 * and logs/<id>.log copied as they are, and one batch.json over every student, without a shard.
 * The shards must be all N of one split, of the same lab content.
 */

async function shardRecord(dir: string): Promise<BatchRecord> {
  const record = await readBatchRecord(dir);
  if (!record)
    throw new UsageError(
      `${dir}: no batch.json there: kgrade merge joins the --out folders of kgrade batch --shard I/N`,
    );
  if (!record.shard) throw new UsageError(`${dir}: holds a whole batch, not a shard (its batch.json has no shard)`);
  return record;
}

/** Why these shard records cannot be merged, or nothing. */
export function mergeProblems(shards: Array<{ dir: string; record: BatchRecord }>): string[] {
  const problems: string[] = [];
  const [first] = shards;
  if (!first) return ['no shard folder given'];
  for (const s of shards.slice(1)) {
    if (s.record.lab.id !== first.record.lab.id)
      problems.push(`${s.dir} is a batch of lab ${s.record.lab.id}, ${first.dir} of ${first.record.lab.id}`);
    else if (s.record.lab.hash !== first.record.lab.hash)
      problems.push(
        `${s.dir} and ${first.dir} graded different versions of lab ${first.record.lab.id} (lab hashes ${s.record.lab.hash.slice(0, 12)} and ${first.record.lab.hash.slice(0, 12)}): grade them again with one version`,
      );
  }
  const parsed = shards.map((s) => ({ dir: s.dir, shard: parseShard(s.record.shard ?? '') }));
  const count = parsed[0]?.shard.count ?? 0;
  const seen = new Map<number, string>();
  for (const p of parsed) {
    if (p.shard.count !== count) problems.push(`${p.dir} is a shard of ${p.shard.count}, ${first.dir} of ${count}`);
    const twice = seen.get(p.shard.index);
    if (twice) problems.push(`${twice} and ${p.dir} are both shard ${p.shard.index}/${count}`);
    seen.set(p.shard.index, p.dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length && problems.length === 0)
    problems.push(
      `shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} not given: every shard of the split is needed`,
    );
  const owner = new Map<string, string>();
  for (const s of shards) {
    for (const id of s.record.students) {
      const other = owner.get(id);
      if (other) problems.push(`student ${id} is in both ${other} and ${s.dir}`);
      owner.set(id, s.dir);
    }
  }
  return problems;
}

async function copyIfThere(from: string, to: string): Promise<void> {
  try {
    await cp(from, to, { recursive: true, errorOnExist: true, force: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function mergeShards(out: string, dirs: string[]): Promise<BatchOutcome> {
  const shards = [];
  for (const dir of dirs) shards.push({ dir, record: await shardRecord(dir) });
  const problems = mergeProblems(shards);
  if (problems.length)
    throw new UsageError(`the shards cannot be merged:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const existing = await readdir(out).catch(() => [] as string[]);
  if (existing.length) throw new UsageError(`${out} is not empty: kgrade merge writes a new folder`);
  await mkdir(path.join(out, 'results'), { recursive: true });
  await mkdir(path.join(out, 'logs'), { recursive: true });
  for (const { dir, record } of shards) {
    for (const id of record.students) {
      const text = await readFile(resultFile(dir, id), 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined; // not graded in that shard: missing here too
        throw err;
      });
      if (text !== undefined) await writeAtomic(resultFile(out, id), text);
      await copyIfThere(path.join(dir, 'students', id), path.join(out, 'students', id));
      await copyIfThere(path.join(dir, 'logs', `${id}.log`), path.join(out, 'logs', `${id}.log`));
      await copyIfThere(path.join(dir, 'results', 'history', id), path.join(out, 'results', 'history', id));
      await copyIfThere(path.join(dir, 'similarity', `${id}.json`), path.join(out, 'similarity', `${id}.json`));
    }
    if (dir === shards[0]?.dir) {
      for (const f of ['similarity/.lab.json', 'roster.json', 'policy.yaml'])
        await copyIfThere(path.join(dir, f), path.join(out, f));
    }
  }
  const records = shards.map((s) => s.record);
  const first = records[0] as BatchRecord;
  const students = records.flatMap((r) => r.students).sort(byId);
  const finished = records.map((r) => r.finishedAt);
  const environments = [...new Set(records.map((r) => r.environment ?? ''))];
  const versions = [...new Set(records.map((r) => r.kgradeVersion))];
  await writeBatchRecord(
    out,
    batchRecord({
      lab: first.lab,
      kgradeVersion: versions.join(' + '),
      students,
      startedAt: records.map((r) => r.startedAt).sort()[0] ?? first.startedAt,
      finishedAt: finished.every((f) => f) ? (finished as string[]).sort().at(-1) : undefined,
      environment: environments.join(' + ') || undefined,
    }),
  );
  return readBatchOutcome(out, students, first.lab.hash);
}
