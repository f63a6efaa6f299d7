import { diagnosticsText } from '../grade/diagnostics.js';
import { feedbackOf, type GradeResult, type ScenarioResult } from '../grade/model.js';
import { formatPoints } from './summary.js';
import { attrs, properties, seconds, xmlText } from './xml.js';

function failureBody(s: ScenarioResult): string {
  const parts = [s.message];
  if (s.hint !== '') parts.push(`hint: ${s.hint}`);
  if (s.notes.length > 0) parts.push(s.notes.map((n) => `note: ${n}`).join('\n'));
  return parts.join('\n\n');
}

function errorBody(s: ScenarioResult): string {
  const parts = [
    `Grader error (the grader, the lab or the infrastructure failed; not the student's doing):\n${s.message}`,
  ];
  if (s.notes.length > 0) parts.push(s.notes.map((n) => `note: ${n}`).join('\n'));
  return parts.join('\n\n');
}

function stepsOutput(s: ScenarioResult): string {
  return s.steps
    .map((step) => {
      const line = `[${step.status}] ${step.text} (${seconds(step.durationMs)} s)`;
      return step.message ? `${line}\n    ${step.message.split('\n').join('\n    ')}` : line;
    })
    .join('\n');
}

function testcase(s: ScenarioResult): string[] {
  const open = `    <testcase${attrs({ classname: s.feature, name: s.name, time: seconds(s.durationMs) })}>`;
  const lines = [
    open,
    ...properties('      ', {
      id: s.id,
      points: formatPoints(s.points),
      maxPoints: formatPoints(s.maxPoints),
      course: String(s.course),
      hidden: String(s.hidden),
      feedback: feedbackOf(s),
      attempts: String(s.attempts),
    }),
  ];
  switch (s.outcome) {
    case 'failed':
      lines.push(`      <failure${attrs({ message: s.message, type: 'failed' })}>${xmlText(failureBody(s))}</failure>`);
      break;
    case 'error':
      lines.push(`      <error${attrs({ message: s.message, type: 'grader-error' })}>${xmlText(errorBody(s))}</error>`);
      break;
    case 'skipped':
      lines.push(s.message === '' ? '      <skipped/>' : `      <skipped${attrs({ message: s.message })}/>`);
      break;
    case 'passed':
      break;
  }
  const out = [stepsOutput(s), s.outcome === 'passed' ? '' : diagnosticsText(s.diagnostics)]
    .filter((x) => x !== '')
    .join('\n\nWhat the grader saw:\n');
  if (out !== '') lines.push(`      <system-out>${xmlText(out)}</system-out>`);
  lines.push('    </testcase>');
  return lines;
}

/** JUnit XML: one <testsuite> for the lab, one <testcase> per scenario. */
export function toJUnitXml(result: GradeResult): string {
  const totals = {
    tests: String(result.scenarios.length),
    failures: String(result.counts.failed),
    errors: String(result.counts.error),
    skipped: String(result.counts.skipped),
    time: seconds(result.durationMs),
  };
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'kgrade', ...totals })}>`,
    `  <testsuite${attrs({ name: result.lab.id, ...totals, timestamp: result.startedAt })}>`,
    ...properties('    ', {
      'lab.title': result.lab.title,
      'lab.chapter': String(result.lab.chapter),
      'submission.name': result.submission.name,
      'submission.path': result.submission.path,
      score: formatPoints(result.score),
      maxScore: formatPoints(result.maxScore),
      complete: String(result.complete),
      'environment.provider': result.environment.provider,
      'environment.image': result.environment.image,
      'environment.kernel': result.environment.kernel,
      ...(result.environment.isolation ? { 'environment.isolation': result.environment.isolation } : {}),
      ...(result.environment.cgroup ? { 'environment.cgroup': result.environment.cgroup } : {}),
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
    }),
    ...result.scenarios.flatMap(testcase),
    '  </testsuite>',
    '</testsuites>',
  ];
  return `${lines.join('\n')}\n`;
}
