/**
 * A node image that lacks one of the images the cluster needs (CoreDNS here,
 * which the local registry does not serve either): grading a cluster lab on it
 * must end in exit 3 with a message naming the pod that cannot start and why,
 * never in a student's failed. A second kind cluster of its own is used, so the
 * main one (and its registry and network) stays as it is.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from '../../src/vendor/execa.js';
import { defaultKindOptions, KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/paths.js';
import { KGRADE_BIN } from '../helpers/grading.js';

const SMOKE = path.join(REPO_ROOT, 'labs/smoke-cluster');
const BROKEN_IMAGE = 'kgrade/kind-node:test-without-coredns';
const CLUSTER = 'kgrade-broken-image';
const BUILDER = `kgrade-test-broken-image-${process.pid}`;
const env = {
  ...process.env,
  KGRADE_CLUSTER: CLUSTER,
  KGRADE_KIND_IMAGE: BROKEN_IMAGE,
  KGRADE_CLUSTER_READY_SECONDS: '90',
};
const kubeconfig = path.join(os.homedir(), '.kube', 'kgrade', `kind-${CLUSTER}.yaml`);

async function docker(...args: string[]) {
  return execa('docker', args, { reject: false, timeout: 300_000 });
}

before(async () => {
  const base = defaultKindOptions().image;
  // The real node image, with CoreDNS's image removed from containerd's store.
  const started = await docker(
    'run',
    '-d',
    '--name',
    BUILDER,
    '--privileged',
    '--entrypoint',
    '/bin/sleep',
    base,
    'infinity',
  );
  assert.equal(started.exitCode, 0, started.stderr);
  try {
    const coredns = (
      await execa('bash', ['-c', '. images/k8s/versions.env && echo "$COREDNS_VERSION"'], { cwd: REPO_ROOT })
    ).stdout.trim();
    const removed = await docker(
      'exec',
      BUILDER,
      'bash',
      '-c',
      `containerd >/tmp/containerd.log 2>&1 &
for i in $(seq 30); do ctr version >/dev/null 2>&1 && break; sleep 1; done
ctr -n k8s.io images rm registry.k8s.io/coredns/coredns:${coredns} || exit 1
ctr -n k8s.io images ls -q | grep -c coredns && exit 1
kill %1; wait`,
    );
    assert.equal(
      removed.exitCode,
      0,
      `could not remove CoreDNS from the node image: ${removed.stdout}${removed.stderr}`,
    );
    const committed = await docker(
      'commit',
      '--change',
      'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
      '--change',
      'CMD []',
      BUILDER,
      BROKEN_IMAGE,
    );
    assert.equal(committed.exitCode, 0, committed.stderr);
  } finally {
    await docker('rm', '-f', '-v', BUILDER);
  }
});

after(async () => {
  await execa('node', [KGRADE_BIN, 'cluster', 'down'], { env, reject: false, timeout: 300_000 });
  await docker('rmi', BROKEN_IMAGE);
});

test('a node image missing CoreDNS: grading a cluster lab is an error naming the missing image at once, never a zero; down removes it, the main cluster stays', {
  timeout: 900_000,
}, async (t) => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'kgrade-broken-image-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const r = await execa(
    'node',
    [KGRADE_BIN, 'grade', SMOKE, '--submission', path.join(SMOKE, 'reference'), '--out', out],
    {
      env,
      reject: false,
      timeout: 600_000,
    },
  );
  const log = `\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.exitCode, 3, log);
  assert.match(r.stderr, /kube-system\/coredns-[\w-]+ is Pending.*\((ErrImagePull|ImagePullBackOff)\)/, log);
  // Told at once, not after the readiness deadline: the registry answered "not found".
  assert.match(r.stderr, new RegExp(`node image ${BROKEN_IMAGE} lacks registry\\.k8s\\.io/coredns/coredns`), log);
  assert.doesNotMatch(r.stderr, /within 90 s/, log);
  t.diagnostic(
    r.stderr
      .split('\n')
      .filter((l) => /lacks/.test(l))
      .join('\n'),
  );
  assert.doesNotMatch(r.stdout, /✘|FAIL/, log);
  assert.equal(existsSync(path.join(out, 'results.json')), false, 'no score was written for a grade that never ran');

  const down = await execa('node', [KGRADE_BIN, 'cluster', 'down'], { env, reject: false, timeout: 300_000 });
  assert.equal(down.exitCode, 0, down.stderr);
  const left = await docker('ps', '-a', '--filter', `label=io.x-k8s.kind.cluster=${CLUSTER}`, '--format', '{{.Names}}');
  assert.equal(left.stdout.trim(), '', 'node containers left behind');
  assert.equal(existsSync(kubeconfig), false, `kubeconfig left at ${kubeconfig}`);
  const main = await new KindProvider().status();
  assert.deepEqual(main.problems, [], 'the main cluster is still healthy');
});
