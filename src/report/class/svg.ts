import { formatPoints, plural } from '../summary.js';
import { html } from './escape.js';
import type { HistogramBin, PassRate } from './stats.js';

/* Charts as inline SVG the report writes itself: no library, nothing fetched, the same bytes every time. */

const n = (v: number): string => String(Number(v.toFixed(1)));

/** Hangul, CJK and other wide characters take about two columns of a Latin font. */
function width(ch: string): number {
  const c = ch.codePointAt(0) ?? 0;
  return (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xff00 && c <= 0xff60) ||
    c >= 0x1f300
    ? 2
    : 1;
}

/** The text cut to about `columns` columns, with an ellipsis when cut. */
export function fit(text: string, columns: number): string {
  const chars = [...text.replace(/\s+/g, ' ')];
  let used = 0;
  for (let i = 0; i < chars.length; i += 1) {
    used += width(chars[i] ?? '');
    if (used > columns) return `${chars.slice(0, Math.max(0, i - 1)).join('')}…`;
  }
  return chars.join('');
}

export function rateColor(rate: number): string {
  return rate < 0.5 ? '#c0392b' : rate < 0.8 ? '#d68910' : '#1e8449';
}

function ticks(max: number): number[] {
  const step = max <= 10 ? 1 : Math.ceil(max / 10 / 5) * 5;
  const out: number[] = [];
  for (let t = 0; t <= max; t += step) out.push(t);
  return out;
}

/** The score distribution: one bar per bin, its height the number of students in it. */
export function histogramSvg(bins: HistogramBin[], maxScore: number): string {
  const W = 1100;
  const H = 300;
  const left = 56;
  const right = 16;
  const top = 24;
  const bottom = 56;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const most = Math.max(1, ...bins.map((b) => b.students.length));
  const slot = plotW / Math.max(1, bins.length);
  const y = (count: number) => top + plotH - (count / most) * plotH;
  const total = bins.reduce((s, b) => s + b.students.length, 0);
  const lines = [
    `<svg class="chart histogram" role="img" aria-labelledby="histogram-title" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-bins="${bins.length}" data-students="${total}">`,
    `<title id="histogram-title">Score distribution: ${plural(total, 'graded student')}, scores out of ${html(formatPoints(maxScore))}</title>`,
    '<g class="grid">',
    ...ticks(most).map(
      (t) =>
        `<line x1="${left}" x2="${W - right}" y1="${n(y(t))}" y2="${n(y(t))}"/><text class="tick" x="${left - 8}" y="${n(y(t) + 4)}" text-anchor="end">${t}</text>`,
    ),
    '</g>',
    '<g class="bars">',
  ];
  bins.forEach((b, i) => {
    const count = b.students.length;
    const x = left + i * slot + slot * 0.1;
    const h = (count / most) * plotH;
    lines.push(
      `<rect class="bar" x="${n(x)}" y="${n(top + plotH - h)}" width="${n(slot * 0.8)}" height="${n(h)}" data-bin="${html(b.label)}" data-count="${count}"><title>${html(b.label)}: ${plural(count, 'student')}</title></rect>`,
    );
    if (count > 0)
      lines.push(
        `<text class="count" x="${n(x + slot * 0.4)}" y="${n(top + plotH - h - 6)}" text-anchor="middle">${count}</text>`,
      );
    lines.push(
      `<text class="bin" x="${n(x + slot * 0.4)}" y="${n(top + plotH + 18)}" text-anchor="middle">${html(b.label)}</text>`,
    );
  });
  lines.push(
    '</g>',
    `<line class="axis" x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<text class="axis-title" x="${n(left + plotW / 2)}" y="${H - 10}" text-anchor="middle">score (points out of ${html(formatPoints(maxScore))})</text>`,
    `<text class="axis-title" x="14" y="${n(top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 14 ${n(top + plotH / 2)})">students</text>`,
    '</svg>',
  );
  return lines.join('\n');
}

