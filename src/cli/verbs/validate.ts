import path from 'node:path';
import { REPO_ROOT } from '../../paths.js';
import { EXIT } from '../exit.js';
import { labDirs } from '../folders.js';
import { defineVerb } from '../verb.js';

export const validate = defineVerb({
  name: 'validate',
  synopsis: ['validate [LABDIR...]'],
  summary: 'Check lab.yaml, the features and their steps without Docker.',
  description: `Check lab.yaml, the features and their steps without Docker (default: every lab):
the schema, Gherkin, undefined or ambiguous steps, reference files, expect: against
wrong/. Exit 0 every lab valid, 2 some invalid (each problem listed).`,
  options: {},
  async run({ positionals }) {
    const dirs = positionals.length ? positionals : await labDirs(path.join(REPO_ROOT, 'labs'));
    let bad = 0;
    for (const d of dirs) {
      const v = await (await import('../../lab/validate.js')).validateLab(d);
      if (v.problems.length) {
        bad += 1;
        process.stdout.write(`INVALID ${d}\n${v.problems.map((p) => `  ${p.replaceAll('\n', '\n  ')}`).join('\n')}\n`);
      } else {
        process.stdout.write(
          `ok      ${v.lab?.id ?? d}: ${v.lab?.scenarios.length ?? 0} scenarios, ${v.lab?.maxScore ?? 0} points\n`,
        );
      }
    }
    return bad ? EXIT.usage : EXIT.graded;
  },
});
