/**
 * The OOM killer inside a VM sandbox reaches the commands the guest agent runs: a process over
 * its memory cgroup's limit is killed, as on a host, instead of hanging in its page fault for
 * want of anything killable (the agent once gave every command its own oom_score_adj of -1000).
 * ch03's cgroup scenario runs `ls` in a 10-byte cgroup; with the hang it waited out the step's
 * deadline on every reference submission. Needs images/vm/build.sh; nothing here is timed.
 *
 * node --test --test-concurrency=1 dist/test/vm/vm-oom.test.js
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeImageRef } from '../../src/env/images.js';
import { describeExec } from '../../src/node.js';
import { startSandbox, type Sandbox } from '../../src/env/sandbox/index.js';
import { vmImagesReady } from '../../src/env/sandbox/vm-images.js';

const BOOT = { timeout: 600_000 };
const started: Sandbox[] = [];

before(() => {
  if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
});

after(async () => {
  for (const sb of started) await sb.destroy().catch(() => undefined);
});

/** A memory cgroup of 10 bytes, a shell moved into it, ls run there; the shell reports how ls ended. */
const LS_IN_TINY_CGROUP: Record<'v1' | 'v2', string> = {
  v1: `set -e
d=/sys/fs/cgroup/memory/tiny
mkdir -p $d
echo 10 > $d/memory.limit_in_bytes
set +e
bash -c "echo \\$\\$ > $d/tasks; ls /"
echo "status=$?"`,
  v2: `set -e
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
d=/sys/fs/cgroup/tiny
mkdir -p $d
echo 10 > $d/memory.max
echo 0 > $d/memory.swap.max
set +e
bash -c "echo \\$\\$ > $d/cgroup.procs; ls /"
echo "status=$?"`,
};

for (const cgroup of ['v1', 'v2'] as const) {
  test(
    `cgroup ${cgroup}: a command over its memory cgroup's limit is killed by the OOM killer, not left hanging`,
    BOOT,
    async () => {
      const sb = await startSandbox('vm', {
        image: nodeImageRef(),
        runId: `vmoom-${process.pid}`,
        purpose: 'vm-oom-test',
        cgroup,
      });
      started.push(sb);
      const adj = await sb.exec(['cat', '/proc/self/oom_score_adj']);
      assert.equal(adj.stdout.trim(), '0', `a command's oom_score_adj: ${describeExec(adj)}`);
      const r = await sb.exec(['bash', '-c', LS_IN_TINY_CGROUP[cgroup]], { timeoutMs: 120_000 });
      assert.equal(r.timedOut, false, `ls in the 10-byte cgroup hung: ${describeExec(r)}`);
      // 137: SIGKILL from the OOM killer; ls (or the bash that would start it) may also fail to fork.
      assert.match(r.stdout, /status=(137|1|2|126)\b/, describeExec(r));
      assert.doesNotMatch(r.stdout, /\bbin\b.*\betc\b/s, `ls ran in a 10-byte cgroup: ${describeExec(r)}`);
      const log = await sb.exec([
        'bash',
        '-c',
        'dmesg | grep -c "Memory cgroup out of memory: Killed process" || true',
      ]);
      assert.ok(
        Number(log.stdout.trim()) > 0,
        `the guest kernel logged no memory cgroup OOM kill: ${describeExec(log)}`,
      );
      // The agent, PID 1, is never the OOM killer's choice: it still runs commands.
      const alive = await sb.exec(['true']);
      assert.equal(alive.code, 0, describeExec(alive));
      await sb.destroy();
    },
  );
}
