import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ociConfig } from '../../src/env/sandbox/userns-config.js';

interface Config {
  process: { args: string[]; env: string[]; capabilities: { bounding: string[] } };
  hostname: string;
  mounts: { destination: string; type: string; options: string[] }[];
  linux: {
    uidMappings: { containerID: number; hostID: number; size: number }[];
    gidMappings: { containerID: number; hostID: number; size: number }[];
    cgroupsPath: string;
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

test("the userns sandbox: root maps to the base id, every namespace private, the cgroup below the sandbox's own", () => {
  const c = ociConfig('kgrade-ab12-3', ['PATH=/usr/bin', 'HOME=/nowhere'], 200000, '/proc/4242/ns/user') as Config;
  assert.deepEqual(c.linux.uidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
  assert.deepEqual(c.linux.gidMappings, c.linux.uidMappings);
  assert.deepEqual(c.linux.namespaces.map((n) => n.type).sort(), [
    'cgroup',
    'ipc',
    'mount',
    'network',
    'pid',
    'user',
    'uts',
  ]);
  assert.ok(
    c.linux.namespaces.every((n) => n.path === undefined || n.type === 'user'),
    'no host namespace is joined',
  );
  assert.equal(
    c.linux.namespaces.find((n) => n.type === 'user')?.path,
    '/proc/4242/ns/user',
    'the user namespace made for the sandbox, owned by its root',
  );
  assert.equal(c.linux.cgroupsPath, '/kgrade/kgrade-ab12-3/node');
  assert.deepEqual(c.linux.maskedPaths, []);
  assert.deepEqual(c.linux.readonlyPaths, []);
  assert.equal(c.hostname, 'node');
  assert.ok(c.process.env.includes('HOME=/root') && !c.process.env.includes('HOME=/nowhere'));
  assert.ok(c.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
});

test('a second sysfs stays in full view under /run, so ip netns exec can mount its own', () => {
  const c = ociConfig('x', [], 100000, '/proc/4242/ns/user') as Config;
  const at = (d: string) => c.mounts.findIndex((m) => m.destination === d);
  const hidden = c.mounts[at('/run/.kgrade-sysfs')];
  assert.equal(hidden?.type, 'sysfs');
  assert.ok(at('/run/.kgrade-sysfs') < at('/run'), 'mounted before the /run tmpfs that covers it');
  assert.ok(!c.mounts.some((m) => m.type === 'bind'), 'nothing of the host is bound in');
});
