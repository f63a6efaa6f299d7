import { formatPoints, plural } from '../summary.js';
import { html } from './escape.js';
import { shortHash, type ClassResults, type ClassStudent } from './model.js';
import { page, studentHref } from './page.js';
import { classSummary, passRates, scoreHistogram } from './stats.js';
import { discriminationSvg, histogramSvg, passRateSvg } from './svg.js';
import { FLAG_TEXT, itemAnalysis } from './items.js';
import { regradeDiffs } from './regrade.js';

const STATUS_TEXT = { graded: 'graded', error: 'error', missing: 'missing' } as const;

function status(student: ClassStudent): string {
  return `<span class="status status-${student.status}">${STATUS_TEXT[student.status]}</span>`;
}

function link(student: ClassStudent): string {
  return `<a href="${studentHref(student.id)}">${html(student.id)}</a>`;
}

function score(student: ClassStudent, max: number): string {
  return student.status === 'graded' && student.result
    ? `${formatPoints(student.result.score)}/${formatPoints(student.result.maxScore)}`
    : `–/${formatPoints(max)}`;
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

const pct = (v: number) => `${Math.round(v * 100)}%`;

function itemsSection(cls: ClassResults): string[] {
  const items = itemAnalysis(cls);
  if (items.length === 0) return [];
  const rows = items.map(
    (it) =>
      `<tr data-scenario="${html(it.id)}" data-flags="${it.flags.join(' ')}"><td>${html(it.name)}</td><td class="num">${it.passRate === null ? '–' : pct(it.passRate)}</td><td class="num">${it.passed}/${it.students}</td><td class="num">${it.discrimination === null ? '–' : it.discrimination.toFixed(2)}</td><td>${it.flags.map((f) => `<span class="flag flag-${f}">${html(FLAG_TEXT[f])}</span>`).join(' ')}</td></tr>`,
  );
  return [
    '<section id="items">',
    '<h2>Item analysis</h2>',
    discriminationSvg(
      items.map((it) => ({
        id: it.id,
        name: it.name,
        discrimination: it.discrimination,
        flagged: it.flags.length > 0,
      })),
    ),
    '<table>',
    '<thead><tr><th>Scenario</th><th class="num">Pass rate</th><th class="num">Passed</th><th class="num">Discrimination</th><th>Flags</th></tr></thead>',
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>',
    '<p class="caption">Over the graded students. Discrimination: the point-biserial correlation between passing the scenario and the rest of the score (the score without this scenario); near 0 or below, the scenario does not separate stronger submissions from weaker ones. Data: items.json.</p>',
    '</section>',
  ];
}

function fragmentRows(lines: string[]): string {
  return html(lines.join('\n'));
}

function similaritySection(cls: ClassResults): string[] {
  const sim = cls.similarity;
  if (!sim) return [];
  const out = ['<section id="similarity">', `<h2>Similar submissions (${sim.pairs.length})</h2>`];
  if (sim.pairs.length === 0) {
    out.push(
      `<p>No pair of the ${plural(sim.compared.length, 'submission')} compared reaches ${pct(sim.threshold)}.</p>`,
    );
  } else {
    for (const p of sim.pairs) {
      out.push(
        `<details class="pair" data-a="${html(p.a)}" data-b="${html(p.b)}" data-similarity="${p.similarity.toFixed(3)}">`,
        `<summary><b>${pct(p.similarity)}</b> ${html(p.a)} · ${html(p.b)} <span class="muted">(${plural(p.fragments.length, 'shared fragment')}, longest ${p.longest} fingerprints)</span></summary>`,
        '<table class="fragments">',
        `<thead><tr><th>${html(p.a)}</th><th>${html(p.b)}</th></tr></thead>`,
        '<tbody>',
        ...p.fragments.map(
          (f) =>
            `<tr><td><span class="muted">lines ${f.a.from}–${f.a.to}</span><pre>${fragmentRows(f.a.text)}</pre></td><td><span class="muted">lines ${f.b.from}–${f.b.to}</span><pre>${fragmentRows(f.b.text)}</pre></td></tr>`,
        ),
        '</tbody>',
        '</table>',
        '</details>',
      );
    }
  }
  out.push(
    `<p class="caption">Compared after normalisation (comments, names and key order gone) with Dolos's winnowing; pairs from ${pct(sim.threshold)} on. What the lab's own files (reference/, correct/, wrong/, fixtures) hold, and what many submissions share, does not count. A lead to read, not a verdict. Data: similarity.json.</p>`,
    '</section>',
  );
  return out;
}

function regradeSection(cls: ClassResults): string[] {
  const diffs = regradeDiffs(cls);
  if (diffs.length === 0) return [];
  const change = (c: { outcome: string; points: number } | undefined) =>
    c ? `${c.outcome} ${formatPoints(c.points)}` : '–';
  return [
    '<section id="regrade">',
    `<h2>Regraded against a changed lab (${diffs.length})</h2>`,
    '<table>',
    '<thead><tr><th>Student</th><th class="num">Old score</th><th class="num">New score</th><th>Scenarios that changed</th></tr></thead>',
    '<tbody>',
    ...diffs.map(
      (d) =>
        `<tr data-student="${html(d.student)}"><td><a href="${studentHref(d.student)}">${html(d.student)}</a></td><td class="num">${formatPoints(d.oldScore)}</td><td class="num">${d.newScore === undefined ? '–' : formatPoints(d.newScore)}</td><td>${d.changed.length === 0 ? 'none' : `<ul>${d.changed.map((c) => `<li>${html(c.name)}: ${html(change(c.before))} → ${html(change(c.after))}</li>`).join('')}</ul>`}</td></tr>`,
    ),
    '</tbody>',
    '</table>',
    '<p class="caption">The earlier grades are kept in results/history/&lt;id&gt;/. Data: regrade.json.</p>',
    '</section>',
  ];
}

function studentsTable(cls: ClassResults): string[] {
  const rows = cls.students.map((s) => {
    const graded = s.result?.scenarios.filter((x) => !x.course);
    const cells = graded
      ? (['passed', 'failed', 'error'] as const).map(
          (o) => `<td class="num">${graded.filter((x) => x.outcome === o).length}</td>`,
        )
      : ['<td class="num">–</td>', '<td class="num">–</td>', '<td class="num">–</td>'];
    const late = cls.policy
      ? `<td class="num">${s.late ? `${formatPoints(s.late.adjusted)}` : '–'}</td><td class="num">${s.late ? `${s.late.daysLate} d, −${formatPoints(s.late.penaltyPercent)}%` : '–'}</td>`
      : '';
    return `<tr data-student="${html(s.id)}" data-status="${s.status}"><td>${link(s)}</td><td>${status(s)}</td><td class="num">${score(s, cls.lab.maxScore)}</td>${late}${cells.join('')}<td class="num">${s.attempts}</td></tr>`;
  });
  return [
    '<section id="students">',
    `<h2>Students (${cls.students.length})</h2>`,
    '<table>',
    `<thead><tr><th>Student</th><th>Status</th><th class="num">Score</th>${cls.policy ? '<th class="num">After the late policy</th><th class="num">Late</th>' : ''}<th class="num">Passed</th><th class="num">Failed</th><th class="num">Grader errors</th><th class="num">Attempts</th></tr></thead>`,
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
    ...itemsSection(cls),
    ...similaritySection(cls),
    ...regradeSection(cls),
    ...withoutGrade(cls),
    ...studentsTable(cls),
    `<footer>Made by kgrade from the batch's stored results (batch.json and results/). This page and the student pages load nothing from anywhere.</footer>`,
  ]);
}
