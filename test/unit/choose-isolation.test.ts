import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseIsolation } from '../../src/env/sandbox/choose.js';
import { GraderError } from '../../src/errors.js';

const lab = (pin: 'v1' | 'v2' | 'either', id = 'lab') => ({ id, pin });

test('chooseIsolation: userns when the host gives every lab its cgroup version; --isolation is kept then', () => {
  assert.equal(chooseIsolation([lab('either'), lab('v1')], undefined, 'v1', false), 'userns');
  assert.equal(chooseIsolation([lab('v2')], undefined, 'v2', false), 'userns');
  assert.equal(chooseIsolation([lab('v1')], 'privileged', 'v1', false), 'privileged');
  assert.equal(chooseIsolation([], undefined, 'v2', false), 'userns');
});

test('chooseIsolation: vm when the host has the other cgroup version, and when asked for', () => {
  assert.equal(chooseIsolation([lab('either'), lab('v2')], undefined, 'v1', true), 'vm');
  assert.equal(chooseIsolation([lab('v1')], undefined, 'v2', true), 'vm');
  assert.equal(chooseIsolation([lab('v2')], 'vm', 'v1', false), 'vm');
  assert.equal(chooseIsolation([lab('either')], 'vm', 'v1', true), 'vm');
});

test('chooseIsolation: a lab the chosen runtime would grade on the wrong kernel is refused, naming the fix', () => {
  assert.throws(
    () => chooseIsolation([lab('v1', 'ch03')], 'userns', 'v2', true),
    (err: Error) =>
      err instanceof GraderError &&
      /lab ch03 assumes cgroup v1 .* this host runs cgroup v2: --isolation userns .* --isolation vm/.test(err.message),
  );
  assert.throws(
    () => chooseIsolation([lab('v2', 'new')], undefined, 'v1', false),
    (err: Error) =>
      err instanceof GraderError &&
      /qemu is not installed \(Debian: apt-get install qemu-system-x86 qemu-utils\)/.test(err.message),
  );
});
