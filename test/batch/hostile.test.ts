/**
 * Hostile submissions graded in one batch with correct ones (the real lab labs/ch01-isolation,
 * copied with a shorter script deadline and only its three graded chroot scenarios, the ones that
 * run make-root.sh, in real userns sandboxes, two at a time): a make-root.sh
 * that forks without end, fills the disk, prints without end, runs `kill -9 -1`, runs
 * `rm -rf --no-preserve-root /`, sleeps forever, looks for other students' files and the
 * reference (find /, /proc/<pid>/root, the host's temp folder and the lab's folder) and prints
 * what it finds, builds a cgroup chain longer than PATH_MAX with a process in it, or looks for
 * other sandboxes' kernel keys. The correct submissions keep full marks, each hostile one gets a grade, the snoop
 * finds only its own file, and afterwards the host is fine and nothing is left behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import type { StoredResult } from '../../src/batch/records.js';
import { assertNothingLeft, requireDocker, strayTraces, workspacesOf } from '../helpers/grading.js';
import { hostPidsWithArgv, MiB, randomTag } from '../helpers/hostile.js';
import { sandboxDisk } from '../../src/config.js';
import { asFolder, batch, copyLab, show, stored, type BatchRun } from '../helpers/batch.js';

const T = { timeout: 600_000 };
const SCRIPT_TIMEOUT_S = 6;
const TAG = randomTag();
/** A sleep no other process on this machine runs: found (or not) on the host afterwards. */
const SLEEP_ARG = String(8_640_000 + (parseInt(TAG.slice(0, 4), 16) % 100_000));

const HOSTILE: Record<string, string> = {
  'h-forkbomb': ':(){ :|:& };:',
  'h-filldisk':
    'cat /dev/zero > /filler 2>/dev/null\nmkdir -p "$1" && cat /dev/zero > "$1/more" 2>/dev/null\necho "LAYER $(df -B1 -P / | tail -n 1)" >&2\n# exits non-zero so that its stderr goes into the notes\nexit 3',
  'h-flood': "yes 'all work and no play'",
  'h-killall': 'kill -9 -1',
  'h-rmrf': 'rm -rf --no-preserve-root / 2>/dev/null\nexit 0',
  'h-sleeper': `exec sleep ${SLEEP_ARG}`,
  'h-snoop': `# owner: KGRADE-MARK-snoop-${TAG}
found=$(find / \\( -path /proc -o -path /sys \\) -prune -o -name make-root.sh -print 2>/dev/null | sort | tr '\\n' ' ')
others=$(ls -d /proc/[0-9]*/root/submission/make-root.sh /proc/[0-9]*/root/*/make-root.sh /tmp/kgrade-sub-*/files/make-root.sh ${'/work/main/labs/ch01-isolation/reference/make-root.sh'} /root/*/make-root.sh 2>/dev/null | tr '\\n' ' ')
markers=$(cat $found $others 2>/dev/null | grep -o 'KGRADE-MAR[K]-[A-Za-z0-9-]*' | sort -u | paste -sd ' ' -)
if cat $found $others 2>/dev/null | grep -q 'its librar[i]es and its loader'; then ref=yes; else ref=no; fi
echo "FOUND $found" >&2
echo "MARKERS $markers" >&2
echo "REFSEEN $ref" >&2
exit 3`,
};
const GOOD = ['good-1', 'good-2'];
// Added beside the others (issue 12): a cgroup chain longer than PATH_MAX, and a look for other sandboxes' keys.
HOSTILE['h-deepcgroup'] = `n=$(printf 'd%.0s' $(seq 250))
for c in memory pids cpu; do (cd /sys/fs/cgroup/$c || exit 1; for i in $(seq 20); do mkdir "$n" && cd "$n" || exit 1; done; sleep 100000 >/dev/null 2>&1 </dev/null & echo $! > cgroup.procs); done
exit 0`;
HOSTILE['h-keys'] = `m=KGRADE-MARK-key-$RANDOM$RANDOM
python3 -c "import ctypes; ctypes.CDLL(None).syscall(248, b'user', b'$m', b'x', 1, -3)"
sleep 2
echo "KEYS $(grep -o 'KGRADE-MARK-key-[0-9]*' /proc/keys | sort -u | paste -sd ' ' -) SELF $m" >&2
exit 3`;

