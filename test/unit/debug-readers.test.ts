import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linesInOrder } from '../../src/check/lines.js';
import { namesService, pingErrors, pingRuns } from '../../src/check/ping.js';
import { sameProgram } from '../../src/check/same-program.js';
import { parseImageRef, pinning } from '../../src/kube/image-ref.js';
import { manifestBytes, parseSize, parseUsage } from '../../src/kube/image-size.js';
import { parseWriteProbe } from '../../src/kube/volume-files.js';

test('image references: a tag after the last slash, a registry port before it, a digest', () => {
  assert.deepEqual(parseImageRef('busybox'), { repository: 'busybox' });
  assert.deepEqual(parseImageRef('busybox:1.36'), { repository: 'busybox', tag: '1.36' });
  assert.deepEqual(parseImageRef('localhost:5000/busybox'), { repository: 'localhost:5000/busybox' });
  assert.deepEqual(parseImageRef('localhost:5000/library/busybox:1.36'), {
    repository: 'localhost:5000/library/busybox',
    tag: '1.36',
  });
  assert.deepEqual(parseImageRef('busybox:1.36@sha256:abc'), {
    repository: 'busybox',
    tag: '1.36',
    digest: 'sha256:abc',
  });
  assert.deepEqual(parseImageRef('docker.io/library/busybox@sha256:abc'), {
    repository: 'docker.io/library/busybox',
    digest: 'sha256:abc',
  });
});

test('pinned: a tag other than latest, or a digest; not latest, not no tag', () => {
  for (const ref of [
    'busybox:1.36',
    'docker.io/library/busybox:1.36.1',
    'busybox@sha256:8e1b',
    'busybox:latest@sha256:8e1b',
    'localhost:5000/busybox:1.36',
  ]) {
    assert.equal(pinning(ref).pinned, true, ref);
  }
  for (const ref of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', 'localhost:5000/busybox']) {
    assert.equal(pinning(ref).pinned, false, ref);
  }
});

const BUSYBOX_PING = `--- Pinging ping-target (3 times) ---
PING ping-target (10.244.0.27): 56 data bytes
64 bytes from 10.244.0.27: seq=0 ttl=63 time=0.428 ms

--- ping-target ping statistics ---
3 packets transmitted, 3 packets received, 0% packet loss
round-trip min/avg/max = 0.094/0.209/0.428 ms

--- Pod is now sleeping. Use 'kubectl exec' to get a shell. ---
`;

test('ping statistics: busybox and iputils forms, and the lines where ping could not start', () => {
  assert.deepEqual(pingRuns(BUSYBOX_PING), [{ target: 'ping-target', transmitted: 3, received: 3 }]);
  const iputils =
    '--- web.ns.svc.cluster.local ping statistics ---\n4 packets transmitted, 0 received, 100% packet loss, time 3062ms\n';
  assert.deepEqual(pingRuns(iputils), [{ target: 'web.ns.svc.cluster.local', transmitted: 4, received: 0 }]);
  assert.deepEqual(pingRuns("ping: bad address 'ping-target.default.svc.cluster.local'\n"), []);
  assert.deepEqual(pingErrors("--- Pinging ---\nping: bad address 'x'\n"), ["ping: bad address 'x'"]);
});

test('a ping names the service by short name, with its namespace, by full name or by address', () => {
  const ips = ['10.244.0.27'];
  for (const t of [
    'ping-target',
    'Ping-Target',
    'ping-target.ns1',
    'ping-target.ns1.svc',
    'ping-target.ns1.svc.cluster.local',
    'ping-target.ns1.svc.cluster.local.',
    'ping-target.ns1.svc.example.org',
    '10.244.0.27',
  ]) {
    assert.equal(namesService(t, 'ping-target', 'ns1', ips), true, t);
  }
  for (const t of ['ping-target.default.svc.cluster.local', 'web', '10.244.0.28', 'ping-targetx', 'ping-target.ns1x']) {
    assert.equal(namesService(t, 'ping-target', 'ns1', ips), false, t);
  }
});

