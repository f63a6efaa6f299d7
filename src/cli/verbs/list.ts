import path from 'node:path';
import { loadLab } from '../../lab/load.js';
import { REPO_ROOT } from '../../paths.js';
import { EXIT } from '../exit.js';
import { labDirs } from '../folders.js';
import { defineVerb } from '../verb.js';

export const list = defineVerb({
  name: 'list',
  synopsis: ['list [LABS_ROOT]'],
  summary: 'The labs, their environment and points.',
  description: `The labs under LABS_ROOT (default labs/), their chapter, environment and points,
graded scenarios and course checks, and title; a lab that does not load is shown INVALID.`,
  options: {},
  async run({ positionals }) {
    const root = positionals[0] ?? path.join(REPO_ROOT, 'labs');
    for (const d of await labDirs(root)) {
      try {
        const lab = await loadLab(d);
        const graded = lab.scenarios.filter((s) => !s.course).length;
        process.stdout.write(
          `${lab.id.padEnd(24)} ch${String(lab.chapter).padStart(2, '0')} ${lab.environment.padEnd(8)} ${String(lab.maxScore).padStart(3)} points  ${graded} graded + ${lab.scenarios.length - graded} course checks  ${lab.title}\n`,
        );
      } catch (err) {
        process.stdout.write(`${path.basename(d).padEnd(24)} INVALID: ${(err as Error).message.split('\n')[0]}\n`);
      }
    }
    return EXIT.graded;
  },
});
