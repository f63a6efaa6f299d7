import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RosterEntry } from './roster.js';
import type { SubmittedTimes } from './records.js';

const run = promisify(execFile);

/**
 * The last commit's time of a student's Git repository (a Classroom checkout), or undefined. The
 * repository is the student's: its config may name programs (a pager, an fsmonitor, hooks), so
 * git runs with those overridden, no system or global config, no prompt, and a deadline.
 */
export async function gitCommitTime(dir: string): Promise<string | undefined> {
  const s = await stat(path.join(dir, '.git')).catch(() => undefined);
  if (!s) return undefined;
  const home = await mkdtemp(path.join(os.tmpdir(), 'kgrade-git-home-'));
  try {
    const { stdout } = await run(
      'git',
      [
        '-c',
        'core.fsmonitor=false',
        '-c',
        'core.hooksPath=/dev/null',
        '-c',
        'core.pager=cat',
        '-c',
        `safe.directory=${dir}`,
        '--no-pager',
        '-C',
        dir,
        'log',
        '-1',
        '--format=%cI',
        'HEAD',
      ],
      {
        timeout: 10_000,
        maxBuffer: 64 * 1024,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: home,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_TERMINAL_PROMPT: '0',
          GIT_PAGER: 'cat',
        },
      },
    );
    const t = Date.parse(stdout.trim());
    return Number.isNaN(t) ? undefined : new Date(t).toISOString();
  } catch {
    return undefined;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Every time a submission has: the roster's, its archive's or folder's modification time, its last Git commit's. */
export async function submittedTimes(entry: RosterEntry): Promise<SubmittedTimes> {
  const times: SubmittedTimes = {};
  if (entry.submitted) times.roster = entry.submitted;
  const s = await stat(entry.source).catch(() => undefined);
  if (s) times.archive = s.mtime.toISOString();
  if (s?.isDirectory()) {
    const git = await gitCommitTime(entry.source);
    if (git) times.git = git;
  }
  return times;
}
