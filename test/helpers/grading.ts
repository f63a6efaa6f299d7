/**
 * Helpers for the integration tests: grading through the real sandbox, in this
 * process or through the CLI, and checking that nothing is left behind.
 *
 * "Nothing left" is checked for the sandboxes this test process or the CLI
 * processes it started own (label kgrade.owner-pid): other kgrade runs may
 * share the Docker daemon, and their sandboxes are none of these tests' business.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import { isolationSetting, stateDir } from '../../src/config.js';
import { nodeImageRef } from '../../src/env/images.js';
import { cgroupFor } from '../../src/env/sandbox/choose.js';
import { DEFAULT_ISOLATION, ISOLATIONS, sandboxRuntime } from '../../src/env/sandbox/index.js';
import { removeVmSpares } from '../../src/env/sandbox/vm.js';
import { gradeSubmission } from '../../src/grade/grade.js';
import type { GradeResult, ScenarioResult } from '../../src/grade/model.js';
import { loadLab } from '../../src/lab/load.js';
import { REPO_ROOT } from '../../src/paths.js';

export const KGRADE_BIN = path.join(REPO_ROOT, 'bin/kgrade.js');

/** Sandboxes of every runtime (running or not) whose owner is one of pids. */
export async function sandboxesOwnedBy(pids: number[]): Promise<string[]> {
  const wanted = new Set(pids);
  const names: string[] = [];
  for (const isolation of ISOLATIONS) {
    for (const s of await (await sandboxRuntime(isolation)).list()) if (wanted.has(s.ownerPid)) names.push(s.name);
  }
  return names;
}

/** Removes sandboxes by name, whichever runtime holds them. */
export async function removeSandboxes(names: string[]): Promise<void> {
  for (const isolation of ISOLATIONS) {
    const runtime = await sandboxRuntime(isolation);
    for (const s of await runtime.list()) if (names.includes(s.name)) await runtime.remove(s.name);
  }
}

/**
 * What a sandbox of the userns runtime holds on the host while it exists: mounts below its
 * folder, cgroups in any hierarchy, runc's state and the folder itself. Empty once it is gone.
 */
export function hostTracesOf(name: string): string[] {
  const traces: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4] ?? '';
    if (mountPoint.endsWith(`/${name}`) || mountPoint.includes(`/${name}/`)) traces.push(`mount ${mountPoint}`);
  }
  for (const h of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const dir = path.join('/sys/fs/cgroup', h, 'kgrade', name);
    if (existsSync(dir)) traces.push(`cgroup ${dir}`);
  }
  for (const dir of [path.join(stateDir(), 'runc', name), path.join(stateDir(), 'sandboxes', name)]) {
    if (existsSync(dir)) traces.push(`state ${dir}`);
  }
  return traces;
}

/**
 * Traces of userns sandboxes that no runtime lists any more: a cgroup kgrade/<name> in any
 * hierarchy, or a mount below the sandboxes' folder. A sandbox removed properly leaves none.
 */
export async function strayTraces(): Promise<string[]> {
  const known = new Set<string>();
  const listAll = async () => {
    for (const isolation of ISOLATIONS)
      for (const s of await (await sandboxRuntime(isolation)).list()) known.add(s.name);
  };
  // Listed before and after the traces are read: a sandbox another process starts meanwhile is no stray.
  await listAll();
  const traces: { name: string; trace: string }[] = [];
  for (const h of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const dir = path.join('/sys/fs/cgroup', h, 'kgrade');
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) traces.push({ name: e.name, trace: `cgroup ${path.join(dir, e.name)}` });
  }
  const sandboxes = path.join(stateDir(), 'sandboxes');
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4] ?? '';
    const name = mountPoint.startsWith(`${sandboxes}/`)
      ? mountPoint.slice(sandboxes.length + 1).split('/')[0]
      : undefined;
    if (name) traces.push({ name, trace: `mount ${mountPoint}` });
  }
  await listAll();
  return traces.filter((t) => !known.has(t.name)).map((t) => t.trace);
}

