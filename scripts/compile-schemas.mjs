#!/usr/bin/env node
// scripts/compile-schemas.mjs — run by `npm run build`: compiles schemas/lab.schema.json
// with ajv into dist/src/vendor/lab-validator.js (ajv's standalone code), with the same
// options src/lab/load.ts uses and the schema's sha256, so that every kgrade command does
// not compile it again (about 0.1 s with ajv's own import). load.ts uses the file only
// when the hash matches the schema it reads; otherwise it compiles, as without the file.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const text = await readFile(path.join(root, 'schemas/lab.schema.json'), 'utf8');
// keep in step with src/lab/load.ts LAB_SCHEMA_OPTIONS
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, code: { source: true, esm: true } });
const code = standaloneCode.default(ajv, ajv.compile(JSON.parse(text)));
const hash = createHash('sha256').update(text).digest('hex');
const out = path.join(root, 'dist/src/vendor/lab-validator.js');
await mkdir(path.dirname(out), { recursive: true });
// the standalone code requires ajv's runtime helpers (ucs2length): an ES module needs a require
const banner =
  "import { createRequire as kgradeCreateRequire } from 'node:module'; const require = kgradeCreateRequire(import.meta.url);";
await writeFile(
  out,
  `${banner}\n${code.replace(/^"use strict";/, '')}\nexport const schemaSha256 = ${JSON.stringify(hash)};\n`,
);
process.stderr.write(`compile-schemas: ${path.relative(root, out)} (schemas/lab.schema.json ${hash.slice(0, 12)})\n`);
