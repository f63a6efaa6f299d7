import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readResultsJson } from '../../report/results-json.js';
import { EXIT } from '../exit.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

async function reportClass(
  dirArg: string,
  opts: import('../../report/class/command.js').ClassReportOptions,
): Promise<number> {
  process.stdout.write(`${await (await import('../../report/class/command.js')).reportClass(dirArg, opts, log)}\n`);
  return EXIT.graded;
}

async function reportClassroom(dirArg: string, outArg: string | undefined): Promise<number> {
  const { toClassroom, classroomOutput, classroomFeedback } = await import('../../report/classroom.js');
  const dir = path.resolve(dirArg);
  const result = toClassroom(await readResultsJson(path.join(dir, 'results.json')));
  const out = path.resolve(outArg ?? path.join(dir, 'classroom.json'));
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`, 'utf8');
  process.stderr.write(classroomFeedback(result));
  log(`kgrade: GitHub Classroom result in ${path.relative(process.cwd(), out) || out}`);
  process.stdout.write(`${classroomOutput(result)}\n`);
  return EXIT.graded;
}

async function reportAllureHtml(dirArg: string, outArg: string | undefined): Promise<number> {
  const dir = path.resolve(dirArg);
  const results = path.join(dir, 'allure-results');
  const out = path.resolve(outArg ?? path.join(dir, 'allure-report'));
  const summary = await readResultsJson(path.join(dir, 'results.json')).catch(() => undefined);
  await (await import('../../report/allure-html.js')).generateAllureHtml(results, out, {
    reportName: summary ? `${summary.lab.id}: ${summary.submission.name}` : 'kgrade',
  });
  process.stdout.write(`${path.join(out, 'index.html')}\n`);
  return EXIT.graded;
}

export const report = defineVerb({
  name: 'report',
  synopsis: [
    'report DIR [--out DIR] [--policy FILE] [--similarity-threshold 0.5] [--lms-omit-ungraded]',
    'report --html DIR [--out DIR]',
    'report --classroom DIR [--out FILE]',
  ],
  summary: 'The class report of a batch; the Allure HTML or the GitHub Classroom result of one grade.',
  description: `kgrade report DIR: the class report of a batch output folder (batch.json and results/,
from kgrade batch or kgrade merge): index.html (offline; score histogram, pass rate per
scenario, item analysis, similar submissions, regrade changes, errors, a page per
student), gradebook.csv, canvas.csv, moodle.csv, junit.xml, items.json, similarity.json,
regrade.json and gradescope/<id>/results.json, into --out (default DIR/report/).
kgrade report --html DIR: an Allure HTML report from DIR/allure-results (from grade --allure),
into --out (default DIR/allure-report/).
kgrade report --classroom DIR: GitHub Classroom's autograding result of DIR/results.json
(from grade): writes it to --out (default DIR/classroom.json) and prints it base64-encoded,
the value of the runner's "result" output that the autograding reporter reads.`,
  options: {
    html: {
      type: 'string',
      value: 'DIR',
      help: 'the Allure HTML report of DIR (holds allure-results/ and results.json from kgrade grade --allure)',
    },
    classroom: {
      type: 'string',
      value: 'DIR',
      help: 'the GitHub Classroom result of DIR (holds results.json from kgrade grade)',
    },
    out: { type: 'string', value: 'DIR|FILE', help: 'where the report goes (a FILE with --classroom)' },
    policy: {
      type: 'string',
      value: 'FILE',
      help: 'the late policy to apply (default: the policy.yaml kgrade batch --policy kept)',
    },
    'similarity-threshold': {
      type: 'string',
      value: 'SHARE',
      help: 'list pairs of submissions from this similarity on (0..1, default 0.5)',
    },
    'lms-omit-ungraded': {
      type: 'boolean',
      help: 'leave students without a final grade out of canvas.csv and moodle.csv instead of stopping',
    },
  },
  async run({ values, positionals, usage }) {
    const [dirArg, ...extra] = positionals;
    if (values.classroom !== undefined && values.html === undefined && dirArg === undefined)
      return reportClassroom(values.classroom, values.out);
    if (values.classroom === undefined && values.html === undefined && dirArg !== undefined && extra.length === 0) {
      return reportClass(dirArg, {
        out: values.out,
        policy: values.policy,
        similarityThreshold: values['similarity-threshold'],
        lmsOmitUngraded: values['lms-omit-ungraded'],
      });
    }
    if (!values.html || values.classroom !== undefined || dirArg !== undefined) return usage();
    return reportAllureHtml(values.html, values.out);
  },
});