/** Private submission copies (kgrade-sub-<name>-*) still in the temp folder. */
export async function workspacesOf(submissionName: string): Promise<string[]> {
  const prefix = `kgrade-sub-${submissionName.replace(/[^A-Za-z0-9_.-]/g, '_')}-`;
  return (await readdir(os.tmpdir())).filter((e) => e.startsWith(prefix));
}

export async function assertNothingLeft(pids: number[], submissionName?: string): Promise<void> {
  // A VM this process booted ahead for a later grade is nobody's leftover yet; its exit would remove it.
  if (pids.includes(process.pid)) removeVmSpares();
  const left = await sandboxesOwnedBy(pids);
  if (left.length) {
    await removeSandboxes(left);
    throw new Error(`sandbox(es) left behind: ${left.join(', ')}`);
  }
  const stray = await strayTraces();
  if (stray.length) throw new Error(`removed sandboxes left traces on the host: ${stray.join(', ')}`);
  if (submissionName) {
    const ws = await workspacesOf(submissionName);
    for (const w of ws) {
      await execa('chmod', ['-R', 'u+w', path.join(os.tmpdir(), w)], { reject: false });
      await rm(path.join(os.tmpdir(), w), { recursive: true, force: true });
    }
    if (ws.length) throw new Error(`submission workspace(s) left in ${os.tmpdir()}: ${ws.join(', ')}`);
  }
}

/** Fails fast, with the fix, when Docker or the node image is missing. */
export async function requireDocker(): Promise<string> {
  const image = nodeImageRef();
  const r = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', image], {
    reject: false,
    timeout: 30_000,
  });
  if (r.exitCode !== 0)
    throw new Error(`integration tests need Docker and ${image}: run scripts/ensure-images.sh (${r.stderr.trim()})`);
  return image;
}

export interface InProcessGrade {
  result: GradeResult;
  log: string[];
  wallMs: number;
  byName: (name: string) => ScenarioResult;
}

/** Grades in this process, in the sandbox KGRADE_ISOLATION names (userns when unset). */
export async function gradeHere(labDir: string, submissionDir: string): Promise<InProcessGrade> {
  const lab = await loadLab(labDir);
  const isolation = isolationSetting();
  const log: string[] = [];
  const started = Date.now();
  const graded = await gradeSubmission(lab, submissionDir, {
    environment: {
      kind: 'sandbox',
      isolation: isolation ?? DEFAULT_ISOLATION,
      nodeImage: nodeImageRef(),
      cgroup: cgroupFor(lab.kernel.cgroup),
    },
    log: (l) => log.push(l),
  });
  const { result } = graded;
  // KGRADE_ISOLATION once went unread here and every "vm" run graded with userns: say so if it ever does again.
  const used = result.environment.isolation;
  if (used !== (isolation ?? DEFAULT_ISOLATION))
    throw new Error(`gradeHere asked for ${isolation ?? DEFAULT_ISOLATION} sandboxes and graded in ${used}`);
  return {
    result,
    log,
    wallMs: Date.now() - started,
    byName: (name) => {
      const s = result.scenarios.find((x) => x.name === name);
      if (!s) throw new Error(`no scenario "${name}" in the result: ${result.scenarios.map((x) => x.name).join(', ')}`);
      return s;
    },
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
  wallMs: number;
}

export interface CliOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Own process group, so a signal can go to the whole group as Ctrl-C does. */
  detached?: boolean;
  /** Called once the process runs. */
  onStart?: (pid: number) => void;
}

/** Runs bin/kgrade.js with args; never throws for a non-zero exit. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [KGRADE_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.detached ?? false,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`kgrade ${args.join(' ')} did not end within ${opts.timeoutMs ?? 180_000} ms\nstderr:\n${stderr}`),
      );
    }, opts.timeoutMs ?? 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('spawn', () => opts.onStart?.(child.pid ?? 0));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid ?? 0, wallMs: Date.now() - started });
    });
  });
}

export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
