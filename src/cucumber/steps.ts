import path from 'node:path';
import { loadSupport, type ISupportCodeLibrary } from '@cucumber/cucumber/api';
import { REPO_ROOT } from '../paths.js';

const STEPS_GLOB = path.join(REPO_ROOT, 'dist/steps/**/*.js');

let supportLibrary: Promise<ISupportCodeLibrary> | undefined;

/**
 * The step definitions, loaded once per process: Node caches ES modules, so a
 * second load would import nothing and register no step.
 */
export function loadSteps(): Promise<ISupportCodeLibrary> {
  const sources = { defaultDialect: 'en', paths: [], names: [], tagExpression: '', order: 'defined' as const };
  supportLibrary ??= loadSupport(
    { sources, support: { importPaths: [STEPS_GLOB] } },
    { cwd: REPO_ROOT, stderr: process.stderr },
  );
  return supportLibrary;
}
