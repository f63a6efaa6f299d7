import { diagnosticsText } from '../../grade/diagnostics.js';
import { feedbackOf, type ScenarioResult } from '../../grade/model.js';
import { formatPoints, plural } from '../summary.js';
import { html } from './escape.js';
import type { ClassResults, ClassStudent } from './model.js';
import { page } from './page.js';
import { regradeDiffs } from './regrade.js';

const OUTCOME_TEXT = { passed: 'passed', failed: 'failed', error: 'grader error', skipped: 'not run' } as const;

function scenario(s: ScenarioResult): string[] {
  const feedback = feedbackOf(s);
  const tags = [
    s.course ? 'course check, no points' : '',
    feedback === 'hidden'
      ? 'hidden from students until published'
      : feedback === 'message'
        ? 'students see the message only'
        : '',
    s.attempts > 1 ? plural(s.attempts, 'attempt') : '',
  ]
    .filter((t) => t !== '')
    .map((t) => `<span class="muted">(${html(t)})</span>`);
  const out = [
    `<article class="scenario ${s.outcome}" id="${html(s.id)}" data-outcome="${s.outcome}">`,
    '<header>',
    `<span class="outcome outcome-${s.outcome}">${OUTCOME_TEXT[s.outcome]}</span>`,
    `<h3>${html(s.name)}</h3>`,
    ...tags,
    `<span class="points">${formatPoints(s.points)}/${formatPoints(s.maxPoints)}</span>`,
    '</header>',
    `<div class="muted"><code>${html(s.id)}</code> · ${html(s.feature)}</div>`,
  ];
  if (s.outcome === 'error')
    out.push(
      '<p>The grader, the lab or the infrastructure failed here, not the submission: this scenario must be graded again.</p>',
    );
  if (s.message !== '') out.push(`<pre class="message">${html(s.message)}</pre>`);
  if (s.hint !== '') out.push(`<p class="hint"><b>Hint:</b> ${html(s.hint)}</p>`);
  if (s.notes.length > 0) out.push('<ul class="notes">', ...s.notes.map((n) => `<li>${html(n)}</li>`), '</ul>');
  const seen = s.outcome === 'passed' ? '' : diagnosticsText(s.diagnostics);
  if (seen !== '')
    out.push(
      '<details class="diagnostics" open><summary>What the grader saw</summary>',
      `<pre>${html(seen)}</pre>`,
      '</details>',
    );
  if (s.steps.length > 0) {
    out.push(
      `<details><summary>${plural(s.steps.length, 'step')}</summary><ol class="steps">`,
      ...s.steps.map(
        (st) =>
          `<li><span class="muted">[${html(st.status)}]</span> ${html(st.text)}${st.message ? `<pre>${html(st.message)}</pre>` : ''}</li>`,
      ),
      '</ol></details>',
    );
  }
  out.push('</article>');
  return out;
}

function provenance(student: ClassStudent): string[] {
  const rows: Array<[string, string]> = [['attempts', String(student.attempts)]];
  const p = student.provenance;
  if (p) {
    rows.push(
      ['kgrade', p.kgradeVersion],
      ['lab hash', p.labHash],
      ['environment', p.environment],
      ['submission hash', p.submissionHash],
    );
  }
  const r = student.result;
  if (r) {
    rows.push(['graded', `${r.startedAt} to ${r.finishedAt} (${formatPoints(r.durationMs / 1000)} s)`]);
    const env = [
      r.environment.provider,
      r.environment.image,
      r.environment.isolation ? `${r.environment.isolation} sandbox` : '',
    ].filter((v) => v !== '');
    rows.push(['where', env.join(' · ')]);
  }
  return ['<dl class="provenance">', ...rows.map(([k, v]) => `<dt>${html(k)}</dt><dd>${html(v)}</dd>`), '</dl>'];
}

/** A student's page, students/<id>.html: the grade or why there is none, then each scenario's outcome, message, hint and notes. */
export function toStudentHtml(cls: ClassResults, student: ClassStudent): string {
  const r = student.result;
  const graded = (r?.scenarios ?? []).filter((s) => !s.course);
  const tally = (o: ScenarioResult['outcome']) => graded.filter((s) => s.outcome === o).length;
  const headline =
    student.status === 'graded' && r
      ? `<p><b>${formatPoints(r.score)}/${formatPoints(r.maxScore)}</b> points · ${plural(graded.length, 'graded scenario')}: ${tally('passed')} passed · ${tally('failed')} failed${tally('skipped') > 0 ? ` · ${tally('skipped')} not run` : ''}</p>`
      : `<p><b>No final grade</b> (not a zero).</p><pre class="reason">${html(student.reason)}</pre>`;
  const body = [
    '<p><a href="../index.html">← class report</a></p>',
    '<header>',
    `<h1>${html(student.id)} <span class="status status-${student.status}">${student.status}</span></h1>`,
    `<p class="muted">${html(cls.lab.id)}: ${html(cls.lab.title)}</p>`,
    headline,
    ...(student.late
      ? [
          `<p class="late">Submitted ${html(student.late.submittedAt)}, due ${html(student.late.due)}: ${student.late.daysLate === 0 ? 'on time' : `${plural(student.late.daysLate, 'day')} late, −${formatPoints(student.late.penaltyPercent)}%`} · after the late policy <b>${formatPoints(student.late.adjusted)}</b> (raw ${formatPoints(student.late.raw)})</p>`,
        ]
      : []),
    ...(cls.similarity?.pairs ?? [])
      .filter((p) => p.a === student.id || p.b === student.id)
      .map((p) => {
        const other = p.a === student.id ? p.b : p.a;
        return `<p class="similar">Similar to <a href="${html(encodeURIComponent(other))}.html">${html(other)}</a> (${Math.round(p.similarity * 100)}%): see the class report's similar submissions</p>`;
      }),
    ...regradeDiffs(cls)
      .filter((d) => d.student === student.id)
      .map(
        (d) =>
          `<p class="regrade">Regraded: ${formatPoints(d.oldScore)} → ${d.newScore === undefined ? '–' : formatPoints(d.newScore)} against a changed lab; ${d.changed.length === 0 ? 'no scenario changed' : `changed: ${d.changed.map((c) => html(c.name)).join(', ')}`}</p>`,
      ),
    '</header>',
    ...provenance(student),
  ];
  if (r) {
    if (student.status !== 'graded')
      body.push('<p class="caption">What the grade got before it stopped: a partial result, not a final one.</p>');
    body.push(
      '<section id="scenarios">',
      `<h2>Scenarios (${r.scenarios.length})</h2>`,
      ...r.scenarios.flatMap(scenario),
      '</section>',
    );
  }
  return page(`${student.id}: ${cls.lab.id}`, body);
}
