/**
 * The shell scripts under scripts/ carry small Node programs that import kgrade's modules from
 * dist/. A module that moves or renames an export breaks them only when they run (the bench's VM
 * figures were lost that way once): every name they import must be one that module exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * [file, module, names] for `import { a, b } from "./dist/…"`, `const { a } = await import("./dist/…")`
 * and `import("./dist/…").then((m) => m.a …)`.
 */
function importsIn(file: string): [string, string, string[]][] {
  const text = readFileSync(file, 'utf8');
  const found: [string, string, string[]][] = [];
  const forms = [
    /import\s*\{([^}]*)\}\s*from\s*["'](\.\/dist\/[^"']+)["']/g,
    /const\s*\{([^}]*)\}\s*=\s*await\s+import\(\s*["'](\.\/dist\/[^"']+)["']\s*\)/g,
  ];
  for (const form of forms)
    for (const m of text.matchAll(form)) {
      const names = (m[1] ?? '')
        .split(',')
        .map((n) => n.trim().split(/\s+as\s+|\s*:\s*/)[0] ?? '')
        .filter(Boolean);
      found.push([path.relative(root, file), m[2] ?? '', names]);
    }
  // import("./dist/…").then((m) => … m.name …): the names read off the module inside the callback
  for (const m of text.matchAll(/import\(\s*["'](\.\/dist\/[^"']+)["']\s*\)\.then\(\(?(\w+)\)?\s*=>([^']*)/g)) {
    const names = [...(m[3] ?? '').matchAll(new RegExp(`\\b${m[2]}\\.(\\w+)`, 'g'))].map((n) => n[1] ?? '');
    found.push([path.relative(root, file), m[1] ?? '', names]);
  }
  return found;
}

test('every name the scripts import from dist/ is exported there', async () => {
  const dir = path.join(root, 'scripts');
  const uses = readdirSync(dir)
    .filter((f) => f.endsWith('.sh') || f.endsWith('.mjs'))
    .flatMap((f) => importsIn(path.join(dir, f)));
  assert.ok(uses.length >= 3, `found the scripts' imports: ${JSON.stringify(uses)}`);
  const missing: string[] = [];
  for (const [file, mod, names] of uses) {
    const exported = (await import(pathToFileURL(path.join(root, mod)).href)) as Record<string, unknown>;
    for (const n of names) if (!(n in exported)) missing.push(`${file}: ${n} from ${mod}`);
  }
  assert.deepEqual(missing, []);
});
