/**
 * Every list of sandbox runtimes, cluster providers and environment kinds is read from its
 * registry (src/env/sandbox/index.ts RUNTIMES, src/env/cluster/select.ts PROVIDERS,
 * src/env/environments/index.ts ENVIRONMENTS). The JSON schemas cannot import them: these tests
 * hold their enums equal to the registries, so a runtime or kind added without its schema fails
 * here. The help, the configuration's message and the reports' wording are checked to name
 * every entry, and a runtime that is no boundary to be warned about wherever it is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { VERBS } from '../../src/cli/verbs/index.js';
import { isolationSetting } from '../../src/config.js';
import { PROVIDER_KINDS, PROVIDERS } from '../../src/env/cluster/select.js';
import { ENVIRONMENT_KINDS, ENVIRONMENTS } from '../../src/env/environments/index.js';
import { ISOLATIONS, RUNTIMES } from '../../src/env/sandbox/index.js';
import { REPO_ROOT } from '../../src/paths.js';
import { toMarkdown } from '../../src/report/markdown.js';
import { toSummary } from '../../src/report/summary.js';
import { completeResult } from './fixtures.js';

type Schema = { properties: Record<string, Schema & { enum?: string[] }> };

function schema(name: string): Schema {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'schemas', name), 'utf8')) as Schema;
}

test("results.schema.json's environment.isolation enum is the sandbox runtimes' registry", () => {
  const isolation = schema('results.schema.json').properties['environment']?.properties['isolation'];
  assert.deepEqual(isolation?.enum, ISOLATIONS, 'update schemas/results.schema.json to RUNTIMES');
});

test("lab.schema.json's environment enum is the environments' registry", () => {
  assert.deepEqual(schema('lab.schema.json').properties['environment']?.enum, ENVIRONMENT_KINDS);
  for (const kind of ENVIRONMENT_KINDS) assert.equal(ENVIRONMENTS[kind].kind, kind, `ENVIRONMENTS.${kind}`);
});

test("every verb's --help that takes --isolation or --provider lists each runtime or provider with its help", () => {
  const withIsolation = VERBS.filter((v) => v.help().includes('--isolation'));
  const withProvider = VERBS.filter((v) => v.help().includes('--provider'));
  assert.deepEqual(
    withIsolation.map((v) => v.name),
    ['grade', 'verify', 'batch'],
  );
  assert.ok(withProvider.length >= 4, withProvider.map((v) => v.name).join(', '));
  for (const verb of withIsolation) {
    const help = verb.help();
    assert.ok(help.includes(`--isolation ${ISOLATIONS.join('|')}`), help);
    for (const i of ISOLATIONS) {
      const line = help.split('\n').find((l) => l.trim().startsWith(`${i} `));
      assert.ok(line?.includes(RUNTIMES[i].help), `${verb.name} --help: ${i}\n${help}`);
      assert.equal(line?.includes('NOT a security boundary'), RUNTIMES[i].notABoundary !== null, line);
    }
  }
  for (const verb of withProvider) {
    const help = verb.help();
    assert.ok(help.includes(`--provider ${PROVIDER_KINDS.join('|')}`), help);
    for (const p of PROVIDER_KINDS) {
      const line = help.split('\n').find((l) => l.trim().startsWith(`${p} `));
      assert.ok(line?.includes(PROVIDERS[p].help), `${verb.name} --help: ${p}\n${help}`);
    }
  }
});

test('KGRADE_ISOLATION: a name outside the registry is refused with every runtime named', (t) => {
  const before = process.env['KGRADE_ISOLATION'];
  t.after(() => {
    if (before === undefined) delete process.env['KGRADE_ISOLATION'];
    else process.env['KGRADE_ISOLATION'] = before;
  });
  for (const i of ISOLATIONS) {
    process.env['KGRADE_ISOLATION'] = i;
    assert.equal(isolationSetting(), i);
  }
  process.env['KGRADE_ISOLATION'] = 'chroot';
  assert.throws(
    () => isolationSetting(),
    (err: Error) => ISOLATIONS.every((i) => err.message.includes(i)),
  );
});

test("the summaries say each runtime's boundary, and warn of one that is none", () => {
  for (const i of ISOLATIONS) {
    const result = completeResult();
    result.environment = { ...result.environment, isolation: i, cgroup: 'v1' };
    const md = toMarkdown(result);
    assert.ok(md.includes(`> **Isolation:** ${i} sandbox: ${RUNTIMES[i].boundary}`), md);
    const head = toSummary(result, { color: false }).split('\n')[0] ?? '';
    const warned = RUNTIMES[i].notABoundary !== null;
    assert.equal(md.includes('(not a security boundary)'), warned, md);
    assert.equal(head.includes(`${i} sandbox: no security boundary`), warned, head);
    if (!warned) assert.ok(head.includes(`${i} sandbox, cgroup v1`), head);
  }
});
