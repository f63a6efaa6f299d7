import { Given, Then } from '@cucumber/cucumber';
import { fail, GraderError } from '../src/errors.js';
import { findDropOf, parseIptablesSave } from '../src/check/iptables.js';
import { parseNetDev } from '../src/check/listing.js';
import { sh } from '../src/node.js';
import { addTestHost, probeExpectingAnswer, probeNodeFrom } from '../src/env/testhost.js';
import type { KgradeWorld } from './world.js';

Given('a test host {string} at {string}', async function (this: KgradeWorld, name: string, cidr: string) {
  const node = await this.node();
  const host = await addTestHost(node, name, this.expand(cidr));
  this.testHosts.set(name, host);
  this.vars.set(`${name}.address`, host.address);
  this.vars.set('node.address', host.nodeAddress);
});

function testHost(world: KgradeWorld, name: string) {
  const h = world.testHosts.get(name);
  if (!h)
    throw new GraderError(
      `no test host "${name}" in this scenario; add one with: Given a test host "${name}" at "10.1.2.3/24"`,
    );
  return h;
}

Given('test host {string} reaches the node', async function (this: KgradeWorld, name: string) {
  const r = await probeExpectingAnswer(await this.node(), testHost(this, name));
  if (!r.icmp || !r.tcp) throw new GraderError(`the test network does not work before the submission ran: ${r.detail}`);
});

Then('the node answers test host {string}', async function (this: KgradeWorld, name: string) {
  const r = await probeExpectingAnswer(await this.node(), testHost(this, name));
  if (!r.icmp || !r.tcp) fail(`expected the node to answer: ${r.detail}`);
});

Then('the node does not answer test host {string}', async function (this: KgradeWorld, name: string) {
  const r = await probeNodeFrom(await this.node(), testHost(this, name));
  if (r.icmp || r.tcp) fail(`expected the node to drop this traffic: ${r.detail}`);
});

Then('the network devices in its output are only those of a new network namespace', async function (this: KgradeWorld) {
  const node = await this.node();
  const l = this.requireLast();
  const seen = parseNetDev(l.stdout);
  if (!seen.includes('lo'))
    fail(
      `expected a device listing (/proc/net/dev) from inside the new namespace; got:\n${(l.stdout + l.stderr).trim()}`,
    );
  const own = await sh(node, 'cat /proc/net/dev');
  if (!parseNetDev(own.stdout).includes('eth0')) throw new GraderError('the node has no eth0 to compare against');
  const fresh = await sh(node, 'unshare -n cat /proc/net/dev');
  if (fresh.code !== 0) throw new GraderError(`unshare -n on the node failed: ${fresh.stderr.trim()}`);
  const baseline = new Set(parseNetDev(fresh.stdout));
  const extra = seen.filter((d) => !baseline.has(d));
  if (extra.length)
    fail(
      `the namespace shows ${extra.join(', ')}: it is not a new network namespace (a new one has only ${[...baseline].join(', ')})`,
    );
  const tunnels = seen.filter((d) => d !== 'lo');
  this.note(
    tunnels.length
      ? `devices in a new network namespace on this kernel: lo and the tunnel devices ${tunnels.join(', ')}`
      : 'a new network namespace on this kernel has only lo',
  );
});

Then("the node's iptables drop all traffic from {string} in INPUT", async function (this: KgradeWorld, source: string) {
  const node = await this.node();
  const addr = this.expand(source);
  const r = await sh(
    node,
    'for s in iptables-nft-save iptables-legacy-save; do command -v $s >/dev/null && echo "# $s" && $s 2>/dev/null; done; true',
  );
  const finding = findDropOf(parseIptablesSave(r.stdout), addr);
  if (finding.rule) {
    this.note(`iptables rule seen: ${finding.rule}`);
    return;
  }
  const input = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('-A INPUT') || l.startsWith(':INPUT') || l.startsWith('# '))
    .join('\n');
  const why = finding.nearMisses.length
    ? `rules that come close: ${finding.nearMisses.join('; ')}`
    : `the INPUT chain holds:\n${input || '(nothing)'}`;
  fail(`no rule in the filter table's INPUT chain drops all traffic from ${addr}; ${why}`);
});
