import type * as Sarif from 'sarif';
import { SEVERITIES, type Severity } from '../lab/types.js';
import { attrs, xmlText } from '../report/xml.js';
import type { Claim, Verdict } from './claim.js';

export const FORMATS = ['text', 'json', 'junit', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

/** What every format says besides the claims. */
export interface ScanContext {
  kgradeVersion: string;
  /** The kubeconfig context that was checked. */
  cluster: string;
  failOn: Severity;
  /** The saved run compared with, as given on the command line. */
  baseline?: string;
  verdict: Verdict;
}

/** The JSON form; `--baseline` reads it back, so its shape changes only with FORMAT. */
export interface CheckRun {
  format: typeof FORMAT;
  kgrade: string;
  cluster: string;
  failOn: Severity;
  summary: { holds: number; fails: number; unchecked: number; counted: number };
  baseline?: { file: string; fixed: string[] };
  claims: Array<Claim & { baseline?: 'new' | 'unchanged' }>;
}

export const FORMAT = 'kgrade-check/1';

function count(claims: Claim[], outcome: Claim['outcome']): number {
  return claims.filter((c) => c.outcome === outcome).length;
}

export function toJson(claims: Claim[], ctx: ScanContext): CheckRun {
  return {
    format: FORMAT,
    kgrade: ctx.kgradeVersion,
    cluster: ctx.cluster,
    failOn: ctx.failOn,
    summary: {
      holds: count(claims, 'holds'),
      fails: count(claims, 'fails'),
      unchecked: count(claims, 'unchecked'),
      counted: ctx.verdict.counted.length,
    },
    ...(ctx.baseline !== undefined ? { baseline: { file: ctx.baseline, fixed: ctx.verdict.fixed } } : {}),
    claims: claims.map((c) => {
      const state = ctx.verdict.states.get(c.id);
      return { ...c, ...(state ? { baseline: state } : {}) };
    }),
  };
}

const MARK = { holds: 'holds    ', fails: 'FAILS    ', unchecked: 'UNCHECKED' } as const;
const SEVERITY_WIDTH = Math.max(...SEVERITIES.map((s) => s.length));
/** A held claim's evidence, on one line of at most this many characters. */
const HELD_SEEN = 240;
const INDENT = '          ';

/**
 * The terminal report: one line a claim with its severity; under each that did not hold, what
 * was seen and the remediation; under each that held, the start of the grader's notes (the form
 * it saw, e.g. kube-proxy's mode). The last lines say what decided the exit code.
 */
export function toText(claims: Claim[], ctx: ScanContext): string {
  const lines: string[] = [];
  for (const c of claims) {
    const state = ctx.verdict.states.get(c.id);
    lines.push(
      `${MARK[c.outcome]} ${c.severity.padEnd(SEVERITY_WIDTH)} ${c.source}: ${c.name}${state === 'unchanged' ? '  (in the baseline)' : state === 'new' ? '  (new)' : ''}`,
    );
    if (c.outcome === 'holds') {
      const one = c.seen.replace(/\s+/g, ' ').trim();
      if (one) lines.push(`${INDENT}seen: ${one.length > HELD_SEEN ? `${one.slice(0, HELD_SEEN - 1)}…` : one}`);
      continue;
    }
    lines.push(
      ...(c.seen || (c.outcome === 'unchecked' ? 'not checked: no reason was recorded' : ''))
        .split('\n')
        .slice(0, 8)
        .map((l) => `${INDENT}${l}`),
    );
    if (c.outcome === 'fails')
      lines.push(
        ...c.remediation.split('\n').map((l, i) => `${INDENT}${i === 0 ? 'remediation: ' : '             '}${l}`),
      );
  }
  const v = ctx.verdict;
  lines.push(
    '',
    `${count(claims, 'holds')} hold, ${count(claims, 'fails')} do not hold, ${count(claims, 'unchecked')} could not be checked`,
  );
  const scope = `at or above ${ctx.failOn}${ctx.baseline !== undefined ? `, not failing in ${ctx.baseline}` : ''}`;
  lines.push(
    `${v.counted.length} failing ${scope}; ${v.unknown.length} unchecked ${scope}${v.fixed.length ? `; ${v.fixed.length} fixed since the baseline` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** JUnit XML: a testcase a claim; a failure for each that does not hold, skipped with the reason for each not checked. */
export function toJunit(claims: Claim[], ctx: ScanContext): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: `kgrade check ${ctx.cluster}`, tests: String(claims.length), failures: String(count(claims, 'fails')), skipped: String(count(claims, 'unchecked')) })}>`,
  ];
  for (const source of [...new Set(claims.map((c) => c.source))]) {
    const mine = claims.filter((c) => c.source === source);
    out.push(
      `  <testsuite${attrs({ name: source, tests: String(mine.length), failures: String(count(mine, 'fails')), skipped: String(count(mine, 'unchecked')) })}>`,
    );
    for (const c of mine) {
      const open = `    <testcase${attrs({ classname: source, name: c.name, file: c.uri, line: String(c.line) })}`;
      if (c.outcome === 'holds') {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      if (c.outcome === 'fails') {
        const state = ctx.verdict.states.get(c.id);
        out.push(
          `      <failure${attrs({ type: c.severity, message: c.seen.split('\n')[0] ?? '' })}>${xmlText(`${c.seen}\n\nseverity: ${c.severity}${state ? ` (${state === 'new' ? 'new' : 'in the baseline'})` : ''}\nremediation: ${c.remediation}`)}</failure>`,
        );
      } else {
        out.push(`      <skipped${attrs({ message: `not checked: ${c.seen.split('\n')[0] ?? ''}` })}/>`);
      }
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

const LEVEL: Record<Severity, Sarif.ReportingConfiguration.level> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
};
/** GitHub code scanning reads security-severity as a CVSS-like score. */
const SCORE: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0' };

/**
 * SARIF 2.1.0: one rule a claim (its remediation as help), one result a claim: kind fail, pass,
 * or open (could not be checked, with the reason), located at the scenario in its feature file.
 */
export function toSarif(claims: Claim[], ctx: ScanContext): Sarif.Log {
  const rules: Sarif.ReportingDescriptor[] = claims.map((c) => ({
    id: c.id,
    name: `${c.source}: ${c.name}`,
    shortDescription: { text: c.name },
    help: { text: c.remediation },
    defaultConfiguration: { level: LEVEL[c.severity] },
    properties: { severity: c.severity, 'security-severity': SCORE[c.severity], source: c.source },
  }));
  const results: Sarif.Result[] = claims.map((c, ruleIndex) => {
    const state = ctx.verdict.states.get(c.id);
    return {
      ruleId: c.id,
      ruleIndex,
      kind: c.outcome === 'holds' ? 'pass' : c.outcome === 'fails' ? 'fail' : 'open',
      level: c.outcome === 'fails' ? LEVEL[c.severity] : 'none',
      message: { text: c.seen || (c.outcome === 'holds' ? 'holds' : 'not checked: no reason was recorded') },
      locations: [{ physicalLocation: { artifactLocation: { uri: c.uri }, region: { startLine: c.line } } }],
      ...(state ? { baselineState: state } : {}),
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'kgrade check', version: ctx.kgradeVersion, rules } },
        automationDetails: { id: `kgrade-check/${ctx.cluster}/` },
        results,
        invocations: [
          {
            executionSuccessful: ctx.verdict.unknown.length === 0,
            toolExecutionNotifications: claims
              .filter((c) => c.outcome === 'unchecked')
              .map((c) => ({
                level: 'warning',
                message: { text: `not checked: ${c.source}: ${c.name}: ${c.seen}` },
                descriptor: { id: c.id },
              })),
          },
        ],
        properties: {
          failOn: ctx.failOn,
          ...(ctx.baseline !== undefined ? { baseline: ctx.baseline, fixed: ctx.verdict.fixed } : {}),
        },
      },
    ],
  };
}

export function render(format: Format, claims: Claim[], ctx: ScanContext): string {
  switch (format) {
    case 'text':
      return toText(claims, ctx);
    case 'json':
      return `${JSON.stringify(toJson(claims, ctx), null, 2)}\n`;
    case 'junit':
      return toJunit(claims, ctx);
    case 'sarif':
      return `${JSON.stringify(toSarif(claims, ctx), null, 2)}\n`;
  }
}
