import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateAction, validateWorkflow, type ValidationState } from '@action-validator/core';
import yaml from 'js-yaml';

/*
 * Every file in .github/ checked with action-validator (SchemaStore's schemas for workflows and
 * actions, compiled into the package: nothing is fetched), then what a schema cannot see: the
 * shard matrix against SHARDS, and the wiring GitHub Classroom's reporter depends on.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GITHUB_DIR = path.join(ROOT, '.github');
const WORKFLOWS = path.join(GITHUB_DIR, 'workflows');

type Step = {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
};
type Job = {
  name?: string;
  needs?: string | string[];
  if?: string;
  steps: Step[];
  strategy?: { matrix?: Record<string, unknown> };
  env?: Record<string, string>;
};
type Workflow = {
  name: string;
  on: unknown;
  env?: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
};

function problems(state: ValidationState): string[] {
  const out: string[] = [];
  const walk = (errors: ValidationState['errors'], depth: number) => {
    for (const e of errors) {
      out.push(
        `${'  '.repeat(depth)}${'path' in e && e.path ? `${e.path}: ` : ''}${e.title}${e.detail ? ` (${e.detail})` : ''}`,
      );
      if ('states' in e && e.states) for (const s of e.states) walk(s.errors, depth + 1);
    }
  };
  walk(state.errors, 0);
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true, recursive: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

async function workflow(name: string): Promise<{ text: string; data: Workflow }> {
  const text = await readFile(path.join(WORKFLOWS, name), 'utf8');
  return { text, data: yaml.load(text) as Workflow };
}

function stepRunning(job: Job, pattern: RegExp): Step {
  return job.steps.find((s) => s.run !== undefined && pattern.test(s.run)) ?? assert.fail(`no step runs ${pattern}`);
}

test('every file in .github/ is a workflow or an action that action-validator accepts', async () => {
  const files = await filesUnder(GITHUB_DIR);
  assert.ok(
    files.includes('workflows/grade-class.yml') &&
      files.includes('workflows/classroom-autograde.yml') &&
      files.includes('workflows/ci.yml'),
    files.join(', '),
  );
  for (const file of files) {
    const text = await readFile(path.join(GITHUB_DIR, file), 'utf8');
    let state: ValidationState;
    if (/^workflows\/[^/]+\.ya?ml$/.test(file)) state = validateWorkflow(text);
    else if (/(^|\/)action\.ya?ml$/.test(file)) state = validateAction(text);
    else assert.fail(`.github/${file}: no validator for this kind of file; add one to this test`);
    assert.deepEqual(problems(state), [], `.github/${file} is not valid:\n${problems(state).join('\n')}`);
  }
});

test('the validator sees mistakes: each workflow broken on purpose is rejected', async () => {
  for (const name of await readdir(WORKFLOWS)) {
    const text = await readFile(path.join(WORKFLOWS, name), 'utf8');
    const unknownKey = text.replace(/^(\s+)runs-on:/m, '$1runs_on:');
    assert.notEqual(unknownKey, text);
    assert.ok(validateWorkflow(unknownKey).errors.length > 0, `${name} with runs_on for runs-on`);
    const badNeeds = text.replace(
      /^jobs:\n(\s+)([\w-]+):\n/m,
      (_m, indent: string, job: string) => `jobs:\n${indent}${job}:\n${indent}  needs: no-such-job\n`,
    );
    assert.ok(
      validateWorkflow(badNeeds).errors.some((e) => e.code === 'unresolved_job'),
      `${name} needing a job that does not exist`,
    );
  }
});

test('every ${{ expression }} in the workflows is closed on its line', async () => {
  for (const name of await readdir(WORKFLOWS)) {
    const lines = (await readFile(path.join(WORKFLOWS, name), 'utf8')).split('\n');
    lines.forEach((line, i) => {
      const opened = line.split('${{').length - 1;
      const closed = (line.match(/\}\}/g) ?? []).length;
      assert.equal(opened, closed, `${name}:${i + 1}: ${line.trim()}`);
    });
  }
});

test('grade-class.yml: a shard per matrix entry, each uploading its output, then merge and report', async () => {
  const { data } = await workflow('grade-class.yml');
  assert.ok(typeof data.on === 'object' && data.on !== null && 'workflow_dispatch' in data.on);
  const shards = Number(data.env?.['SHARDS']);
  const shard = data.jobs['shard'] ?? assert.fail('no shard job');
  assert.deepEqual(
    shard.strategy?.matrix?.['shard'],
    Array.from({ length: shards }, (_, i) => i + 1),
    'matrix.shard must be 1..SHARDS',
  );
  const grade = stepRunning(shard, /kgrade\.js batch /);
  assert.match(
    grade.run ?? '',
    /node bin\/kgrade\.js batch "\$LAB" "\$SUBMISSIONS" --shard "\$SHARD\/\$SHARDS" --out "out-\$SHARD"/,
  );
  assert.equal(grade.env?.['SHARD'], '${{ matrix.shard }}');
  const upload =
    shard.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@')) ?? assert.fail('the shard uploads nothing');
  assert.deepEqual(
    [upload.with?.['name'], upload.with?.['path'], upload.if],
    ['out-${{ matrix.shard }}', 'out-${{ matrix.shard }}/', '${{ !cancelled() }}'],
  );

  const merge = data.jobs['merge'] ?? assert.fail('no merge job');
  assert.equal(merge.needs, 'shard');
  assert.equal(merge.if, '${{ !cancelled() }}', 'the report is made even when a shard has students in error');
  const download =
    merge.steps.find((s) => s.uses?.startsWith('actions/download-artifact@')) ??
    assert.fail('the merge job downloads nothing');
  assert.equal(download.with?.['pattern'], 'out-*');
  const run = stepRunning(merge, /kgrade\.js merge /).run ?? '';
  assert.match(run, /node bin\/kgrade\.js merge merged out-\* \|\| status=\$\?\n/);
  assert.match(run, /\n\s*node bin\/kgrade\.js report merged\n/);
  const report =
    merge.steps.find((s) => s.with?.['name'] === 'class-report') ?? assert.fail('the class report is not uploaded');
  assert.equal(report.with?.['path'], 'merged/report/');
  assert.equal(report.if, '${{ !cancelled() }}', 'uploaded also when the class has students in error');
});

test("classroom-autograde.yml: the job, permissions and runner output GitHub Classroom's reporter reads", async () => {
  const { data } = await workflow('classroom-autograde.yml');
  assert.deepEqual(data.permissions, { checks: 'write', actions: 'read', contents: 'read' });
  // notify-classroom.js looks the check run up by this name.
  const job = data.jobs['run-autograding-tests'] ?? assert.fail('the job must be named run-autograding-tests');
  assert.match(job.if ?? '', /github\.actor != 'github-classroom\[bot\]'/);
  assert.match(job.if ?? '', /vars\.KGRADE_LAB != ''/, "skipped where no lab is configured (kgrade's own repository)");
  const reporterStep =
    job.steps.find((s) => s.uses === 'classroom-resources/autograding-grading-reporter@v1') ??
    assert.fail('no reporter step');
  const runners = String(reporterStep.with?.['runners']).split(',');
  for (const runner of runners) {
    // The reporter reads process.env[`${runner.trim().toUpperCase()}_RESULTS`] and accepts ids matching this.
    assert.match(runner, /^[a-zA-Z0-9]+$/);
    const step = job.steps.find((s) => s.id === runner) ?? assert.fail(`no step with id ${runner}`);
    assert.equal(reporterStep.env?.[`${runner.toUpperCase()}_RESULTS`], `\${{ steps.${runner}.outputs.result }}`);
    assert.match(
      step.run ?? '',
      /node kgrade\/bin\/kgrade\.js grade "kgrade\/\$KGRADE_LAB" --submission submission --out out > grade\.log 2>&1/,
    );
    assert.match(
      step.run ?? '',
      /result=\$\(sudo -E env "PATH=\$PATH" node kgrade\/bin\/kgrade\.js report --classroom out\)/,
    );
    assert.match(step.run ?? '', /echo "result=\$result" >> "\$GITHUB_OUTPUT"/);
    // The result it writes when kgrade could not grade at all must be what the reporter can read.
    const format = /printf '(\{.*\})' "\$status"/.exec(step.run ?? '')?.[1] ?? assert.fail('no fallback result');
    const fallback = JSON.parse(format.replace('%s', '3')) as {
      version: number;
      status: string;
      max_score: number;
      tests: Array<{ status: string; score: number }>;
    };
    assert.deepEqual(
      [fallback.version, fallback.status, fallback.max_score, fallback.tests[0]?.status, fallback.tests[0]?.score],
      [1, 'error', 0, 'error', 0],
    );
  }
  assert.equal(reporterStep.if, '${{ !cancelled() }}');
});

/** Where a workflow grades with privileged sandboxes (no security boundary): KGRADE_ISOLATION or --isolation. */
function privilegedGrading(data: Workflow): string[] {
  const found: string[] = [];
  const envs: [string, Record<string, unknown> | undefined][] = [['env', data.env]];
  for (const [jobName, job] of Object.entries(data.jobs)) {
    envs.push([`jobs.${jobName}.env`, job.env]);
    job.steps.forEach((step, i) => {
      envs.push([`jobs.${jobName}.steps[${i}].env`, step.env]);
      if (/--isolation[= ]+["']?privileged|KGRADE_ISOLATION=["']?privileged/.test(step.run ?? ''))
        found.push(`jobs.${jobName}.steps[${i}].run`);
    });
  }
  for (const [where, env] of envs)
    if (env && String(env['KGRADE_ISOLATION'] ?? '').includes('privileged')) found.push(`${where}.KGRADE_ISOLATION`);
  return found;
}

/** The jobs that grade (kgrade grade or batch), by name. */
function gradingJobs(data: Workflow): [string, Job][] {
  return Object.entries(data.jobs).filter(([, job]) =>
    job.steps.some((s) => /kgrade\.js (grade|batch) /.test(s.run ?? '')),
  );
}

test('no workflow grades with privileged sandboxes; each grading job can boot VMs with KVM', async () => {
  const names = (await readdir(WORKFLOWS)).filter((n) => n !== 'ci.yml');
  assert.deepEqual(names.sort(), ['classroom-autograde.yml', 'grade-class.yml']);
  for (const name of names) {
    const { text, data } = await workflow(name);
    assert.deepEqual(privilegedGrading(data), [], `${name} grades with --isolation privileged`);
    // The check sees it: the same workflow with privileged set at each level is caught.
    const atTop = yaml.load(text.replace(/^env:\n/m, 'env:\n  KGRADE_ISOLATION: privileged\n')) as Workflow;
    const inRun = yaml.load(
      text.replace(/kgrade\.js (grade|batch) /, 'kgrade.js $1 --isolation privileged '),
    ) as Workflow;
    assert.ok(privilegedGrading(inRun).length > 0, `${name}: --isolation privileged in a run line is not seen`);
    if (/^env:\n/m.test(text)) assert.ok(privilegedGrading(atTop).length > 0, `${name}: top-level env not seen`);
    const jobs = gradingJobs(data);
    assert.ok(jobs.length > 0, `${name} has no job that grades`);
    for (const [jobName, job] of jobs) {
      assert.ok(
        job.steps.some((s) => /apt-get install [^\n]*\bqemu-system-x86\b[^\n]*\bqemu-utils\b/.test(s.run ?? '')),
        `${name}: job ${jobName} does not install qemu-system-x86 and qemu-utils (vm, for labs pinned to cgroup v1)`,
      );
      // Ubuntu's runners: debootstrap makes the Debian node image, checked against Debian's keys.
      assert.ok(
        job.steps.some((s) =>
          /apt-get install [^\n]*\bdebootstrap\b[^\n]*\bdebian-archive-keyring\b/.test(s.run ?? ''),
        ),
        `${name}: job ${jobName} does not install debootstrap and debian-archive-keyring (the node image on Ubuntu)`,
      );
      const kvm = job.steps.findIndex((s) =>
        /KERNEL=="kvm"[^\n]*MODE="0666"[\s\S]*udevadm trigger --name-match=kvm/.test(s.run ?? ''),
      );
      const grade = job.steps.findIndex((s) => /kgrade\.js (grade|batch) /.test(s.run ?? ''));
      assert.ok(kvm >= 0 && kvm < grade, `${name}: job ${jobName} does not open /dev/kvm to the runner before grading`);
    }
  }
});
