import path from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { loadSteps } from './steps.js';

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
  const library = (await loadSteps()) as unknown as {
    stepDefinitions: LoadedDefinition[];
  };
  return library.stepDefinitions.map((d) => ({
    pattern: String(d.pattern),
    file: path
      .relative(REPO_ROOT, d.uri)
      .replace(/^dist\//, '')
      .replace(/\.js$/, '.ts'),
    line: d.line,
  }));
}
