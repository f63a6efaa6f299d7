import { SEVERITIES, type ScenarioDef } from './types.js';

/**
 * What `kgrade check` reports of a @course check beyond its outcome: a @severity:<level> tag and a
 * remediation (the text under the Scenario line). Cluster labs and the shared features need
 * both; a sandbox lab's course checks are never scanned.
 */
export function scannerProblems(scenarios: readonly ScenarioDef[]): string[] {
  const problems: string[] = [];
  for (const s of scenarios.filter((x) => x.course)) {
    const where = `${s.id}: scenario "${s.name}"`;
    if (!s.severity)
      problems.push(`${where}: a @course check of a cluster needs a @severity:<level> tag (${SEVERITIES.join(', ')})`);
    if (s.hint === '')
      problems.push(
        `${where}: a @course check of a cluster needs a remediation: a line of text under the Scenario line that tells an operator what to fix`,
      );
  }
  return problems;
}
