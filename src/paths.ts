import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout kgrade runs from: this file is compiled to dist/src/paths.js, two levels below it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
