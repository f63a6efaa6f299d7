import path from 'node:path';
import { EXIT } from '../exit.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

export const merge = defineVerb({
  name: 'merge',
  synopsis: ['merge OUTDIR SHARDDIR...'],
  summary: 'Join the --out folders of the shards of one batch into one.',
  description: `Join the --out folders of kgrade batch --shard 1/N ... N/N into OUTDIR, as one batch.
Exit 0 every student graded, 3 some without a final grade (listed).`,
  options: {},
  async run({ positionals, usage }) {
    const [out, ...shards] = positionals;
    if (!out || shards.length === 0) return usage();
    const outcome = await (await import('../../batch/command.js')).mergeClass(
      path.resolve(out),
      shards.map((d) => path.resolve(d)),
      log,
    );
    return outcome.graded.length === outcome.students.length ? EXIT.graded : EXIT.infrastructure;
  },
});
