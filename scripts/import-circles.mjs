// scripts/import-circles.mjs — part of npm run lint: the folders of src/ (env, kube, check, ...)
// that import each other, both ways. The circles that are there today are listed below; a new
// one fails, and so does a listed one that is gone (strike it off, so that it cannot come back).
// Every import counts, `import type` and `import()` too.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const KNOWN = new Set([
  '(root) <-> env',
  'batch <-> report',
  'batch <-> similarity',
  'cucumber <-> grade',
  'cucumber <-> lab',
  'env <-> lab',
  'grade <-> kube',
  'grade <-> lab',
]);

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'vendor') walk(p);
    } else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(root);

const folder = (file) => {
  const parts = path.relative(root, file).split(path.sep);
  return parts.length > 1 ? parts[0] : '(root)';
};
const edges = new Map();
for (const file of files) {
  for (const m of readFileSync(file, 'utf8').matchAll(
    /(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.[^'"]+)['"]/gm,
  )) {
    const target = path.join(path.dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (!existsSync(target) || folder(target) === folder(file)) continue;
    const key = `${folder(file)} -> ${folder(target)}`;
    if (!edges.has(key)) edges.set(key, `${path.relative(root, file)} imports ${path.relative(root, target)}`);
  }
}

const found = new Map();
for (const [key, example] of edges) {
  const [a, b] = key.split(' -> ');
  const back = edges.get(`${b} -> ${a}`);
  if (a < b && back) found.set(`${a} <-> ${b}`, `${example}; ${back}`);
}
let status = 0;
for (const [circle, why] of found) {
  if (KNOWN.has(circle)) continue;
  console.error(`import-circles: src/${circle.replace(' <-> ', ' and src/')} import each other: ${why}`);
  status = 1;
}
for (const circle of KNOWN) {
  if (found.has(circle)) continue;
  console.error(`import-circles: ${circle} is no longer a circle: strike it off KNOWN in scripts/import-circles.mjs`);
  status = 1;
}
if (status === 0)
  console.log(`lint: import circles: none new (${found.size} known, listed in scripts/import-circles.mjs)`);
process.exit(status);
