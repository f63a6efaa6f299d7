import { fileURLToPath } from 'node:url';
import type { Given } from '@cucumber/cucumber';
import type { KgradeWorld } from './world.js';

/** Given, When or Then: cucumber matches a step's text whatever its keyword, so any of them will do. */
type Define = typeof Given;
/** A step's body; its parameters are whatever its sentences capture. */
type StepCode = (this: KgradeWorld, ...args: never[]) => unknown;

const HERE = fileURLToPath(import.meta.url);

/**
 * Registers one implementation under several sentences, one per language:
 *
 *   steps(When, ["the submission's {string} is applied", '제출물의 {string}을\\(를) 적용한다'], async function (...) {...})
 *
 * The sentences must capture the same parameters in the same order. Cucumber
 * records where a step is defined by reading the stack of an Error it makes
 * while the step is registered; for the duration of that call the frames of this
 * file are left out of stacks, so every sentence points at the caller's line
 * (kgrade steps, the report's step locations), not at this helper.
 */
export function steps(define: Define, sentences: readonly string[], code: StepCode): void {
  if (sentences.length === 0) throw new Error('steps(): give at least one sentence');
  const shape = (s: string) => (s.match(/(?<!\\)\{[^}]*\}/g) ?? []).join(' ');
  const odd = sentences.find((s) => shape(s) !== shape(sentences[0] ?? ''));
  if (odd !== undefined)
    throw new Error(
      `steps(): "${odd}" captures ${shape(odd) || 'nothing'}, "${sentences[0]}" captures ${shape(sentences[0] ?? '') || 'nothing'}: each sentence must capture the same parameters in the same order`,
    );
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (error, frames) => {
    const outside = frames.filter((f) => {
      const file = f.getFileName() ?? '';
      return (file.startsWith('file:') ? fileURLToPath(file) : file) !== HERE;
    });
    if (previous) return previous(error, outside);
    return [String(error), ...outside.map((f) => `    at ${String(f)}`)].join('\n');
  };
  try {
    for (const sentence of sentences) define(sentence, code as (this: KgradeWorld, ...args: unknown[]) => unknown);
  } finally {
    Error.prepareStackTrace = previous;
  }
}
