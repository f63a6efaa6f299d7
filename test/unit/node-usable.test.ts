import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubmissionAssertionError } from '../../src/errors.js';
import { assertNodeUsable } from '../../src/env/script.js';

test('a node that kept its tools and starts programs is usable', () => {
  assertNodeUsable({ lostTools: [], startsProcesses: true }, 'run.sh ran');
});

test('tools a script removed are named, as the student’s failure', () => {
  assert.throws(
    () => assertNodeUsable({ lostTools: ['bash', 'iptables'], startsProcesses: true }, 'run.sh ran'),
    (err: Error) =>
      err instanceof SubmissionAssertionError && /^after run\.sh ran, the node lost bash, iptables; /.test(err.message),
  );
});

test('a node that cannot start a program fails the script, not the grader', () => {
  assert.throws(
    () => assertNodeUsable({ lostTools: [], startsProcesses: false }, 'run.sh ran'),
    (err: Error) => err instanceof SubmissionAssertionError && /cannot start a program/.test(err.message),
  );
});
