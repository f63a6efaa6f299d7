import path from 'node:path';
import { EXIT } from '../exit.js';
import { defineVerb } from '../verb.js';

export const steps = defineVerb({
  name: 'steps',
  synopsis: ['steps'],
  summary: 'Every step sentence a feature may use, by subject.',
  description: 'Every step sentence a feature may use, by subject (the step file that defines it).',
  options: {},
  async run() {
    let file = '';
    for (const s of await (await import('../../cucumber/vocabulary.js')).stepVocabulary()) {
      if (s.file !== file) {
        file = s.file;
        process.stdout.write(`\n${path.basename(file, '.steps.ts')} (${file})\n`);
      }
      process.stdout.write(`  ${s.pattern}\n`);
    }
    return EXIT.graded;
  },
});
