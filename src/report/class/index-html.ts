import { formatPoints, plural } from '../summary.js';
import { html } from './escape.js';
import { shortHash, type ClassResults, type ClassStudent } from './model.js';
import { page, studentHref } from './page.js';
import { classSummary, passRates, scoreHistogram } from './stats.js';
import { histogramSvg, passRateSvg } from './svg.js';

const STATUS_TEXT = { graded: 'graded', error: 'error', missing: 'missing' } as const;

function status(student: ClassStudent): string {
  return `<span class="status status-${student.status}">${STATUS_TEXT[student.status]}</span>`;
}

function link(student: ClassStudent): string {
  return `<a href="${studentHref(student.id)}">${html(student.id)}</a>`;
}

function score(student: ClassStudent, max: number): string {
  return student.status === 'graded' && student.result ? `${formatPoints(student.result.score)}/${formatPoints(student.result.maxScore)}` : `–/${formatPoints(max)}`;
}

function facts(cls: ClassResults): string[] {
  const sum = classSummary(cls);
  const items = [
    `<li><b>${sum.students}</b> students</li>`,
    `<li><b>${sum.graded}</b> graded</li>`,
    `<li><b>${sum.errors}</b> ${sum.errors === 1 ? 'error' : 'errors'}</li>`,
  ];
  if (sum.missing > 0) items.push(`<li><b>${sum.missing}</b> not graded yet</li>`);
  if (sum.mean !== undefined && sum.median !== undefined) {
    items.push(
      `<li>mean <b>${formatPoints(sum.mean)}</b>/${formatPoints(cls.lab.maxScore)}</li>`,
      `<li>median <b>${formatPoints(sum.median)}</b>/${formatPoints(cls.lab.maxScore)}</li>`,
    );
  }
  return ['<ul class="facts">', ...items, '</ul>'];
}

function withoutGrade(cls: ClassResults): string[] {
  const troubled = cls.students.filter((s) => s.status !== 'graded');
  const out = ['<section id="errors">', `<h2>Students without a final grade (${troubled.length})</h2>`];
  if (troubled.length === 0) {
    out.push('<p>None: every student has a final grade.</p>');
  } else {
    out.push(
      '<p class="caption">No score is given to these students: not a zero. Fix the cause and run the batch again; it grades only these.</p>',
      '<ul class="errors">',
      ...troubled.map(
        (s) =>
          `<li data-student="${html(s.id)}">${link(s)} ${status(s)}${s.attempts > 0 ? ` <span class="muted">after ${plural(s.attempts, 'attempt')}</span>` : ''}<div class="reason">${html(s.reason)}</div></li>`,
      ),
      '</ul>',
    );
  }
  out.push('</section>');
  return out;
}

function studentsTable(cls: ClassResults): string[] {
  const rows = cls.students.map((s) => {
    const graded = s.result?.scenarios.filter((x) => !x.course);
    const cells = graded
      ? (['passed', 'failed', 'error'] as const).map((o) => `<td class="num">${graded.filter((x) => x.outcome === o).length}</td>`)
      : ['<td class="num">–</td>', '<td class="num">–</td>', '<td class="num">–</td>'];
    return `<tr data-student="${html(s.id)}" data-status="${s.status}"><td>${link(s)}</td><td>${status(s)}</td><td class="num">${score(s, cls.lab.maxScore)}</td>${cells.join('')}<td class="num">${s.attempts}</td></tr>`;
  });
  return [
    '<section id="students">',
    `<h2>Students (${cls.students.length})</h2>`,
    '<table>',
    '<thead><tr><th>Student</th><th>Status</th><th class="num">Score</th><th class="num">Passed</th><th class="num">Failed</th><th class="num">Grader errors</th><th class="num">Attempts</th></tr></thead>',
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>',
    '</section>',
  ];
}

/**
 * index.html of the class report: the class at a glance (score histogram, each scenario's pass
 * rate hardest first), the students without a final grade with why, and every student linking to
 * their page. Self-contained and offline; everything a student or a lab wrote is escaped.
 */
export function toClassIndexHtml(cls: ClassResults): string {
  const bins = scoreHistogram(cls);
  const rates = passRates(cls);
  const sum = classSummary(cls);
  const unscored = sum.errors + sum.missing;
  return page(`${cls.lab.id}: class report`, [
    '<header>',
    `<h1>${html(cls.lab.id)}: ${html(cls.lab.title)}</h1>`,
    `<p class="muted">Class report · ${formatPoints(cls.lab.maxScore)} points · lab hash <code>${html(shortHash(cls.lab.hash))}</code> · kgrade ${html(cls.kgradeVersion)}</p>`,
    ...facts(cls),
    '</header>',
    '<section id="distribution">',
    '<h2>Score distribution</h2>',
    histogramSvg(bins, cls.lab.maxScore),
    `<p class="caption">Final scores of the ${plural(sum.graded, 'graded student')}.${unscored > 0 ? ` ${plural(unscored, 'student')} without a final grade ${unscored === 1 ? 'is' : 'are'} not counted.` : ''}</p>`,
    '</section>',
    '<section id="pass-rates">',
    '<h2>Pass rate per scenario, hardest first</h2>',
    rates.length > 0 ? passRateSvg(rates) : '<p>No graded scenario in the stored results yet.</p>',
    '<p class="caption">Over every student with an outcome for the scenario; a run that ended in a grader error is no outcome and is counted apart.</p>',
    '</section>',
    ...withoutGrade(cls),
    ...studentsTable(cls),
    `<footer>Made by kgrade from the batch's stored results (batch.json and results/). This page and the student pages load nothing from anywhere.</footer>`,
  ]);
}
