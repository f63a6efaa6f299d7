import { colorAllowed } from '../config.js';

/** Progress and errors: stderr, so that stdout holds only a command's result. */
export const log = (line: string) => process.stderr.write(`${line}\n`);

export const color = process.stdout.isTTY === true && colorAllowed();
