import { diagnosticsText } from '../grade/diagnostics.js';
import { feedbackOf, type ScenarioResult } from '../grade/model.js';

/**
 * What a student is told about a scenario beyond its message, by its feedback level: at full,
 * the hint (when it failed), the grader's notes and what the grader saw (the diagnostics); at
 * message, nothing more. Hidden scenarios are told at full once grades are published; the
 * student-facing writers (Gradescope, Classroom) decide when that is.
 */
export function studentDetails(s: ScenarioResult): string[] {
  if (feedbackOf(s) === 'message') return [];
  const parts: string[] = [];
  if (s.hint !== '' && s.outcome === 'failed') parts.push(`Hint: ${s.hint}`);
  if (s.notes.length > 0) parts.push(['Notes:', ...s.notes.map((n) => `- ${n}`)].join('\n'));
  const seen = s.outcome === 'passed' ? '' : diagnosticsText(s.diagnostics);
  if (seen !== '') parts.push(`What the grader saw:\n${seen}`);
  return parts;
}
