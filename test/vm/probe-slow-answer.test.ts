/**
 * A node that answers a test host late is not read as one that drops its traffic. The probe behind
 * "the node answers test host" waits 1 s for ping and TCP at once, and a probe that missed an
 * answer is tried again with 4 s. Here the test host's own link holds every packet 1.5 s (netem,
 * which the VM's kernel has and this host's may not): the 1 s probe alone sees silence, the check's
 * probe sees both answers. A test host whose traffic the node drops stays silent in both, and a
 * listener a script killed is started again before a probe.
 * Needs images/vm/build.sh; nothing here is timed.
 *
 * node --test --test-concurrency=1 dist/test/vm/probe-slow-answer.test.js
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeImageRef } from '../../src/env/images.js';
import { sh } from '../../src/node.js';
import { startSandbox, type Sandbox } from '../../src/env/sandbox/index.js';
import { vmImagesReady } from '../../src/env/sandbox/vm-images.js';
import { addTestHost, probeExpectingAnswer, probeNodeFrom } from '../../src/env/testhost.js';

let sb: Sandbox | undefined;

before(() => {
  if (!vmImagesReady()) throw new Error('the VM images are not built: run images/vm/build.sh');
});

after(async () => {
  await sb?.destroy().catch(() => undefined);
});

test('an answer that comes after the first wait still counts; a drop stays a drop', { timeout: 600_000 }, async () => {
  sb = await startSandbox('vm', { image: nodeImageRef(), runId: `probe-${process.pid}`, purpose: 'probe-test' });
  const slow = await addTestHost(sb, 'slow', '10.1.2.4/24');
  const delay = await sh(sb, 'ip netns exec slow tc qdisc add dev eth0 root netem delay 1500ms && echo delayed');
  assert.match(delay.stdout, /delayed/, `netem in the VM: ${delay.stderr}`);

  const once = await probeNodeFrom(sb, slow);
  assert.deepEqual([once.icmp, once.tcp], [false, false], `the 1 s probe alone should miss: ${once.detail}`);
  const checked = await probeExpectingAnswer(sb, slow);
  assert.deepEqual([checked.icmp, checked.tcp], [true, true], checked.detail);
  assert.match(checked.detail, /probed twice/);

  // A script may kill the node's listener: the probe starts it again rather than read the closed port as a drop.
  const killed = await sh(sb, 'pkill -x socat && ! ss -ltn | grep -q ":18080 " && echo killed');
  assert.match(killed.stdout, /killed/, killed.stderr);
  const blocked = await addTestHost(sb, 'blocked', '10.1.2.3/24');
  const fast = await probeExpectingAnswer(sb, blocked);
  assert.deepEqual([fast.icmp, fast.tcp], [true, true], `before the rule: ${fast.detail}`);
  assert.doesNotMatch(fast.detail, /probed twice/, 'a prompt answer needs one probe');
  const rule = await sh(sb, 'iptables -A INPUT -s 10.1.2.3 -j DROP && echo added');
  assert.match(rule.stdout, /added/, rule.stderr);
  const dropped = await probeExpectingAnswer(sb, blocked);
  assert.deepEqual([dropped.icmp, dropped.tcp], [false, false], dropped.detail);
});
