import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/*
 * images/vm/kernel-route.sh's choice of the apt that fetches the VM's kernel: the host's where it
 * knows Debian's package, the node image's where it does not (an Ubuntu runner). apt-cache is a
 * shell function here, answering as a Debian host (knows the package) or an Ubuntu one (does not);
 * the real fetch on both routes is images/vm/build.sh's, run by scripts/test.sh's VM stage and,
 * forced to node-image, by hand (README, "VM sandboxes").
 */

const LIB = fileURLToPath(new URL('../../../images/vm/kernel-route.sh', import.meta.url));
const PACKAGE = 'linux-image-cloud-amd64';

const DEBIAN_APT = `apt-cache() { [[ $1 == show && $2 == --no-all-versions && $3 == ${PACKAGE} ]]; }`;
const UBUNTU_APT = `apt-cache() { echo "E: No packages found" >&2; return 100; }`;

function route(apt: string, from?: string, path = '/usr/bin:/bin') {
  const r = spawnSync(
    '/bin/bash',
    ['--norc', '--noprofile', '-c', `${apt}\n. "$1"; kernel_route ${PACKAGE}`, 'route', LIB],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: path, ...(from !== undefined ? { KGRADE_VM_KERNEL_FROM: from } : {}) },
    },
  );
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

test('auto: the host apt where it knows the kernel package, the node image where it does not', () => {
  assert.deepEqual(route(DEBIAN_APT), { code: 0, out: 'host', err: '' });
  assert.deepEqual(route(UBUNTU_APT), { code: 0, out: 'node-image', err: '' });
  assert.deepEqual(route(DEBIAN_APT, 'auto'), { code: 0, out: 'host', err: '' });
  assert.deepEqual(route(DEBIAN_APT, ''), { code: 0, out: 'host', err: '' }, 'empty counts as unset');
  // A host without apt at all.
  assert.deepEqual(route('', undefined, '/nonexistent'), { code: 0, out: 'node-image', err: '' });
});

test('KGRADE_VM_KERNEL_FROM forces a route whatever the host apt knows', () => {
  assert.equal(route(UBUNTU_APT, 'host').out, 'host');
  assert.equal(route(DEBIAN_APT, 'node-image').out, 'node-image');
});

test('KGRADE_VM_KERNEL_FROM with another value is refused, naming the values it takes', () => {
  const r = route(DEBIAN_APT, 'ubuntu');
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /KGRADE_VM_KERNEL_FROM=ubuntu: expected host, node-image or auto/);
});
