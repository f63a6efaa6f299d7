import { reapOrphans } from '../../env/reaper.js';
import { EXIT } from '../exit.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

export const clean = defineVerb({
  name: 'clean',
  synopsis: ['clean'],
  summary: 'Remove the sandboxes of kgrade runs that died without cleaning up.',
  description: `Remove the sandboxes (containers, mounts, cgroups, state) and the private
submission copies of kgrade runs that died without cleaning up. Every grade does this on start too. A sandbox that cannot be
removed is set aside (listed, never a reason for another grade to fail) and tried again
here: exit 4 while any remain.`,
  options: {},
  async run() {
    const { removed, setAside, copies = [] } = await reapOrphans({ warn: log, retrySetAside: true });
    process.stdout.write(
      removed.length
        ? `removed ${removed.length} orphaned sandbox(es): ${removed.join(', ')}\n`
        : 'no orphaned sandboxes\n',
    );
    if (copies.length)
      process.stdout.write(`removed ${copies.length} submission copy(ies) of dead runs: ${copies.join(', ')}\n`);
    for (const s of setAside)
      process.stdout.write(`set aside since ${s.since}, could not be removed: ${s.name}: ${s.reason}\n`);
    return setAside.length ? EXIT.leftovers : EXIT.graded;
  },
});
