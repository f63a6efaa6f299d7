import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from '../vendor/execa.js';

const TIMEOUT_MS = 120_000;

/**
 * The Awesome plugin writes a Google Analytics (gtag) loader into every
 * index.html, whatever the environment says; a grading report must not call
 * home when an instructor opens it.
 */
const ANALYTICS =
  /\s*<script async src="https:\/\/www\.googletagmanager\.com\/gtag\/js[^"]*"><\/script>\s*<script>(?:(?!<\/script>)[\s\S])*gtag\((?:(?!<\/script>)[\s\S])*<\/script>/;

function allureCli(): string {
  let main: string;
  try {
    main = fileURLToPath(import.meta.resolve('allure'));
  } catch {
    throw new Error('the Allure 3 CLI (npm package "allure") is not installed: run npm install in the kgrade folder');
  }
  return path.join(path.dirname(main), '..', 'cli.js');
}

async function countResultFiles(resultsDir: string): Promise<number> {
  let info;
  try {
    info = await stat(resultsDir);
  } catch {
    throw new Error(
      `${resultsDir}: no allure-results folder there; it is written while grading when cucumber runs with the allure-cucumberjs formatter`,
    );
  }
  if (!info.isDirectory()) throw new Error(`${resultsDir}: is a file, expected an allure-results folder`);
  const count = (await readdir(resultsDir)).filter((f) => f.endsWith('-result.json')).length;
  if (count === 0) {
    throw new Error(
      `${resultsDir}: no *-result.json files in this allure-results folder, so there is nothing to report`,
    );
  }
  return count;
}

function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

async function readTestCount(outDir: string): Promise<number | undefined> {
  try {
    const summary = JSON.parse(await readFile(path.join(outDir, 'summary.json'), 'utf8')) as {
      stats?: { total?: unknown };
    };
    return typeof summary.stats?.total === 'number' ? summary.stats.total : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes a single-file Allure 3 "Awesome" HTML report (outDir/index.html) from
 * an allure-results folder with the locally installed CLI, offline: no config
 * file, git repository or analytics is picked up from the surroundings.
 */
export async function generateAllureHtml(
  resultsDir: string,
  outDir: string,
  options: { reportName?: string } = {},
): Promise<void> {
  const results = path.resolve(resultsDir);
  const out = path.resolve(outDir);
  const files = await countResultFiles(results);
  const cli = allureCli();
  await mkdir(out, { recursive: true });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'kgrade-allure-'));
  try {
    const config = path.join(scratch, 'allurerc.json');
    await writeFile(config, '{}\n', 'utf8');
    const run = await execa(
      process.execPath,
      [
        cli,
        'awesome',
        '--single-file',
        '--config',
        config,
        '--cwd',
        results,
        '--output',
        out,
        '--report-name',
        options.reportName ?? 'kgrade',
        '.',
      ],
      {
        cwd: scratch,
        env: { GIT_DIR: path.join(scratch, 'no-git'), ALLURE_NO_ANALYTICS: 'true', NO_COLOR: '1' },
        all: true,
        reject: false,
        timeout: TIMEOUT_MS,
      },
    );
    if (run.timedOut) {
      throw new Error(
        `allure awesome on ${results} did not finish within ${TIMEOUT_MS / 1000} s:\n${tail(run.all ?? '')}`,
      );
    }
    if (run.failed) {
      throw new Error(`allure awesome on ${results} failed (${run.shortMessage}):\n${tail(run.all ?? '')}`);
    }
    const index = path.join(out, 'index.html');
    let html: string;
    try {
      html = await readFile(index, 'utf8');
    } catch {
      throw new Error(`allure awesome on ${results} reported success but wrote no ${index}:\n${tail(run.all ?? '')}`);
    }
    const tests = await readTestCount(out);
    if (tests === 0) {
      throw new Error(
        `${results}: Allure could not read any of its ${files} *-result.json files (not in Allure's result format?):\n${tail(run.all ?? '')}`,
      );
    }
    const cleaned = html.replace(ANALYTICS, '');
    if (cleaned.includes('googletagmanager.com')) {
      throw new Error(
        `${index}: the Allure report still loads Google Analytics after kgrade removed it; the Allure template changed, update ANALYTICS in src/report/allure-html.ts`,
      );
    }
    await writeFile(index, cleaned, 'utf8');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
