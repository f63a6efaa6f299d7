/**
 * The programs check (src/check/programs.ts, src/check/node/programs.py) on a real node
 * sandbox: a box built by hand holds a program and every library, or lacks one, or names a
 * loader that never ends. Each is a finding about the box (the student's), never a grader error.
 *
 * node --test --test-concurrency=1 dist/test/integration/programs-check.test.js
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeImageRef } from '../../src/env/images.js';
import { describeExec } from '../../src/node.js';
import { startSandbox, type Sandbox } from '../../src/env/sandbox/index.js';
import { inspectPrograms, programProblem } from '../../src/check/programs.js';
import { requireDocker } from '../helpers/grading.js';

const RUN_ID = `programs-${process.pid}`;
const BOX = '/srv/box';
let node: Sandbox;

before(async () => {
  await requireDocker();
  node = await startSandbox('userns', { image: nodeImageRef(), runId: RUN_ID, purpose: 'programs-check-test' });
  // The box: bash and ls with every library the node's ldd names, as a student's chroot0.sh makes it.
  const r = await node.exec(
    [
      'bash',
      '-c',
      `set -e
for p in /bin/bash /bin/ls; do
  mkdir -p ${BOX}/bin; cp "$p" ${BOX}/bin/
  for lib in $(ldd "$p" | grep -o '/[^ ]*'); do mkdir -p "${BOX}$(dirname "$lib")"; cp -L "$lib" "${BOX}$lib"; done
done`,
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, describeExec(r));
});

after(async () => {
  await node?.destroy();
});

async function problemsOf(programs: string[]): Promise<(string | undefined)[]> {
  const seen = await inspectPrograms(node, BOX, programs);
  assert.deepEqual(
    seen.map((p) => p.program),
    programs,
  );
  return seen.map((p) => programProblem(p, BOX));
}

test('a box with the programs and their libraries: no problem, and the libraries the loader found', async () => {
  const seen = await inspectPrograms(node, BOX, ['/bin/bash', '/bin/ls']);
  assert.deepEqual(
    seen.map((p) => programProblem(p, BOX)),
    [undefined, undefined],
  );
  assert.ok(seen[0]?.libraries?.includes('libc.so.6'), JSON.stringify(seen[0]));
  assert.equal(seen[0]?.loaderExit, 0);
});

test('a program missing, a library missing, a script and a file that is no program are each told apart', async () => {
  const r = await node.exec(
    [
      'bash',
      '-c',
      `set -e
cp /bin/ps ${BOX}/bin/ps
printf '#!/bin/sh\\necho hi\\n' > ${BOX}/bin/hello
printf 'plain text' > ${BOX}/bin/notes`,
    ],
    {},
  );
  assert.equal(r.code, 0, describeExec(r));
  const [missing, noLibrary, script, text] = await problemsOf(['/bin/kill', '/bin/ps', '/bin/hello', '/bin/notes']);
  assert.match(missing ?? '', /\/srv\/box\/bin\/kill does not exist/);
  assert.match(noLibrary ?? '', /\/bin\/ps: the loader inside \/srv\/box failed: .*libproc2\.so\.0/);
  assert.equal(script, undefined, 'a script needs no loader');
  assert.match(text ?? '', /is not a program \(no ELF header\)/);
});

test('a loader that never ends is the box’s problem, named, once its deadline is spent; not a grader error', {
  timeout: 120_000,
}, async () => {
  // A copy of true whose ELF names another loader (a path of the same length), and that loader a script that spins.
  const r = await node.exec(
    [
      'bash',
      '-c',
      `set -e
python3 - <<'PY'
data = open('/bin/true', 'rb').read()
old = b'/lib64/ld-linux-x86-64.so.2'
assert old in data
open('${BOX}/bin/spin', 'wb').write(data.replace(old, b'/lib64/ld-spins-x86-64.so.2'))
PY
chmod +x ${BOX}/bin/spin
printf '#!/bin/bash\\nwhile :; do :; done\\n' > ${BOX}/lib64/ld-spins-x86-64.so.2
chmod +x ${BOX}/lib64/ld-spins-x86-64.so.2`,
    ],
    {},
  );
  assert.equal(r.code, 0, describeExec(r));
  const [spin] = await problemsOf(['/bin/spin']);
  assert.match(spin ?? '', /\/bin\/spin: the loader inside \/srv\/box failed: the loader did not finish within 20 s/);
  const left = await node.exec(['bash', '-c', 'pgrep -f "ld-[s]pins" || true'], {});
  assert.equal(left.stdout.trim(), '', 'the spinning loader was killed');
});
