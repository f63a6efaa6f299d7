import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOptions, OptionError, parseOptions } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';

const OPTIONS = {
  out: { type: 'string', value: 'DIR', help: 'where it goes' },
  case: { type: 'string', multiple: true, value: 'NAME', help: 'one case' },
  regrade: { type: 'boolean', help: 'again' },
  jobs: { type: 'string', value: 'N', group: 'sandbox', help: 'at once,\nper sandbox' },
} as const;

test('parseOptions: the values by the table, the positionals, and -h/--help apart', () => {
  const r = parseOptions(OPTIONS, ['lab', '--out', 'o', '--case', 'a', '--case', 'b', '--regrade', 'sub']);
  assert.deepEqual(r.positionals, ['lab', 'sub']);
  assert.deepEqual({ ...r.values }, { out: 'o', case: ['a', 'b'], regrade: true });
  assert.equal(r.help, false);
  assert.equal(parseOptions(OPTIONS, ['-h']).help, true);
  assert.equal(parseOptions(OPTIONS, ['lab', '--help']).help, true);
  assert.equal('help' in parseOptions(OPTIONS, ['--help']).values, false);
});

test('parseOptions: an unknown option, a missing value or a value given to a flag is an OptionError, a usage error', () => {
  for (const args of [['--bogus'], ['--out'], ['--regrade=yes'], ['-x']]) {
    assert.throws(
      () => parseOptions(OPTIONS, args),
      (err: unknown) => err instanceof OptionError && err instanceof UsageError && err.message.length > 0,
      args.join(' '),
    );
  }
});

test('formatOptions: ungrouped options first with --help, then a heading per group; continuation lines aligned', () => {
  assert.deepEqual(formatOptions(OPTIONS), [
    'options:',
    '  --out DIR    where it goes',
    '  --case NAME  one case',
    '  --regrade    again',
    '  -h, --help   this help',
    '',
    'sandbox options:',
    '  --jobs N     at once,\n               per sandbox',
  ]);
});