/** Each scenario's pass rate as a horizontal bar, in the order given (hardest first). */
export function passRateSvg(rates: PassRate[]): string {
  const W = 1100;
  const row = 30;
  const top = 8;
  const labelRight = 420;
  const barX = 432;
  const barW = 420;
  const H = top + rates.length * row + 36;
  const lines = [
    `<svg class="chart pass-rate" role="img" aria-labelledby="pass-rate-title" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-scenarios="${rates.length}">`,
    '<title id="pass-rate-title">Pass rate of each scenario, hardest first</title>',
    '<g class="grid">',
    ...[0, 0.25, 0.5, 0.75, 1].map((t) => {
      const x = n(barX + t * barW);
      return `<line x1="${x}" x2="${x}" y1="${top}" y2="${top + rates.length * row}"/><text class="tick" x="${x}" y="${top + rates.length * row + 18}" text-anchor="middle">${t * 100}%</text>`;
    }),
    '</g>',
  ];
  rates.forEach((r, i) => {
    const y = top + i * row;
    const name = r.scenario.name + (r.scenario.hidden ? ' (hidden)' : '');
    const value =
      r.graded === 0
        ? 'no outcome yet'
        : `${Math.round(r.rate * 100)}% · ${r.passed}/${r.graded} passed` +
          (r.errors > 0 ? ` · ${plural(r.errors, 'grader error')}` : '');
    lines.push(
      `<g class="row" data-scenario="${html(r.scenario.id)}">`,
      `<title>${html(name)} (${html(r.scenario.id)}): ${html(value)}</title>`,
      `<text class="label" x="${labelRight}" y="${y + 19}" text-anchor="end">${html(fit(name, 58))}</text>`,
      `<rect class="track" x="${barX}" y="${y + 5}" width="${barW}" height="${row - 10}"/>`,
      `<rect class="bar" x="${barX}" y="${y + 5}" width="${n(r.rate * barW)}" height="${row - 10}" fill="${rateColor(r.rate)}" data-rate="${r.rate.toFixed(3)}" data-passed="${r.passed}" data-graded="${r.graded}"/>`,
      `<text class="value" x="${barX + barW + 10}" y="${y + 19}">${html(value)}</text>`,
      '</g>',
    );
  });
  lines.push('</svg>');
  return lines.join('\n');
}

/** Each scenario's discrimination as a bar from the middle line (0): right and green when positive, left and red when negative. */
export function discriminationSvg(
  items: Array<{ id: string; name: string; discrimination: number | null; flagged: boolean }>,
): string {
  const W = 1100;
  const row = 30;
  const top = 8;
  const labelRight = 420;
  const barX = 432;
  const barW = 420;
  const mid = barX + barW / 2;
  const H = top + items.length * row + 36;
  const lines = [
    `<svg class="chart items" role="img" aria-labelledby="items-title" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-scenarios="${items.length}">`,
    '<title id="items-title">Discrimination of each scenario: how passing it tracks the rest of the score</title>',
    '<g class="grid">',
    ...[-1, -0.5, 0, 0.5, 1].map((t) => {
      const x = n(mid + (t * barW) / 2);
      return `<line x1="${x}" x2="${x}" y1="${top}" y2="${top + items.length * row}"/><text class="tick" x="${x}" y="${top + items.length * row + 18}" text-anchor="middle">${t}</text>`;
    }),
    '</g>',
  ];
  items.forEach((it, i) => {
    const y = top + i * row;
    const d = it.discrimination;
    const w = d === null ? 0 : (Math.abs(d) * barW) / 2;
    const x = d !== null && d < 0 ? mid - w : mid;
    const colour = d === null ? '#7f8c8d' : d < 0 ? '#c0392b' : '#1e8449';
    lines.push(
      `<g class="row" data-scenario="${html(it.id)}">`,
      `<title>${html(it.name)}: ${d === null ? 'no discrimination (no spread)' : `discrimination ${d.toFixed(2)}`}</title>`,
      `<text class="label" x="${labelRight}" y="${y + 19}" text-anchor="end">${html(fit(it.name, 58))}</text>`,
      `<rect class="bar" x="${n(x)}" y="${y + 5}" width="${n(w)}" height="${row - 10}" fill="${colour}" data-discrimination="${d === null ? '' : d.toFixed(3)}"/>`,
      `<text class="value" x="${barX + barW + 10}" y="${y + 19}">${d === null ? '–' : d.toFixed(2)}${it.flagged ? ' ⚑' : ''}</text>`,
      '</g>',
    );
  });
  lines.push('</svg>');
  return lines.join('\n');
}
