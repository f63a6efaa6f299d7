/** What a pod looks like from inside and from its node: mountinfo, ip a, ip route, resolv.conf, nslookup, quantities, images, argv. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains } from '../../src/check/iptables.js';
import { isCniDaemon } from '../../src/kube/control-plane.js';
import {
  argvIs,
  descendants,
  nslookupAnswers,
  parseIpAddr,
  parseIpRoute,
  parseMountinfo,
  resolvNameservers,
  routeFor,
} from '../../src/check/listing.js';
import { imageName } from '../../src/kube/image-ref.js';
import { parseContainerInfo, quantityBytes } from '../../src/kube/pod-node.js';

test('parseMountinfo: root and mount point, octal escapes undone', () => {
  const text = [
    '662 600 0:120 / / rw,relatime master:200 - overlay overlay rw,lowerdir=/x',
    '718 662 254:0 /var/lib/docker/volumes/0f1e/_data/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/16e3/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw,discard',
    '719 662 254:0 /data/my\\040dir /mnt/with\\040space rw shared:1 - ext4 /dev/vda rw',
  ].join('\n');
  const m = parseMountinfo(text);
  assert.equal(m.length, 3);
  const resolv = m.find((e) => e.mountPoint === '/etc/resolv.conf');
  assert.equal(
    resolv?.root,
    '/var/lib/docker/volumes/0f1e/_data/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/16e3/resolv.conf',
  );
  assert.equal(resolv?.fsType, 'ext4');
  assert.equal(resolv?.majorMinor, '254:0');
  assert.equal(m[2]?.mountPoint, '/mnt/with space');
  assert.equal(m[2]?.root, '/data/my dir');
});

test('parseIpAddr: busybox ip a in a pod: eth0, its peer index and addresses', () => {
  const text = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host 
       valid_lft forever preferred_lft forever
2: tunl0@NONE: <NOARP> mtu 1480 qdisc noop qlen 1
    link/ipip 0.0.0.0 brd 0.0.0.0
5: eth0@if10: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue qlen 1000
    link/ether a2:1d:fc:48:f8:ca brd ff:ff:ff:ff:ff:ff
    inet 10.244.0.7/24 brd 10.244.0.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::a01d:fcff:fe48:f8ca/64 scope link 
       valid_lft forever preferred_lft forever
`;
  const ifs = parseIpAddr(text);
  assert.deepEqual(
    ifs.map((i) => i.name),
    ['lo', 'tunl0', 'eth0'],
  );
  const eth0 = ifs.find((i) => i.name === 'eth0');
  assert.equal(eth0?.index, 5);
  assert.equal(eth0?.peerIndex, 10);
  assert.deepEqual(eth0?.addresses, [
    { family: 'inet', address: '10.244.0.7', prefix: 24 },
    { family: 'inet6', address: 'fe80::a01d:fcff:fe48:f8ca', prefix: 64 },
  ]);
  assert.equal(ifs.find((i) => i.name === 'tunl0')?.peerIndex, undefined);
  const oneLine = parseIpAddr(
    '2: eth0    inet 10.244.0.9/24 brd 10.244.0.255 scope global eth0\\       valid_lft forever',
  );
  assert.deepEqual(oneLine[0]?.addresses, [{ family: 'inet', address: '10.244.0.9', prefix: 24 }]);
});

test("parseIpRoute and routeFor: the pod's host route wins over the node's subnet and default", () => {
  const routes = parseIpRoute(`default via 172.18.0.1 dev eth0 
10.244.0.4 dev veth0c0fb7ef scope host 
10.244.0.7 dev vethf3f759f1 scope host 
10.244.1.0/24 via 172.18.0.3 dev eth0 
172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2 
`);
  assert.deepEqual(routeFor(routes, '10.244.0.7', cidrContains), { destination: '10.244.0.7', dev: 'vethf3f759f1' });
  assert.deepEqual(routeFor(routes, '10.244.1.5', cidrContains), {
    destination: '10.244.1.0/24',
    dev: 'eth0',
    via: '172.18.0.3',
  });
  assert.equal(routeFor(routes, '10.244.0.99', cidrContains)?.destination, 'default');
});

test('resolvNameservers', () => {
  assert.deepEqual(
    resolvNameservers('search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n'),
    ['10.96.0.10'],
  );
  assert.deepEqual(resolvNameservers('# nameserver 1.1.1.1\nnameserver 172.18.0.1\n nameserver  10.0.0.2'), [
    '172.18.0.1',
    '10.0.0.2',
  ]);
});

test("nslookupAnswers: only what was answered for the name, not the server's own address", () => {
  const busybox =
    'Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n';
  assert.deepEqual(nslookupAnswers(busybox), ['10.96.0.1']);
  const nx =
    "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find kubernetes.default.svc.cluster.local: NXDOMAIN\n";
  assert.deepEqual(nslookupAnswers(nx), [], '10.96.0.10 contains 10.96.0.1 as text: the server line must not count');
  const bind =
    'Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n';
  assert.deepEqual(nslookupAnswers(bind), ['10.96.0.1']);
  const old =
    'Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      kubernetes.default\nAddress 1: 10.96.0.1 kubernetes.default.svc.cluster.local\n';
  assert.deepEqual(nslookupAnswers(old), ['10.96.0.1']);
});

test('quantityBytes: binary and decimal suffixes, plain bytes, exponents', () => {
  assert.equal(quantityBytes('200Mi'), 209715200);
  assert.equal(quantityBytes('209715200'), 209715200);
  assert.equal(quantityBytes('204800Ki'), 209715200);
  assert.equal(quantityBytes('0.1953125Gi'), 209715200);
  assert.equal(quantityBytes('200M'), 200000000);
  assert.equal(quantityBytes('2e8'), 200000000);
  assert.equal(quantityBytes('100Mi'), 104857600);
  assert.equal(quantityBytes('100mi'), undefined);
  assert.equal(quantityBytes('lots'), undefined);
});

test('imageName: the repository without registry, namespace, tag or digest', () => {
  for (const i of [
    'busybox',
    'busybox:1.36',
    'docker.io/busybox:latest',
    'docker.io/library/busybox:latest',
    'busybox@sha256:8e1b102a',
    'localhost:5001/busybox:1.36',
  ]) {
    assert.equal(imageName(i), 'busybox', i);
  }
  assert.equal(imageName('nginx:1.27'), 'nginx');
  assert.equal(imageName('busybox-extra:1'), 'busybox-extra');
});

test('argvIs: the program by its base name, the arguments exactly', () => {
  assert.equal(argvIs(['sleep', '10000'], ['sleep', '10000']), true);
  assert.equal(argvIs(['/bin/sleep', '10000'], ['sleep', '10000']), true);
  assert.equal(argvIs(['sleep', '100000'], ['sleep', '10000']), false);
  assert.equal(argvIs(['sleep'], ['sleep', '10000']), false);
  assert.equal(argvIs(['sh', '-c', 'sleep 10000'], ['sleep', '10000']), false);
  assert.equal(argvIs(['sleep 10000'], ['sleep', '10000']), false);
});

test('descendants: a process and everything below it', () => {
  const ps = '    1     0\n  100     1\n  101   100\n  102   101\n  200     1\n  201   200\n';
  assert.deepEqual(descendants(ps, 100), [100, 101, 102]);
  assert.deepEqual(descendants(ps, 102), [102]);
});

test('parseContainerInfo: the sandbox id and the bind mounts of a ctr containers info', () => {
  const info = parseContainerInfo(
    JSON.stringify({
      Labels: { 'io.kubernetes.pod.uid': 'u' },
      Spec: {
        annotations: { 'io.kubernetes.cri.sandbox-id': '16e3786f' },
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          {
            destination: '/etc/resolv.conf',
            type: 'bind',
            source: '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/16e3786f/resolv.conf',
          },
        ],
      },
    }),
  );
  assert.equal(info.sandboxId, '16e3786f');
  assert.equal(
    info.mounts.get('/etc/resolv.conf'),
    '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/16e3786f/resolv.conf',
  );
});

test("isCniDaemon: a DaemonSet that mounts the node's CNI folders", () => {
  const ds = (paths: string[]) => ({
    spec: {
      selector: {},
      template: { spec: { containers: [], volumes: paths.map((p, i) => ({ name: `v${i}`, hostPath: { path: p } })) } },
    },
  });
  assert.equal(isCniDaemon(ds(['/etc/cni/net.d', '/run/xtables.lock'])), true);
  assert.equal(isCniDaemon(ds(['/opt/cni/bin'])), true);
  assert.equal(isCniDaemon(ds(['/run/xtables.lock', '/lib/modules'])), false);
  assert.equal(isCniDaemon(ds(['/etc/cnix'])), false);
});
