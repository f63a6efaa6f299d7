/**
 * `kgrade cluster down` leaves no container, network, volume, kubeconfig or
 * host firewall rule behind. Runs last: it deletes the cluster.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { EGRESS_COMMENT } from '../../src/env/cluster/egress.js';
import { KindProvider } from '../../src/env/cluster/kind.js';
import { REPO_ROOT } from '../../src/lab/load.js';

test('cluster down removes the nodes, the registry, the network, the volumes, the kubeconfig and the guard', async () => {
  const provider = new KindProvider();
  const r = await execa('node', [path.join(REPO_ROOT, 'bin/kgrade.js'), 'cluster', 'down'], { reject: false, timeout: 300_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  const containers = await execa('docker', ['ps', '-a', '--format', '{{.Names}}']);
  const left = containers.stdout.split('\n').filter((n) => n.startsWith('kgrade-control-plane') || n === 'kgrade-registry');
  assert.deepEqual(left, []);
  const networks = await execa('docker', ['network', 'ls', '--format', '{{.Name}}']);
  assert.ok(!networks.stdout.split('\n').includes('kind'), 'the kind network is still there');
  const volumes = await execa('docker', ['volume', 'ls', '-q', '--filter', 'dangling=true']);
  assert.equal(volumes.stdout.trim(), '', `dangling volumes remain: ${volumes.stdout}`);
  assert.ok(!existsSync(provider.ref.kubeconfig), `${provider.ref.kubeconfig} is still there`);
  for (const cmd of ['iptables', 'ip6tables']) {
    const rules = await execa(cmd, ['-S'], { reject: false });
    assert.ok(!rules.stdout.includes(EGRESS_COMMENT), `${cmd} still holds kgrade's egress rule`);
  }
});
