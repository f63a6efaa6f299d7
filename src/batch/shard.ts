import { UsageError } from '../errors.js';

/** One of `count` parts of a batch, numbered from 1: `--shard 2/4` is { index: 2, count: 4 }. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^([1-9]\d*)\/([1-9]\d*)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || index > count)
    throw new UsageError(`--shard must be I/N with 1 <= I <= N (the I-th of N parts), not "${text}"`);
  return { index, count };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The order every batch lists, grades and merges students in: by id, code point by code point. */
export function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The students of one shard: the whole roster sorted by id, every count-th from the index-th on.
 * Deterministic for a given roster, and the shards' sizes differ by at most one.
 */
export function studentsOfShard<T extends { id: string }>(roster: readonly T[], shard: Shard | undefined): T[] {
  const sorted = [...roster].sort((a, b) => byId(a.id, b.id));
  if (!shard) return sorted;
  return sorted.filter((_, i) => i % shard.count === shard.index - 1);
}