let root = '';
let run: BatchRun;
const results = new Map<string, StoredResult>();

function explain(s: StoredResult | undefined): string {
  return `\n${JSON.stringify(s?.result?.scenarios.map((x) => ({ name: x.name, outcome: x.outcome, message: x.message.slice(0, 300), notes: x.notes })) ?? s, null, 2)}`;
}

before(async () => {
  await requireDocker();
  root = await mkdtemp(path.join(os.tmpdir(), 'kgrade-bt-hostile-'));
  const lab = await copyLab(root, undefined, {
    timeouts: { script: SCRIPT_TIMEOUT_S },
    withoutCourseChecks: true,
    withoutFeatures: ['same-port.feature'],
  });
  const subs = path.join(root, 'submissions');
  for (const id of GOOD) await asFolder(lab, 'reference', subs, id);
  await appendFile(path.join(subs, 'good-2', 'make-root.sh'), `# owner: KGRADE-MARK-good2-${TAG}\n`);
  for (const [id, body] of Object.entries(HOSTILE)) {
    await asFolder(lab, 'reference', subs, id);
    await writeFile(path.join(subs, id, 'make-root.sh'), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  }
  run = await batch(lab, subs, path.join(root, 'out'), [], { timeoutMs: 560_000 });
  for (const id of [...GOOD, ...Object.keys(HOSTILE)]) results.set(id, await stored(path.join(root, 'out'), id));
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test(
  'the correct submissions graded in the same batch keep full marks, every scenario passed, first attempt',
  T,
  async () => {
    for (const id of GOOD) {
      const s = results.get(id);
      assert.equal(s?.status, 'graded', `${id}${explain(s)}\n${show(run)}`);
      assert.equal(s?.result?.score, 7, `${id}${explain(s)}`);
      assert.equal(s?.attempts, 1, id);
      assert.deepEqual(
        s?.result?.scenarios.map((x) => x.outcome),
        Array(3).fill('passed'),
        `${id}${explain(s)}`,
      );
    }
  },
);

test(
  'every hostile submission gets a grade, with less than full marks, and the batch says all were graded',
  T,
  async (t) => {
    t.diagnostic(
      `batch: ${Math.round(run.wallMs / 1000)} s; ${run.lines.map((l) => `${l.student} ${l.score}/${l.maxScore} in ${Math.round(l.durationMs / 1000)} s`).join(', ')}`,
    );
    assert.equal(run.code, 0, show(run));
    assert.equal(run.lines.length, GOOD.length + Object.keys(HOSTILE).length);
    for (const id of Object.keys(HOSTILE)) {
      const s = results.get(id);
      assert.equal(s?.status, 'graded', `${id}${explain(s)}`);
      assert.ok((s?.result?.score ?? 7) < 7, `${id}: ${s?.result?.score}${explain(s)}`);
    }
  },
);

test('what each hostile script ran into is in its feedback', T, async () => {
  const messages = (id: string) =>
    results
      .get(id)
      ?.result?.scenarios.map((x) => `${x.message}\n${x.notes.join('\n')}`)
      .join('\n') ?? '';
  assert.match(
    messages('h-sleeper'),
    new RegExp(`make-root\\.sh /srv/newroot did not finish within ${SCRIPT_TIMEOUT_S} s`),
    explain(results.get('h-sleeper')),
  );
  // yes(1) stops by itself once its output fills the space the sandbox gives script output
  assert.match(
    messages('h-flood'),
    new RegExp(`make-root\\.sh /srv/newroot (exited [1-9]|did not finish within ${SCRIPT_TIMEOUT_S} s)`),
    explain(results.get('h-flood')),
  );
  assert.match(
    messages('h-rmrf'),
    /after make-root\.sh ran, the node (lost .+|cannot run programs anymore .*)/,
    explain(results.get('h-rmrf')),
  );
  assert.match(
    messages('h-killall'),
    /make-root\.sh \/srv\/newroot (ended with no exit status|exited \d+)/,
    explain(results.get('h-killall')),
  );
});

test(
  "the snoop finds only its own script: no other student's file, no reference, from find / or /proc/*/root or the host's paths",
  T,
  async () => {
    const s = results.get('h-snoop');
    const notes = s?.result?.scenarios.flatMap((x) => x.notes).filter((n) => n.includes('FOUND ')) ?? [];
    assert.ok(notes.length >= 3, `the snoop ran in each scenario that runs make-root.sh${explain(s)}`);
    for (const n of notes) {
      assert.match(n, /FOUND [^|]*\/submission\/make-root\.sh/, `it can see files at all: its own\n${n}`);
      assert.match(n, new RegExp(`MARKERS KGRADE-MARK-snoop-${TAG} \\| `), `only its own marker\n${n}`);
      assert.doesNotMatch(n, /KGRADE-MARK-good2/, n);
      assert.match(n, /REFSEEN no$/, n);
    }
  },
);

test('the key hunter sees its own key only, none of the sandboxes graded beside it', T, async () => {
  const s = results.get('h-keys');
  const notes = s?.result?.scenarios.flatMap((x) => x.notes).filter((n) => n.includes('KEYS ')) ?? [];
  assert.ok(notes.length >= 3, `it ran in each scenario that runs make-root.sh${explain(s)}`);
  for (const n of notes) {
    const [, seen = '', self = ''] = /KEYS (.*) SELF (\S+)/.exec(n) ?? [];
    assert.equal(seen.trim(), self, n);
  }
});

test('the host is fine and nothing is left behind', T, async () => {
  assert.equal(execFileSync('sh', ['-c', 'echo host ok'], { encoding: 'utf8', timeout: 10_000 }).trim(), 'host ok');
  const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 60_000 });
  assert.equal(info.exitCode, 0, info.stderr);
  // The filler's disk, as df in its sandbox saw it once full: the sandbox's writable layer, of the
  // sandbox's own size cap, and full (the host's free disk moves with all other work on the machine).
  const cap =
    Number(/^\d+/.exec(sandboxDisk())?.[0]) * 1024 ** ('kmgt'.indexOf(sandboxDisk().slice(-1).toLowerCase()) + 1);
  const layers = (results.get('h-filldisk')?.result?.scenarios.flatMap((x) => x.notes) ?? []).flatMap((n) => [
    ...n.matchAll(/LAYER \S+ +(\d+) +(\d+) +(\d+) /g),
  ]);
  assert.ok(layers.length >= 1, `the filler reported its disk${explain(results.get('h-filldisk'))}`);
  for (const [line, size, , avail] of layers) {
    assert.equal(
      Number(size),
      cap,
      `the filler wrote to a disk of the sandbox's cap (KGRADE_SANDBOX_DISK=${sandboxDisk()}): ${line}`,
    );
    assert.ok(Number(avail) < MiB, `and filled it up to the cap: ${line}`);
  }
  assert.deepEqual(hostPidsWithArgv(['sleep', SLEEP_ARG]), [], 'the sleeper is gone with its sandbox');
  await assertNothingLeft([run.pid]);
  assert.deepEqual(await strayTraces(), []);
  for (const id of [...GOOD, ...Object.keys(HOSTILE)])
    assert.deepEqual(await workspacesOf(id), [], `no private copy of ${id} left`);
  assert.deepEqual(
    (await readdir(os.tmpdir())).filter((n) => n.startsWith(`kgrade-unpack-${run.pid}-`)),
    [],
  );
  const log = await readFile(path.join(root, 'out', 'logs', 'h-forkbomb.log'), 'utf8');
  assert.match(log, /== \S+ graded: /, log);
});
