import { html } from './escape.js';

/*
 * The frame of every page of the class report: one file each, its style inline, no script, no
 * font, image or stylesheet from anywhere else. The Content-Security-Policy says the same to the
 * browser, so that even text that slipped past escaping could load or run nothing.
 */

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
:root { color-scheme: light; --fg: #1c2833; --muted: #5d6d7e; --line: #d5d8dc; --bg-soft: #f4f6f7;
  --passed: #1e8449; --failed: #c0392b; --error: #b9770e; --skipped: #7f8c8d; --missing: #7f8c8d; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1160px; padding: 24px 28px 48px; color: var(--fg); background: #fff;
  font: 15px/1.45 system-ui, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo", "DejaVu Sans", sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0; }
a { color: #1f618d; }
.muted, .caption { color: var(--muted); }
.caption { font-size: 13px; margin: 4px 0 0; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 24px; margin: 8px 0 0; padding: 0; list-style: none; }
.facts b { font-size: 18px; }
.chart { display: block; max-width: 100%; height: auto; font-size: 13px; }
.chart .grid line { stroke: #e5e8e8; }
.chart .axis { stroke: var(--muted); }
.chart .tick, .chart .bin, .chart .axis-title { fill: var(--muted); }
.chart .count { fill: var(--fg); font-weight: 600; }
.histogram .bar { fill: #2e86c1; }
.pass-rate .track { fill: var(--bg-soft); }
.pass-rate .label, .pass-rate .value { fill: var(--fg); }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status, .outcome { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 13px; font-weight: 600; color: #fff; }
.status-graded, .outcome-passed { background: var(--passed); }
.status-error, .outcome-error { background: var(--error); }
.status-missing { background: var(--missing); }
.outcome-failed { background: var(--failed); }
.outcome-skipped { background: var(--skipped); }
.reason { white-space: pre-wrap; overflow-wrap: anywhere; }
ul.errors li { margin: 6px 0; }
.scenario { border: 1px solid var(--line); border-left-width: 6px; border-radius: 4px; padding: 10px 14px; margin: 12px 0; }
.scenario.passed { border-left-color: var(--passed); }
.scenario.failed { border-left-color: var(--failed); }
.scenario.error { border-left-color: var(--error); }
.scenario.skipped { border-left-color: var(--skipped); }
.scenario header { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; }
.scenario .points { margin-left: auto; font-weight: 600; font-variant-numeric: tabular-nums; }
pre { background: var(--bg-soft); padding: 8px 10px; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 8px 0; font-size: 13px; }
dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
dl.provenance dt { color: var(--muted); }
dl.provenance dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: 13px; }
.items .label, .items .value { fill: var(--fg); }
.flag { display: inline-block; padding: 0 6px; margin: 1px 0; border-radius: 4px; font-size: 12px; background: #fdebd0; color: #784212; }
.flag-negative-discrimination, .flag-no-one-passes { background: #fadbd8; color: #78281f; }
details.pair { border: 1px solid var(--line); border-radius: 4px; padding: 6px 10px; margin: 8px 0; }
details.pair summary { cursor: pointer; }
table.fragments td { width: 50%; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
`;

/** A whole page: the title is escaped here, the body must be escaped HTML already. */
export function page(title: string, body: string[]): string {
  return `${[
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${html(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
  ].join('\n')}\n`;
}

/** Where a student's page is, relative to the report folder (a file name per id; ids are checked to be one path segment). */
export function studentPagePath(id: string): string {
  return `students/${id}.html`;
}

/** The same, as an escaped href relative to the report folder. */
export function studentHref(id: string): string {
  return html(`students/${encodeURIComponent(id)}.html`);
}
