import { File as DolosFile, FingerprintIndex, Region, TokenizedFile } from '@dodona/dolos-core';
import type { NormalisedFile } from './normalise.js';

/*
 * Pairs of near-identical submissions, found by Dolos's winnowing (@dodona/dolos-core: k-grams of
 * tokens, a window's smallest hash as fingerprint). Kgrade tokenises itself (normalise.ts), so
 * Dolos's tree-sitter parsers are not needed. Fingerprints of the lab's own files are ignored, and
 * so is a fingerprint that many submissions share: every correct answer to a short lab holds it.
 */

export interface SimilarityOptions {
  /** Tokens per k-gram. */
  kgram: number;
  /** K-grams per winnowing window. */
  window: number;
  /** A pair is listed from this similarity on (0..1). */
  threshold: number;
  /** A fingerprint that more than this share of the submissions hold is common ground, not a copy. */
  commonShare: number;
}

export const DEFAULT_SIMILARITY: SimilarityOptions = { kgram: 6, window: 3, threshold: 0.5, commonShare: 0.3 };

export interface SharedFragment {
  /** 1-based lines of the normalised text (NormalisedFile lines joined in path order). */
  a: { from: number; to: number; text: string[] };
  b: { from: number; to: number; text: string[] };
  /** Tokens the fragment covers on side a. */
  tokens: number;
}

export interface SimilarPair {
  a: string;
  b: string;
  /** Share of both sides' fingerprints that the other side holds too (Dolos's similarity), 0..1. */
  similarity: number;
  /** The longest run of shared fingerprints. */
  longest: number;
  fragments: SharedFragment[];
}

export interface Submission {
  id: string;
  files: NormalisedFile[];
}

/** The student's normalised files as one text: a header line per file, then its lines of tokens. */
export function submissionText(files: NormalisedFile[]): string[] {
  return files.flatMap((f) => [`## ${f.path}`, ...f.lines.map((l) => l.join(' '))]);
}

/** Dolos's tokenised file: the tokens of every line but the headers, each mapped to its place in the text. */
function tokenized(id: string, files: NormalisedFile[]): TokenizedFile {
  const text = submissionText(files);
  const tokens: string[] = [];
  const mapping: Region[] = [];
  text.forEach((line, row) => {
    if (line.startsWith('## ')) return;
    let col = 0;
    for (const token of line.split(' ')) {
      tokens.push(token);
      mapping.push(new Region(row, col, row, col + token.length));
      col += token.length + 1;
    }
  });
  return new TokenizedFile(new DolosFile(id, text.join('\n')), tokens, mapping);
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Every pair of submissions at or above the threshold, most similar first, with their shared fragments. */
export function similarPairs(
  submissions: Submission[],
  lab: NormalisedFile[],
  opts: SimilarityOptions = DEFAULT_SIMILARITY,
): SimilarPair[] {
  const withTokens = submissions.filter((s) => s.files.some((f) => f.lines.length > 0));
  if (withTokens.length < 2) return [];
  const maxCount = Math.max(2, Math.floor(withTokens.length * opts.commonShare));
  const index = new FingerprintIndex(opts.kgram, opts.window, false, maxCount);
  if (lab.some((f) => f.lines.length > 0)) index.addIgnoredFile(tokenized('_lab', lab));
  const files = withTokens.map((s) => tokenized(s.id, s.files));
  index.addFiles(files);
  const pairs: SimilarPair[] = [];
  for (let i = 0; i < files.length; i += 1) {
    for (let j = i + 1; j < files.length; j += 1) {
      const left = files[i];
      const right = files[j];
      if (!left || !right) continue;
      const pair = index.getPair(left, right);
      if (!(pair.similarity >= opts.threshold)) continue;
      const fragments = pair
        .buildFragments()
        .map((f) => ({
          a: {
            from: f.leftSelection.startRow + 1,
            to: f.leftSelection.endRow + 1,
            text: left.lines.slice(f.leftSelection.startRow, f.leftSelection.endRow + 1),
          },
          b: {
            from: f.rightSelection.startRow + 1,
            to: f.rightSelection.endRow + 1,
            text: right.lines.slice(f.rightSelection.startRow, f.rightSelection.endRow + 1),
          },
          tokens: f.leftkgrams.to - f.leftkgrams.from + opts.kgram - 1,
        }))
        .sort((x, y) => x.a.from - y.a.from || x.b.from - y.b.from);
      const [a, b] = left.path < right.path ? [left.path, right.path] : [right.path, left.path];
      const swapped = a !== left.path;
      pairs.push({
        a,
        b,
        similarity: round(pair.similarity),
        longest: pair.longest,
        fragments: swapped ? fragments.map((f) => ({ a: f.b, b: f.a, tokens: f.tokens })) : fragments,
      });
    }
  }
  return pairs.sort((x, y) => y.similarity - x.similarity || (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : 1));
}
