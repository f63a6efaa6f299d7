import { diagnosticsText } from '../grade/diagnostics.js';
import { feedbackOf, type GradeResult, type Outcome, type ScenarioResult } from '../grade/model.js';
import { formatPoints, plural, printable } from './summary.js';
import { RUNTIMES } from '../env/sandbox/index.js';

const MARKS: Record<Outcome, string> = { passed: '✅', failed: '❌', error: '⚠️', skipped: '⏭️' };
const OUTCOME_TEXT: Record<Outcome, string> = {
  passed: 'passed',
  failed: 'failed',
  error: 'grader error',
  skipped: 'skipped',
};

/** Text safe in a Markdown paragraph or table cell: no HTML, no emphasis, no cell breaks. */
function inline(text: string): string {
  return printable(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replace(/[\\`*_[\]|#]/g, '\\$&')
    .replaceAll('\n', '<br>');
}

/** A fenced block longer than any backtick run inside, so the text cannot close it. */
function codeBlock(text: string): string[] {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}text`, printable(text), fence];
}

function nameCell(s: ScenarioResult): string {
  const feedback = feedbackOf(s);
  const tags = [
    s.course ? '_(course)_' : '',
    feedback === 'hidden' ? '_(hidden)_' : feedback === 'message' ? '_(message only)_' : '',
  ].filter((t) => t !== '');
  return [inline(s.name), ...tags].join(' ');
}

function detail(s: ScenarioResult): string[] {
  const points = `${formatPoints(s.points)}/${formatPoints(s.maxPoints)}`;
  const lines = [`**${MARKS[s.outcome]} ${inline(s.name)}** · ${points} · \`${s.id.replaceAll('`', "'")}\``, ''];
  if (s.outcome === 'error') {
    lines.push("Grader error, not the submission's fault: this scenario must be regraded.", '');
  }
  lines.push(...codeBlock(s.message === '' ? '(no message)' : s.message), '');
  if (s.outcome === 'failed' && s.hint !== '') lines.push(`**Hint:** ${inline(s.hint)}`, '');
  if (s.notes.length > 0) lines.push(...s.notes.map((n) => `- ${inline(n)}`), '');
  const seen = diagnosticsText(s.diagnostics);
  if (seen !== '')
    lines.push('<details><summary>What the grader saw</summary>', '', ...codeBlock(seen), '', '</details>', '');
  return lines;
}

/** A short Markdown summary for CI job summaries: a table, then the failures in detail. */
export function toMarkdown(result: GradeResult): string {
  const c = result.counts;
  const lines = [
    `### ${inline(result.lab.id)}: ${inline(result.lab.title)}`,
    '',
    `**${inline(result.submission.name)}**: ${formatPoints(result.score)}/${formatPoints(result.maxScore)} points` +
      ` · ${c.passed} passed · ${c.failed} failed · ${plural(c.error, 'error')} · ${c.skipped} skipped`,
    '',
  ];
  const isolation = result.environment.isolation;
  if (isolation) {
    const runtime = RUNTIMES[isolation];
    lines.push(
      `> **Isolation:** ${isolation} sandbox: ${runtime.boundary}${runtime.notABoundary ? ' (not a security boundary)' : ''}.` +
        (result.environment.cgroup
          ? ` Kernel ${inline(result.environment.kernel)}, cgroup ${result.environment.cgroup}.`
          : ''),
      '',
    );
  }
  if (!result.complete) {
    lines.push(
      `> **Incomplete:** ${plural(c.error, 'scenario')} ended in a grader error; this score is not final.`,
      '',
    );
  }
  lines.push('| | Scenario | Outcome | Points |', '|---|---|---|---:|');
  for (const s of result.scenarios) {
    lines.push(
      `| ${MARKS[s.outcome]} | ${nameCell(s)} | ${OUTCOME_TEXT[s.outcome]} | ${formatPoints(s.points)}/${formatPoints(s.maxPoints)} |`,
    );
  }
  const troubled = result.scenarios.filter((s) => s.outcome === 'failed' || s.outcome === 'error');
  if (troubled.length > 0) {
    lines.push('', '#### Failures and errors', '', ...troubled.flatMap(detail));
  }
  while (lines.at(-1) === '') lines.pop();
  return `${lines.join('\n')}\n`;
}
