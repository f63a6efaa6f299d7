import path from 'node:path';
import type { IRunOptionsFormats } from '@cucumber/cucumber/api';

/** The part of allure-cucumberjs's reporter configuration kgrade sets (its type is not exported). */
type AllureReporterOptions = {
  resultsDir: string;
  labels: { pattern: RegExp[]; name: string }[];
};

/**
 * The cucumber formats that write Allure results into resultsDir, with each
 * scenario's @points:N as a "points" label; none without a folder.
 */
export function allureFormats(resultsDir: string | undefined): Pick<IRunOptionsFormats, 'files' | 'options'> {
  if (!resultsDir) return { files: {}, options: {} };
  const options: AllureReporterOptions = { resultsDir, labels: [{ pattern: [/@points:(\d+)/], name: 'points' }] };
  return {
    files: { [path.join(resultsDir, '.cucumber-allure.log')]: 'allure-cucumberjs/reporter' },
    // Typed as JSON for the command line's sake; runCucumber hands the object itself to the formatter, RegExps included.
    options: options as unknown as IRunOptionsFormats['options'],
  };
}
