import type { ScenarioResult } from '../../grade/model.js';
import { formatPoints } from '../summary.js';
import { attrs, properties, seconds, xmlText } from '../xml.js';
import type { ClassResults, ClassStudent } from './model.js';

function body(s: ScenarioResult): string {
  const parts = [
    s.outcome === 'error'
      ? `Grader error (the grader, the lab or the infrastructure failed; not the student's doing):\n${s.message}`
      : s.message,
  ];
  if (s.outcome === 'failed' && s.hint !== '') parts.push(`hint: ${s.hint}`);
  if (s.notes.length > 0) parts.push(s.notes.map((n) => `note: ${n}`).join('\n'));
  return parts.join('\n\n');
}

function testcase(student: string, s: ScenarioResult): string[] {
  const lines = [
    `    <testcase${attrs({ classname: student, name: s.name, time: seconds(s.durationMs) })}>`,
    ...properties('      ', {
      id: s.id,
      feature: s.feature,
      points: formatPoints(s.points),
      maxPoints: formatPoints(s.maxPoints),
      hidden: String(s.hidden),
      attempts: String(s.attempts),
    }),
  ];
  if (s.outcome === 'failed')
    lines.push(`      <failure${attrs({ message: s.message, type: 'failed' })}>${xmlText(body(s))}</failure>`);
  if (s.outcome === 'error')
    lines.push(`      <error${attrs({ message: s.message, type: 'grader-error' })}>${xmlText(body(s))}</error>`);
  if (s.outcome === 'skipped')
    lines.push(s.message === '' ? '      <skipped/>' : `      <skipped${attrs({ message: s.message })}/>`);
  lines.push('    </testcase>');
  return lines;
}

/** The testcase that says why a student has no final grade. */
function gradeError(student: ClassStudent): string[] {
  const type = student.status === 'missing' ? 'missing' : 'grader-error';
  return [
    `    <testcase${attrs({ classname: student.id, name: '(grade)', time: '0.000' })}>`,
    `      <error${attrs({ message: student.reason, type })}>${xmlText(`No final grade for ${student.id}: ${student.reason}`)}</error>`,
    '    </testcase>',
  ];
}

interface Totals {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  ms: number;
}

function suite(cls: ClassResults, student: ClassStudent): { lines: string[]; totals: Totals } {
  const scenarios = (student.result?.scenarios ?? []).filter((s) => !s.course);
  const cases = scenarios.flatMap((s) => testcase(student.id, s));
  const totals: Totals = {
    tests: scenarios.length,
    failures: scenarios.filter((s) => s.outcome === 'failed').length,
    errors: scenarios.filter((s) => s.outcome === 'error').length,
    skipped: scenarios.filter((s) => s.outcome === 'skipped').length,
    ms: student.result?.durationMs ?? 0,
  };
  if (student.status !== 'graded') {
    cases.push(...gradeError(student));
    totals.tests += 1;
    totals.errors += 1;
  }
  const r = student.result;
  const lines = [
    `  <testsuite${attrs({
      name: student.id,
      tests: String(totals.tests),
      failures: String(totals.failures),
      errors: String(totals.errors),
      skipped: String(totals.skipped),
      time: seconds(totals.ms),
      ...(r ? { timestamp: r.startedAt } : {}),
    })}>`,
    ...properties('    ', {
      status: student.status,
      score: student.status === 'graded' && r ? formatPoints(r.score) : '',
      maxScore: formatPoints(r?.maxScore ?? cls.lab.maxScore),
      attempts: String(student.attempts),
      ...(student.provenance
        ? {
            'provenance.kgradeVersion': student.provenance.kgradeVersion,
            'provenance.labHash': student.provenance.labHash,
            'provenance.environment': student.provenance.environment,
            'provenance.submissionHash': student.provenance.submissionHash,
          }
        : {}),
    }),
    ...cases,
    '  </testsuite>',
  ];
  return { lines, totals };
}

/**
 * The class as JUnit XML: one <testsuite> per student (named by id, so CI lists students), one
 * <testcase> per graded scenario (classname the student, name the scenario); failures as
 * <failure>, grader errors as <error>. A student without a final grade gets a "(grade)" testcase
 * whose <error> says why. @course checks are left out: they check the cluster, not the student.
 */
export function toClassJUnitXml(cls: ClassResults): string {
  const suites = cls.students.map((s) => suite(cls, s));
  const sum = (k: keyof Totals) => suites.reduce((n, s) => n + s.totals[k], 0);
  return `${[
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({
      name: `kgrade ${cls.lab.id}: ${cls.lab.title}`,
      tests: String(sum('tests')),
      failures: String(sum('failures')),
      errors: String(sum('errors')),
      skipped: String(sum('skipped')),
      time: seconds(sum('ms')),
    })}>`,
    ...suites.flatMap((s) => s.lines),
    '</testsuites>',
  ].join('\n')}\n`;
}
