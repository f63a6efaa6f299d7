import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/golden/ in the source tree (tests run from dist/test/). */
export const GOLDEN_ROOT = fileURLToPath(new URL('../../../test/golden/', import.meta.url));

/**
 * Compares output with its golden file under test/golden/; UPDATE_GOLDEN=1 writes the file
 * instead, for a change that is meant.
 */
export async function matchesGolden(rel: string, actual: string): Promise<void> {
  const file = path.join(GOLDEN_ROOT, rel);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, actual, 'utf8');
    return;
  }
  const expected = await readFile(file, 'utf8').catch(() =>
    assert.fail(`${file} is missing: create it with UPDATE_GOLDEN=1`),
  );
  assert.equal(
    actual,
    expected,
    `${rel} differs from its golden file ${file}; if the change is intended, regenerate with UPDATE_GOLDEN=1`,
  );
}
