import { createHash } from 'node:crypto';
import { SEVERITIES, type Severity } from '../lab/types.js';

export type ClaimOutcome = 'holds' | 'fails' | 'unchecked';

/** One claim the course makes of any cluster, and whether it held here. */
export interface Claim {
  /** Stable while the lab and the scenario's name stay: what a baseline is matched by. */
  id: string;
  /** The lab (or cluster-setup for the shared features). */
  source: string;
  name: string;
  severity: Severity;
  /** What an operator does when the claim does not hold: the text under the Scenario line. */
  remediation: string;
  /** The feature file, relative to the folder kgrade runs from, and the scenario's line. */
  uri: string;
  line: number;
  outcome: ClaimOutcome;
  /** What was seen: the failure's message, the reason it could not be checked, or the grader's notes when it held. */
  seen: string;
}

export function claimId(source: string, name: string): string {
  return `${source}/${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/** Critical first: the index in SEVERITIES, lower is worse. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** How a failing claim stands against a saved run: failing there too, or new. */
export type BaselineState = 'new' | 'unchanged';

/** What decides the exit code: which claims count, given the threshold and the baseline. */
export interface Verdict {
  /** Failing claims at or above the threshold that the baseline did not already fail. */
  counted: Claim[];
  /** Unchecked claims at or above the threshold that the baseline did not already fail. */
  unknown: Claim[];
  /** Claims the baseline failed that hold now. */
  fixed: string[];
  /** For each failing claim: new, or failing in the baseline too. Empty without a baseline. */
  states: Map<string, BaselineState>;
}

export function judge(claims: Claim[], failOn: Severity, baselineFailing?: ReadonlySet<string>): Verdict {
  const states = new Map<string, BaselineState>();
  if (baselineFailing)
    for (const c of claims)
      if (c.outcome === 'fails') states.set(c.id, baselineFailing.has(c.id) ? 'unchanged' : 'new');
  const known = (c: Claim) => baselineFailing?.has(c.id) ?? false;
  return {
    counted: claims.filter((c) => c.outcome === 'fails' && atLeast(c.severity, failOn) && !known(c)),
    unknown: claims.filter((c) => c.outcome === 'unchecked' && atLeast(c.severity, failOn) && !known(c)),
    fixed: baselineFailing
      ? claims.filter((c) => c.outcome === 'holds' && baselineFailing.has(c.id)).map((c) => c.id)
      : [],
    states,
  };
}
