#!/usr/bin/env node
// Records the message streams the collector test reads (test/unit/collector.test.ts): one real
// cucumber-js run of features/collect.feature with steps.mjs, through the same programmatic API
// and runtime options as src/cucumber/run.ts, and one dry run of it. Each envelope is one line
// of run.ndjson / dry-run.ndjson; the only change to them is this folder's absolute path,
// written as "<dir>" so that the files do not depend on where the repository is.
// Run it after `npm run build` (steps.mjs imports kgrade's error classes from dist/), and
// commit the two files with the change that needed them:
//   node test/unit/data/cucumber/record.mjs
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadSupport, runCucumber } from '@cucumber/cucumber/api';

const dir = path.dirname(fileURLToPath(import.meta.url));
const sources = { defaultDialect: 'en', paths: ['features'], names: [], tagExpression: '', order: 'defined' };
const environment = { cwd: dir, stdout: new Writable({ write: (_c, _e, cb) => cb() }), stderr: process.stderr };
const support = await loadSupport({ sources, support: { importPaths: [path.join(dir, 'steps.mjs')] } }, environment);

for (const [file, dryRun] of [
  ['run.ndjson', false],
  ['dry-run.ndjson', true],
]) {
  const lines = [];
  const runtime = {
    dryRun,
    failFast: false,
    filterStacktraces: true,
    parallel: 0,
    retry: 0,
    retryTagFilter: '',
    strict: true,
    worldParameters: {},
  };
  const { success } = await runCucumber(
    { sources, support, runtime, formats: { stdout: 'summary', publish: false, files: {}, options: {} } },
    environment,
    (envelope) => lines.push(JSON.stringify(envelope).replaceAll(JSON.stringify(dir).slice(1, -1), '<dir>')),
  );
  writeFileSync(path.join(dir, file), `${lines.join('\n')}\n`);
  console.log(`${file}: ${lines.length} messages (cucumber says success: ${success})`);
}
