import { GraderError, LabError, UsageError } from '../errors.js';
import { installSignalCleanup } from '../env/cleanup.js';
import { EXIT } from './exit.js';
import { OptionError } from './options.js';
import { log } from './output.js';
import type { Verb } from './verb.js';
import { VERBS } from './verbs/index.js';

/** kgrade --help: each verb's command lines and its one-line summary. */
function usage(): string {
  const verbs = VERBS.map((v) => `${v.synopsis.map((line) => `  kgrade ${line}`).join('\n')}\n      ${v.summary}`);
  return `kgrade: grades Kubernetes course labs written as Gherkin scenarios

${verbs.join('\n')}

kgrade VERB --help: what a verb does and every option it takes.

Exit codes: 0 graded (whatever the score) / verified; 1 verify found a mismatch;
2 usage or invalid lab; 3 could not grade (infrastructure or grader error).`;
}

/** The one place an error becomes an exit code: who pays decides the number. */
function exitCodeOf(err: unknown, verb: Verb): number {
  if (err instanceof LabError) {
    log(`kgrade: invalid lab: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof GraderError) {
    log(`kgrade: could not grade: ${err.message}`);
    return EXIT.infrastructure;
  }
  if (err instanceof OptionError) {
    log(`kgrade ${verb.name}: ${err.message}\n\n${verb.usage()}`);
    return EXIT.usage;
  }
  if (err instanceof UsageError) {
    log(`kgrade: ${err.message}`);
    return EXIT.usage;
  }
  log(`kgrade: could not grade: ${(err as Error).stack ?? String(err)}`);
  return EXIT.infrastructure;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const verb = VERBS.find((v) => v.name === command);
  if (!verb) {
    if (command === 'help' && rest[0] !== undefined) {
      const asked = VERBS.find((v) => v.name === rest[0]);
      if (asked) {
        process.stdout.write(`${asked.help(rest[1])}\n`);
        return EXIT.graded;
      }
    }
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(`${usage()}\n`);
      return command === undefined ? EXIT.usage : EXIT.graded;
    }
    log(`kgrade: unknown command "${command}"\n\n${usage()}`);
    return EXIT.usage;
  }
  installSignalCleanup(log);
  try {
    return await verb.run(rest);
  } catch (err) {
    return exitCodeOf(err, verb);
  }
}
