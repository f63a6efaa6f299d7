/**
 * Every verb's --help through the real CLI: exit 0, its usage and the options it
 * takes; an unknown option or a bad value is reported by the verb it was given to,
 * with that verb's usage, exit 2. Needs no Docker and no cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliRun } from '../helpers/grading.js';

const SANDBOX = ['--isolation', '--jobs'];
const CLUSTER = ['--kubeconfig', '--context', '--node-image', '--kubernetes-version', '--kube-proxy-mode'];

/** The options each verb took before it had a --help: its help must name every one. */
const VERBS: Record<string, string[]> = {
  grade: ['--submission', '--out', '--allure', '--no-build', ...SANDBOX, ...CLUSTER],
  verify: ['--case', '--out', '--no-build', ...SANDBOX, ...CLUSTER],
  batch: ['--out', '--regrade', '--shard', '--no-build', ...SANDBOX, ...CLUSTER],
  merge: [],
  validate: [],
  check: ['--jobs', ...CLUSTER],
  list: [],
  cluster: ['--provider', ...CLUSTER],
  steps: [],
  clean: [],
  report: ['--html', '--classroom', '--out'],
};

/**
 * Should help ever fall through to the verb, a cluster verb must not touch the
 * shared cluster: it is pointed at a kubeconfig that does not exist.
 */
const NO_CLUSTER = [
  '--kubeconfig',
  path.join(os.tmpdir(), `kgrade-no-such-kubeconfig-${process.pid}`),
  '--context',
  'none',
];
const NO_CLUSTER_ENV = { KGRADE_CLUSTER: `kgrade-help-${process.pid}` };

function show(r: CliRun): string {
  return `\nexit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

test('kgrade --help lists every verb with its summary, exit 0; kgrade alone prints it too, exit 2', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, show(r));
    for (const verb of Object.keys(VERBS))
      assert.match(r.stdout, new RegExp(`^  kgrade ${verb}\\b`, 'm'), `${verb} in kgrade ${args[0]}${show(r)}`);
    assert.match(r.stdout, /kgrade VERB --help/);
    assert.match(r.stdout, /^Exit codes: /m);
  }
  const bare = await runCli([]);
  assert.equal(bare.code, 2, show(bare));
  assert.match(bare.stdout, /^  kgrade grade LABDIR --submission DIR/m);
});

for (const [verb, options] of Object.entries(VERBS)) {
  test(`kgrade ${verb} --help and -h: exit 0, its usage and every option it takes`, async () => {
    for (const flag of ['--help', '-h']) {
      const r = await runCli([verb, flag], { env: NO_CLUSTER_ENV });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, new RegExp(`^usage: kgrade ${verb}\\b`), show(r));
      for (const option of [...options, '--help'])
        assert.match(
          r.stdout,
          new RegExp(`^  (-h, )?${option}\\b`, 'm'),
          `${option} in kgrade ${verb} ${flag}${show(r)}`,
        );
      assert.equal(r.stderr, '', show(r));
    }
  });

  test(`kgrade ${verb} with an unknown option: exit 2, named by ${verb}, with its usage`, async () => {
    const r = await runCli([verb, '--no-such-option', ...(verb === 'cluster' ? ['status', ...NO_CLUSTER] : [])], {
      env: NO_CLUSTER_ENV,
    });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, new RegExp(`^kgrade ${verb}: Unknown option '--no-such-option'`), show(r));
    assert.match(r.stderr, new RegExp(`^usage: kgrade ${verb}\\b`, 'm'), show(r));
  });
}

test('kgrade help VERB is kgrade VERB --help', async () => {
  const viaHelp = await runCli(['help', 'report']);
  const viaFlag = await runCli(['report', '--help']);
  assert.equal(viaHelp.code, 0, show(viaHelp));
  assert.equal(viaHelp.stdout, viaFlag.stdout);
});

test('every cluster verb has its help, and asking for it touches no cluster', async () => {
  for (const sub of ['up', 'down', 'status', 'logs', 'load']) {
    const r = await runCli(['cluster', sub, '--help', ...NO_CLUSTER], { env: NO_CLUSTER_ENV });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^usage: kgrade cluster ${sub}\\b`), show(r));
    assert.match(r.stdout, /^  --kubeconfig FILE/m, show(r));
    assert.equal(r.stderr, '', show(r));
  }
  const all = await runCli(['cluster', '--help']);
  for (const sub of ['up', 'down', 'status', 'logs', 'load'])
    assert.match(all.stdout, new RegExp(`^  ${sub} +\\S`, 'm'), show(all));
});

test('a bad option value is reported by the verb, with its usage, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['grade', 'labs/ch01-isolation', '--submission', 'labs/ch01-isolation/reference', '--isolation', 'nope'],
      /^kgrade grade: --isolation must be userns or privileged[^\n]*, not "nope"$/m,
    ],
    [
      ['verify', 'labs/ch01-isolation', '--jobs', '0'],
      /^kgrade verify: --jobs must be a whole number from 1, not "0"$/m,
    ],
    [['cluster', 'status', '--provider', 'nope'], /^kgrade cluster: --provider must be kind or existing, not "nope"$/m],
    [
      ['grade', 'labs/ch01-isolation', '--submission'],
      /^kgrade grade: Option '--submission <value>' argument missing$/m,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { env: NO_CLUSTER_ENV });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, message, show(r));
    assert.match(r.stderr, new RegExp(`^usage: kgrade ${args[0]}\\b`, 'm'), show(r));
  }
});
