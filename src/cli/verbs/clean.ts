import { reapOrphans } from '../../env/reaper.js';
import { EXIT } from '../exit.js';
import { defineVerb } from '../verb.js';

export const clean = defineVerb({
  name: 'clean',
  synopsis: ['clean'],
  summary: 'Remove the sandboxes of kgrade runs that died without cleaning up.',
  description: `Remove the sandboxes (containers, mounts, cgroups, state) of kgrade runs that
died without cleaning up. Every grade does this on start too.`,
  options: {},
  async run() {
    const removed = await reapOrphans();
    process.stdout.write(removed.length ? `removed ${removed.length} orphaned sandbox(es): ${removed.join(', ')}\n` : 'no orphaned sandboxes\n');
    return EXIT.graded;
  },
});
