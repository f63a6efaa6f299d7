/**
 * A lab that takes either cgroup version is graded on the host's (userns): on this cgroup v1
 * host, the course notes' v1-only cgroup.sh gets full marks and a v2-only one none. The v2 side
 * is test/vm/cgroup-v2.test.ts, in a VM booted with cgroup v2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { GradeResult } from '../../src/grade/model.js';
import { hostCgroupVersion } from '../../src/env/sandbox/choose.js';
import { REPO_ROOT } from '../../src/paths.js';
import { requireDocker, runCli, type CliRun } from '../helpers/grading.js';

const LAB = path.join(REPO_ROOT, 'test/fixtures/labs/cgroup-either');
const SCRIPTS = path.join(REPO_ROOT, 'test/fixtures/cgroup-scripts');
const T = { timeout: 600_000 };
let out = '';

before(async () => {
  await requireDocker();
  out = await mkdtemp(path.join(os.tmpdir(), 'kgrade-it-either-'));
});

after(async () => {
  await rm(out, { recursive: true, force: true });
});

const show = (r: CliRun) => `\nexit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function grade(script: string): Promise<{ r: CliRun; result: GradeResult }> {
  const dir = path.join(out, script);
  const r = await runCli(['grade', LAB, '--submission', path.join(SCRIPTS, script), '--out', dir]);
  return { r, result: JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as GradeResult };
}

test(
  'on a cgroup v1 host, a lab that takes either version gives the v1-only cgroup.sh full marks, the v2-only one none',
  T,
  async (t) => {
    if (hostCgroupVersion() !== 'v1') {
      t.skip('this host runs cgroup v2: test/vm/cgroup-v2.test.ts is the v2 side');
      return;
    }
    const v1 = await grade('v1-only');
    assert.equal(v1.r.code, 0, show(v1.r));
    assert.equal(v1.result.environment.isolation, 'userns');
    assert.equal(v1.result.environment.cgroup, 'v1');
    assert.equal(v1.result.score, 4, show(v1.r));
    const v2 = await grade('v2-only');
    assert.equal(v2.r.code, 0, show(v2.r));
    assert.equal(v2.result.score, 0, show(v2.r));
  },
);
