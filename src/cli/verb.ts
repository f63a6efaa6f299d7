import { EXIT } from './exit.js';
import { formatOptions, parseOptions, type OptionTable, type OptionValues } from './options.js';
import { log } from './output.js';

/** A verb's own verbs, named by its first argument (kgrade cluster up): help only, the verb runs them. */
export interface SubVerb {
  readonly name: string;
  /** The command lines after "kgrade", e.g. "cluster load IMAGE [cluster options]". */
  readonly synopsis: readonly string[];
  readonly summary: string;
  readonly description?: string;
}

export interface VerbRun<T extends OptionTable> {
  values: OptionValues<T>;
  positionals: string[];
  /** Writes the verb's usage to stderr; returns the usage exit code. */
  usage: () => number;
}

export interface VerbSpec<T extends OptionTable> {
  readonly name: string;
  /** The command lines after "kgrade", e.g. "grade LABDIR --submission DIR [--out DIR]". */
  readonly synopsis: readonly string[];
  /** One line for kgrade --help. */
  readonly summary: string;
  /** What the verb does, for kgrade VERB --help: what it writes, where, and its exit codes when they differ. */
  readonly description: string;
  readonly options: T;
  readonly subverbs?: readonly SubVerb[];
  run(args: VerbRun<T>): Promise<number>;
}

/** One kgrade verb, as main.ts dispatches to it. */
export interface Verb {
  readonly name: string;
  readonly synopsis: readonly string[];
  readonly summary: string;
  /** The usage lines shown when the verb is given wrong arguments. */
  usage(): string;
  /** kgrade VERB --help, or of a sub-verb (kgrade cluster up --help). */
  help(subverb?: string): string;
  run(args: string[]): Promise<number>;
}

const indent = (text: string, by: string) => text.replace(/^(?=.)/gm, by);

function usageLines(synopsis: readonly string[]): string {
  return synopsis.map((line, i) => `${i === 0 ? 'usage: ' : '       '}kgrade ${line}`).join('\n');
}

export function defineVerb<T extends OptionTable>(spec: VerbSpec<T>): Verb {
  const options = `\n\n${formatOptions(spec.options).join('\n')}`;
  const usage = () => `${usageLines(spec.synopsis)}\n(kgrade ${spec.name} --help: what it does and every option)`;
  const help = (subverb?: string) => {
    const sub = spec.subverbs?.find((s) => s.name === subverb);
    if (sub) return `${usageLines(sub.synopsis)}\n\n${indent(sub.description ?? sub.summary, '  ')}${options}`;
    const subs = spec.subverbs?.length
      ? `\n\n${spec.name} verbs (kgrade ${spec.name} VERB --help for one):\n${spec.subverbs.map((s) => `  ${s.name.padEnd(8)}${s.summary}`).join('\n')}`
      : '';
    return `${usageLines(spec.synopsis)}\n\n${indent(spec.description, '  ')}${subs}${options}`;
  };
  return {
    name: spec.name,
    synopsis: spec.synopsis,
    summary: spec.summary,
    usage,
    help,
    async run(args: string[]): Promise<number> {
      const { values, positionals, help: wanted } = parseOptions(spec.options, args);
      if (wanted) {
        process.stdout.write(`${help(positionals[0])}\n`);
        return EXIT.graded;
      }
      return spec.run({
        values,
        positionals,
        usage: () => {
          log(usage());
          return EXIT.usage;
        },
      });
    },
  };
}
