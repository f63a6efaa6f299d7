/**
 * `kgrade cluster down` leaves no container, network, volume, kubeconfig or
 * host firewall rule behind. Runs last: it deletes the cluster.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from '../../src/vendor/execa.js';
import { EGRESS_COMMENT, bridgeOf } from '../../src/env/cluster/egress.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { kindClusterName } from '../../src/config.js';
import { REPO_ROOT } from '../../src/paths.js';

test('cluster down removes the nodes, the registry, the network, the volumes, the kubeconfig and the guard', async () => {
  const provider = new KindProvider();
  const cluster = kindClusterName();
  const { serve, writer, network } = provider.registry;
  // The volumes of the cluster's own containers (kind gives each node one for /var), read before it goes.
  const nodes = await execa('docker', [
    'ps',
    '-a',
    '--filter',
    `label=io.x-k8s.kind.cluster=${cluster}`,
    '--format',
    '{{.Names}}',
  ]);
  const owned: string[] = [];
  for (const n of [...nodes.stdout.split('\n').filter(Boolean), serve, writer]) {
    const m = await execa(
      'docker',
      ['inspect', '-f', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', n],
      { reject: false },
    );
    owned.push(...m.stdout.split(' ').filter(Boolean));
  }
  assert.ok(owned.length > 0, 'expected the cluster to be up, with its node volumes, before cluster down');
  const bridge = await bridgeOf(network);
  const r = await execa('node', [path.join(REPO_ROOT, 'bin/kgrade.js'), 'cluster', 'down'], {
    reject: false,
    timeout: 300_000,
  });
  assert.equal(r.exitCode, 0, r.stderr);
  const containers = await execa('docker', ['ps', '-a', '--format', '{{.Names}}']);
  const left = containers.stdout
    .split('\n')
    .filter((n) => n.startsWith(`${cluster}-control-plane`) || n === serve || n === writer);
  assert.deepEqual(left, []);
  const networks = await execa('docker', ['network', 'ls', '--format', '{{.Name}}']);
  for (const n of [network, writer])
    assert.ok(!networks.stdout.split('\n').includes(n), `the network ${n} is still there`);
  const volumes = (await execa('docker', ['volume', 'ls', '-q'])).stdout.split('\n');
  const kept = owned.filter((v) => volumes.includes(v));
  assert.deepEqual(kept, [], `the cluster's volumes remain: ${kept.join(', ')}`);
  assert.ok(!existsSync(provider.ref.kubeconfig), `${provider.ref.kubeconfig} is still there`);
  for (const cmd of ['iptables', 'ip6tables']) {
    const rules = await execa(cmd, ['-S'], { reject: false });
    const guard = rules.stdout.split('\n').filter((l) => l.includes(EGRESS_COMMENT) && l.includes(`-i ${bridge} `));
    assert.deepEqual(guard, [], `${cmd} still holds kgrade's egress rule for ${bridge}`);
  }
});
