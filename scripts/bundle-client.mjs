#!/usr/bin/env node
// scripts/bundle-client.mjs — run by `npm run build` after tsc: replaces each compiled
// re-export under dist/src/vendor/ (kubernetes-client.js: @kubernetes/client-node;
// execa.js: execa) with one ES module bundle of the package and its dependencies, so that
// Node reads one file instead of thousands (see src/vendor/*.ts). CommonJS dependencies
// keep their `require` through createRequire. Prints what it wrote.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VENDORED = { 'kubernetes-client': '@kubernetes/client-node', execa: 'execa' };
for (const [name, pkg] of Object.entries(VENDORED)) {
  const out = path.join(root, `dist/src/vendor/${name}.js`);
  const started = Date.now();
  await build({
    stdin: { contents: `export * from '${pkg}';`, resolveDir: root, sourcefile: `${name}.ts` },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    legalComments: 'eof',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as kgradeCreateRequire } from 'node:module'; const require = kgradeCreateRequire(import.meta.url);",
    },
  });
  const { size } = await stat(out);
  process.stderr.write(
    `bundle-client: ${path.relative(root, out)} (${(size / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
