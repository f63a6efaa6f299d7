/**
 * The lab.yaml validator `npm run build` compiles (scripts/compile-schemas.mjs) is the one
 * ajv compiles at run time: built from this schema, and with the same verdicts and errors.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { REPO_ROOT } from '../../src/paths.js';

type Validator = ((data: unknown) => boolean) & { errors?: unknown[] | null };

const SAMPLES: unknown[] = [
  {},
  { id: 'x', title: 't', chapter: 1, environment: 'cluster', submission: { files: [{ path: 'pod.yaml' }] } },
  { id: 'Bad Id', title: 't', chapter: 1, environment: 'moon', submission: { files: [] }, extra: true },
  {
    id: 'x',
    title: 't',
    chapter: 'one',
    environment: 'sandbox',
    submission: { files: [{ path: 'a.sh' }], maxBytes: -1 },
    timeouts: { script: 0 },
  },
];

test('the built lab.yaml validator is compiled from the current schema and judges as ajv does', async () => {
  const text = await readFile(path.join(REPO_ROOT, 'schemas/lab.schema.json'), 'utf8');
  const built = (await import(pathToFileURL(path.join(REPO_ROOT, 'dist/src/vendor/lab-validator.js')).href)) as {
    default: Validator;
    schemaSha256: string;
  };
  assert.equal(
    built.schemaSha256,
    createHash('sha256').update(text).digest('hex'),
    'npm run build compiled this schema',
  );
  const fresh = new Ajv({ allErrors: true, useDefaults: true, strict: true }).compile(
    JSON.parse(text) as object,
  ) as Validator;
  for (const sample of SAMPLES) {
    const a = structuredClone(sample);
    const b = structuredClone(sample);
    assert.equal(built.default(a), fresh(b), JSON.stringify(sample));
    assert.deepEqual(built.default.errors ?? null, fresh.errors ?? null, JSON.stringify(sample));
    assert.deepEqual(a, b, 'the same defaults filled in');
  }
});
