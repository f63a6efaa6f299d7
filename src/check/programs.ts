import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../paths.js';
import type { Node } from '../node.js';
import { GraderError } from '../errors.js';

export interface ProgramInRoot {
  program: string;
  exists: boolean;
  elf?: boolean;
  script?: boolean;
  /** The dynamic loader the program names; absent for a static program. */
  interp?: string | null;
  interpExists?: boolean;
  /** Libraries the root's loader cannot find inside the root. */
  missing?: string[];
  libraries?: string[];
  /** null: the loader did not finish within its deadline (loaderError says so). */
  loaderExit?: number | null;
  loaderError?: string;
  error?: string;
}

/** What a program needs and whether the root provides it, as the root's own loader sees it. */
export async function inspectPrograms(node: Node, root: string, programs: string[]): Promise<ProgramInRoot[]> {
  const script = await readFile(path.join(REPO_ROOT, 'src/check/node/programs.py'), 'utf8');
  const r = await node.exec(['python3', '-I', '-S', '-', root, ...programs], { stdin: script, timeoutMs: 60_000 });
  if (r.code !== 0) throw new GraderError(`inspecting programs under ${root} failed: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as ProgramInRoot);
}

/** Why a program would not run inside its root, or undefined when it would. */
export function programProblem(p: ProgramInRoot, root: string): string | undefined {
  if (p.error) return `${p.program}: could not be inspected inside ${root}: ${p.error}`;
  if (!p.exists) return `${root}${p.program} does not exist (seen from inside the root)`;
  if (!p.elf) return p.script ? undefined : `${root}${p.program} is not a program (no ELF header)`;
  if (!p.interp) return undefined;
  if (!p.interpExists) return `${p.program} needs its loader ${p.interp}, which is not inside ${root}`;
  if (p.missing?.length)
    return `${p.program} needs ${p.missing.join(', ')}, which the loader cannot find inside ${root}`;
  if (p.loaderExit !== 0) return `${p.program}: the loader inside ${root} failed: ${p.loaderError ?? ''}`;
  return undefined;
}
