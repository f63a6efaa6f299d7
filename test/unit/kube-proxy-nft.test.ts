/**
 * kube-proxy's nftables mode, read from `nft -j list table ip kube-proxy` as kube-proxy v1.31
 * left it on a kind cluster made with kubeProxyMode: nftables (two CoreDNS pods; the file
 * keeps the kube-dns and kubernetes chains, the service-ips map and the services chain).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isServiceChainOf, nftServiceRouting, parseNftDump } from '../../src/kube/kube-proxy-nft.js';
import { compareTargets, describeSpread, spreadProblems } from '../../src/kube/kube-proxy.js';
import { REPO_ROOT } from '../../src/paths.js';

const TEXT = readFileSync(path.join(REPO_ROOT, 'test/unit/data/nft-kube-proxy-v1.31.json'), 'utf8');

test('the service chain is found through the service-ips map by its readable name, for each port', () => {
  const dump = parseNftDump(TEXT);
  assert.ok(dump);
  const tcp = nftServiceRouting(dump, 'kube-system/kube-dns:dns-tcp');
  assert.equal(tcp?.serviceChain, 'service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp');
  assert.match(tcp?.foundBy ?? '', /10\.96\.0\.10 \. tcp \. 53/);
  const udp = nftServiceRouting(dump, 'kube-system/kube-dns:dns');
  assert.equal(udp?.serviceChain, 'service-FY5PMXPG-kube-system/kube-dns/udp/dns');
  assert.equal(nftServiceRouting(dump, 'kube-system/kube-dns:nope'), undefined);
  assert.equal(
    nftServiceRouting(dump, 'kube-system/kube-dn:dns'),
    undefined,
    'a service whose name is a prefix of another is not matched',
  );
});

test('two endpoints: numgen random mod 2 gives each half, and the DNAT targets are the pods', () => {
  const dump = parseNftDump(TEXT);
  assert.ok(dump);
  const r = nftServiceRouting(dump, 'kube-system/kube-dns:dns-tcp');
  assert.ok(r);
  assert.deepEqual(r.shares, [0.5, 0.5]);
  assert.deepEqual(spreadProblems(r), []);
  assert.deepEqual(
    r.targets.map((t) => `${t.ip}:${t.port}`),
    ['10.244.0.2:53', '10.244.0.3:53'],
  );
  assert.ok(
    compareTargets(r.targets, [
      { ip: '10.244.0.2', port: 53 },
      { ip: '10.244.0.3', port: 53 },
    ]).same,
  );
  const off = compareTargets(r.targets, [{ ip: '10.244.0.2', port: 53 }]);
  assert.deepEqual(off.extra, ['10.244.0.3:53']);
  assert.match(describeSpread(r), /numgen random mod 2/);
  const one = nftServiceRouting(dump, 'default/kubernetes:https');
  assert.deepEqual(one?.shares, [1]);
  assert.deepEqual(
    one?.targets.map((t) => t.port),
    [6443],
  );
});

test('an uneven map (three keys over two endpoints) is reported, not passed', () => {
  type Vmap = { key: { numgen: { mod: number } }; data: { set: Array<[number, unknown]> } };
  type Item = { rule?: { chain?: string; expr: Array<{ vmap?: Vmap }> } };
  const doc = JSON.parse(TEXT) as { nftables: Item[] };
  for (const item of doc.nftables) {
    const vmap =
      item.rule?.chain === 'service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp'
        ? item.rule.expr.find((e) => e.vmap)?.vmap
        : undefined;
    if (vmap) {
      vmap.key.numgen.mod = 3;
      vmap.data.set.push([2, vmap.data.set[0]?.[1]]);
    }
  }
  const dump = parseNftDump(JSON.stringify(doc));
  assert.ok(dump);
  const r = nftServiceRouting(dump, 'kube-system/kube-dns:dns-tcp');
  assert.ok(r);
  assert.equal(spreadProblems(r).length, 2);
  assert.match(spreadProblems(r)[0] ?? '', /0\.6667.*not 1\/2/);
});

test('what is not the table: no JSON, no table, another chain name', () => {
  assert.equal(parseNftDump(''), undefined);
  assert.equal(parseNftDump('Error: No such file or directory'), undefined);
  assert.equal(parseNftDump('{"nftables": [{"metainfo": {}}]}'), undefined);
  assert.ok(isServiceChainOf('service-ABC123-ns/svc/udp/dns', 'ns/svc:dns'));
  assert.ok(!isServiceChainOf('endpoint-ABC123-ns/svc/udp/dns__10.0.0.1/53', 'ns/svc:dns'));
  assert.ok(!isServiceChainOf('service-ABC123-ns/svc/udp/dns-tcp', 'ns/svc:dns'));
});