test('lines in order: each wanted text on a later line, letter case ignored', () => {
  assert.deepEqual(linesInOrder(BUSYBOX_PING, ['pinging', 'ping statistics', 'SLEEPING']), {
    found: 3,
    matched: [
      '--- Pinging ping-target (3 times) ---',
      '--- ping-target ping statistics ---',
      "--- Pod is now sleeping. Use 'kubectl exec' to get a shell. ---",
    ],
  });
  assert.equal(linesInOrder(BUSYBOX_PING, ['sleeping', 'ping statistics']).found, 1);
  assert.equal(
    linesInOrder('PING ping-target (10.0.0.1): 56 data bytes\n', ['pinging']).found,
    0,
    "ping's own PING line is no header",
  );
});

test('the same program: a symbolic link, a hard link, a copy, or none', () => {
  const read = (out: string) => sameProgram(out, '/bin/ls', '/bin/busybox');
  const form = (out: string) => {
    const v = read(out);
    return v.same ? v.form : 'none';
  };
  const symlink = 'link=busybox\nresolved=/bin/busybox\nprogram=/bin/busybox\ninodes=192:12 192:12 \nbytes=same\n';
  assert.deepEqual(read(symlink), {
    same: true,
    form: 'symlink',
    detail: '/bin/ls is a symbolic link (-> busybox) to /bin/busybox',
  });
  assert.equal(form('link=\nresolved=/bin/ls\nprogram=/bin/busybox\ninodes=64:7 64:7 \nbytes=same\n'), 'hardlink');
  assert.equal(form('link=\nresolved=/bin/ls\nprogram=/bin/busybox\ninodes=64:7 64:9 \nbytes=same\n'), 'copy');
  assert.equal(
    form(
      'link=../usr/bin/coreutils\nresolved=/usr/bin/coreutils\nprogram=/bin/busybox\ninodes=64:7 64:9 \nbytes=differ\n',
    ),
    'none',
  );
  const other = read('link=\nresolved=/bin/ls\nprogram=/bin/busybox\ninodes=64:7 64:9 \nbytes=differ\n');
  assert.equal(other.same, false);
  assert.match(other.detail, /not a symbolic link; inodes 64:7 and 64:9; contents differ/);
});

test("image sizes: ctr's human sizes, images usage rows, a manifest's config and layers", () => {
  assert.equal(parseSize('2.0 MiB'), 2 * 1024 * 1024);
  assert.equal(parseSize('512 B'), 512);
  assert.equal(parseSize('1.5 KiB'), 1536);
  assert.equal(parseSize('lots'), undefined);
  const usage =
    'KEY                                                                     SIZE    INODES \nsha256:56bf21c75fddccbe4def705bf85173b5bac5835ab12110096e61523345e6afb9 2.0 MiB 288    \nsha256:0000 4.0 KiB 3\n';
  assert.equal(parseUsage(usage), 2 * 1024 * 1024 + 4096);
  assert.equal(parseUsage('KEY SIZE INODES\n'), undefined);
  assert.equal(manifestBytes({ config: { size: 1058 }, layers: [{ size: 1069827 }] }), 1070885);
  assert.equal(manifestBytes({ manifests: [] }), undefined);
});

test('write probe: one line per file found, with the uid and the error that kept it from being written', () => {
  const out =
    "uid\t0\nno\t/config/config.txt\tsh: can't create /config/config.txt: Read-only file system\nok\t/config/sub/config.txt\n";
  assert.deepEqual(parseWriteProbe('app', out), [
    {
      container: 'app',
      path: '/config/config.txt',
      uid: '0',
      writable: false,
      error: "sh: can't create /config/config.txt: Read-only file system",
    },
    { container: 'app', path: '/config/sub/config.txt', uid: '0', writable: true, error: '' },
  ]);
  assert.deepEqual(parseWriteProbe('app', 'uid\t1000\n'), []);
});
