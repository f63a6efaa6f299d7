import { diagnosticsText } from '../grade/diagnostics.js';
import { RUNTIMES } from '../env/sandbox/index.js';
import { feedbackOf, type GradeResult, type Outcome, type ScenarioResult } from '../grade/model.js';

/**
 * Control characters (other than tab and newline), C1 controls, bidi
 * overrides and lone surrogates, shown as \uXXXX: messages carry whatever a
 * student's program printed, and must not drive the reader's terminal.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uD800-\uDFFF]/gu;

export function printable(text: string): string {
  return text
    .replaceAll('\r\n', '\n')
    .replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatPoints(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(2)));
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const MARKS: Record<Outcome, string> = { passed: '✔', failed: '✘', error: '!', skipped: '-' };
const MARK_COLORS: Record<Outcome, string> = { passed: '32', failed: '31', error: '33', skipped: '2' };

type Paint = (code: string, text: string) => string;

function painter(color: boolean): Paint {
  return color ? (code, text) => (text === '' ? text : `\x1b[${code}m${text}\x1b[0m`) : (_code, text) => text;
}

/** First line after `label`, the following lines indented to line up under it. */
function block(indent: string, label: string, text: string, styleLabel: (s: string) => string = (s) => s): string[] {
  const [first = '', ...rest] = printable(text).split('\n');
  const under = indent + ' '.repeat(label.length);
  return [indent + styleLabel(label) + first, ...rest.map((line) => under + line)];
}

function tags(s: ScenarioResult): string {
  const t: string[] = [];
  if (s.course) t.push('(course)');
  const feedback = feedbackOf(s);
  if (feedback !== 'full') t.push(feedback === 'hidden' ? '(hidden)' : '(students see the message only)');
  if (s.attempts > 1) t.push(`(${s.attempts} attempts)`);
  return t.length > 0 ? ` ${t.join(' ')}` : '';
}

function details(s: ScenarioResult, indent: string, paint: Paint): string[] {
  const lines: string[] = [];
  const message = s.message === '' ? '(no message)' : s.message;
  if (s.outcome === 'error') {
    lines.push(...block(indent, 'grader error: ', message, (l) => paint('33', l)));
  } else {
    lines.push(...block(indent, '', message));
    if (s.hint !== '') lines.push(...block(indent, 'hint: ', s.hint, (l) => paint('36', l)));
  }
  for (const note of s.notes) lines.push(...block(indent, 'note: ', note, (l) => paint('2', l)));
  const seen = diagnosticsText(s.diagnostics);
  if (seen !== '') lines.push(...block(indent, 'seen: ', seen, (l) => paint('2', l)));
  return lines;
}

/** The terminal summary an instructor reads after grading one submission. */
export function toSummary(result: GradeResult, options: { color: boolean }): string {
  const paint = painter(options.color);
  const header = [
    paint('1', printable(result.lab.id)),
    printable(result.submission.name),
    paint('1', `${formatPoints(result.score)}/${formatPoints(result.maxScore)}`),
  ];
  if (!result.complete) {
    header.push(paint('1;33', `INCOMPLETE: ${plural(result.counts.error, 'scenario')} errored`));
  }
  const isolation = result.environment.isolation;
  if (isolation && RUNTIMES[isolation].notABoundary)
    header.push(paint('1;33', `${isolation} sandbox: no security boundary`));
  else if (isolation)
    header.push(
      paint(
        '2',
        `${result.environment.isolation} sandbox${result.environment.cgroup ? `, cgroup ${result.environment.cgroup}` : ''}`,
      ),
    );
  const lines = [header.join(' · ')];
  const points = result.scenarios.map((s) => `${formatPoints(s.points)}/${formatPoints(s.maxPoints)}`);
  const width = Math.max(0, ...points.map((p) => p.length));
  result.scenarios.forEach((s, i) => {
    const mark = paint(MARK_COLORS[s.outcome], MARKS[s.outcome]);
    lines.push(`  ${mark} ${(points[i] ?? '').padStart(width)}  ${printable(s.name)}${paint('2', tags(s))}`);
    if (s.outcome === 'failed' || s.outcome === 'error') {
      lines.push(...details(s, ' '.repeat(6 + width), paint));
    }
  });
  return `${lines.join('\n')}\n`;
}
