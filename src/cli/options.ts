import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

/** One option of a verb: how node's parseArgs reads it, and how its help names and explains it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value's placeholder in the help, e.g. DIR or userns|privileged (string options). */
  readonly value?: string;
  readonly help: string;
  /** Options several verbs share are listed under their group's heading (sandbox, cluster). */
  readonly group?: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['multiple'] extends true
    ? string[]
    : string;

export type OptionValues<T extends OptionTable> = { [K in keyof T]?: ValueOf<T[K]> | undefined };

export interface ParsedArgs<T extends OptionTable> {
  values: OptionValues<T>;
  positionals: string[];
  /** -h or --help was given. */
  help: boolean;
}

/** A wrong option or option value: reported with the usage of the verb it was given to. */
export class OptionError extends UsageError {}

/** Reads a verb's arguments against its options table; anything else it meets is an OptionError. */
export function parseOptions<T extends OptionTable>(options: T, args: string[]): ParsedArgs<T> {
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(options))
    config[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}) };
  try {
    const { values, positionals } = parseArgs({ args, options: config, allowPositionals: true, strict: true });
    const { help, ...rest } = values;
    return { values: rest as OptionValues<T>, positionals, help: help === true };
  } catch (err) {
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
      throw new OptionError(err.message, { cause: err });
    throw err;
  }
}

/** The options table as help lines, a heading per group: the option and its value, then what it does, aligned. */
export function formatOptions(options: OptionTable): string[] {
  const rows = Object.entries(options).map(([name, spec]) => ({
    flag: `--${name}${spec.value ? ` ${spec.value}` : ''}`,
    help: spec.help,
    group: spec.group ?? '',
  }));
  rows.push({ flag: '-h, --help', help: 'this help', group: '' });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  const lines: string[] = [];
  for (const group of [...new Set(rows.map((r) => r.group))].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : 0))) {
    if (lines.length) lines.push('');
    lines.push(`${group ? `${group} options` : 'options'}:`);
    for (const r of rows.filter((x) => x.group === group))
      lines.push(`  ${r.flag.padEnd(width)}${r.help.replaceAll('\n', `\n  ${' '.repeat(width)}`)}`);
  }
  return lines;
}
