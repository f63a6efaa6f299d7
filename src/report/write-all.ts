import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GradeResult } from '../grade/model.js';
import { toGradescope } from './gradescope.js';
import { toJUnitXml } from './junit.js';
import { toMarkdown } from './markdown.js';
import { writeResultsJson } from './results-json.js';

async function write(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, 'utf8');
  return file;
}

/**
 * Writes results.json, junit.xml, gradescope/results.json and summary.md into
 * outDir; returns the paths written. results.json is validated first, so an
 * invalid result writes nothing.
 */
export async function writeReports(result: GradeResult, outDir: string): Promise<string[]> {
  const written = [await writeResultsJson(result, outDir)];
  written.push(await write(path.join(outDir, 'junit.xml'), toJUnitXml(result)));
  written.push(
    await write(path.join(outDir, 'gradescope', 'results.json'), `${JSON.stringify(toGradescope(result), null, 2)}\n`),
  );
  written.push(await write(path.join(outDir, 'summary.md'), toMarkdown(result)));
  return written;
}
