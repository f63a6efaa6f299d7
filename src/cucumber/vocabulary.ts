import path from 'node:path';
import { loadSupport } from '@cucumber/cucumber/api';
import { REPO_ROOT } from '../lab/load.js';
import { STEPS_GLOB } from './run.js';

export interface StepSentence {
  pattern: string;
  /** The steps/ file that defines it, e.g. "steps/cgroup.steps.ts". */
  file: string;
  line: number;
}

interface LoadedDefinition {
  pattern: string | RegExp;
  uri: string;
  line: number;
}

/** Every step sentence a lab may use, read from the step definitions themselves. */
export async function stepVocabulary(): Promise<StepSentence[]> {
  const sources = { defaultDialect: 'en', paths: [], names: [], tagExpression: '', order: 'defined' as const };
  const library = (await loadSupport({ sources, support: { importPaths: [STEPS_GLOB] } }, { cwd: REPO_ROOT })) as unknown as {
    stepDefinitions: LoadedDefinition[];
  };
  return library.stepDefinitions.map((d) => ({
    pattern: String(d.pattern),
    file: path.relative(REPO_ROOT, d.uri).replace(/^dist\//, '').replace(/\.js$/, '.ts'),
    line: d.line,
  }));
}
