import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { UsageError } from '../errors.js';
import { FORMAT } from './formats.js';

/** Line (1-based) of a character offset in a text. */
function lineAt(text: string, offset: number): number {
  return text.slice(0, Math.max(0, offset)).split('\n').length;
}

/**
 * Where JSON.parse stopped: V8 names a line or a position in some messages and in others only
 * quotes the text around it; then js-yaml, whose flow syntax covers JSON, is asked for the line.
 */
function parseErrorLine(text: string, message: string): number {
  const line = /line (\d+)/.exec(message);
  if (line) return Number(line[1]);
  const pos = /position (\d+)/.exec(message);
  if (pos) return lineAt(text, Number(pos[1]));
  try {
    yaml.load(text);
  } catch (err) {
    if (err instanceof yaml.YAMLException) return err.mark.line + 1;
  }
  return 1;
}

function keyLine(text: string, key: string): number {
  const at = text.indexOf(`"${key}"`);
  return at < 0 ? 1 : lineAt(text, at);
}

/**
 * The ids of the claims that failed in a run saved with `kgrade check --format json`. A file of
 * another form or of another kgrade version is a usage error naming the file and line: claims'
 * ids and wording may differ between versions, so a stale baseline would hide or invent failures.
 */
export async function readBaseline(file: string, kgradeVersion: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--baseline ${file}: cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const line = parseErrorLine(text, (err as Error).message);
    throw new UsageError(
      `${file}:${line}: not JSON (${(err as Error).message}); save a baseline with kgrade check --format json`,
      { cause: err },
    );
  }
  const run = doc as { format?: unknown; kgrade?: unknown; claims?: unknown };
  if (typeof doc !== 'object' || doc === null || run.format !== FORMAT) {
    throw new UsageError(
      `${file}:${keyLine(text, 'format')}: not a run saved by kgrade check --format json (format is ${JSON.stringify(run.format ?? null)}, expected "${FORMAT}")`,
    );
  }
  if (run.kgrade !== kgradeVersion) {
    throw new UsageError(
      `${file}:${keyLine(text, 'kgrade')}: saved by kgrade ${String(run.kgrade)}, and this is kgrade ${kgradeVersion}: save a new baseline with this version (kgrade check --format json > ${file})`,
    );
  }
  if (!Array.isArray(run.claims)) throw new UsageError(`${file}:${keyLine(text, 'claims')}: "claims" must be a list`);
  const failing = new Set<string>();
  run.claims.forEach((c: unknown, i: number) => {
    const claim = c as { id?: unknown; outcome?: unknown };
    if (typeof claim?.id !== 'string' || typeof claim.outcome !== 'string') {
      throw new UsageError(`${file}:${keyLine(text, 'claims')}: claims[${i}] needs an "id" and an "outcome"`);
    }
    if (claim.outcome === 'fails') failing.add(claim.id);
  });
  return failing;
}
