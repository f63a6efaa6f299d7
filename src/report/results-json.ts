import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { GradeResult, Outcome } from '../grade/model.js';

const SCHEMA_FILE = fileURLToPath(new URL('../../../schemas/results.schema.json', import.meta.url));
const SCHEMA_NAME = 'schemas/results.schema.json';
const OUTCOMES: readonly Outcome[] = ['passed', 'failed', 'error', 'skipped'];

let validator: ValidateFunction | undefined;

function resultsValidator(): ValidateFunction {
  if (!validator) {
    let schema: object;
    try {
      schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object;
    } catch (err) {
      throw new Error(`cannot load the results schema ${SCHEMA_FILE}: ${(err as Error).message}`, { cause: err });
    }
    validator = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  return validator;
}

/** "/scenarios/1/outcome" -> "scenarios[1].outcome" */
function fieldPath(pointer: string): string {
  if (pointer === '') return '(top level)';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function scenarioContext(data: unknown, pointer: string): string {
  const m = /^\/scenarios\/(\d+)(\/|$)/.exec(pointer);
  if (!m || typeof data !== 'object' || data === null) return '';
  const scenarios = (data as { scenarios?: unknown }).scenarios;
  if (!Array.isArray(scenarios)) return '';
  const name = (scenarios[Number(m[1])] as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? ` (scenario "${name}")` : '';
}

function describeSchemaError(data: unknown, e: ErrorObject): string {
  const at = fieldPath(e.instancePath) + scenarioContext(data, e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown field "${String(e.params['additionalProperty'])}"`;
    case 'required':
      return `${at}: missing field "${String(e.params['missingProperty'])}"`;
    case 'enum':
      return `${at}: is ${JSON.stringify(valueAt(data, e.instancePath))}, must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at}: must be ${JSON.stringify(e.params['allowedValue'])}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

function valueAt(data: unknown, pointer: string): unknown {
  let here: unknown = data;
  for (const part of pointer.split('/').slice(1)) {
    if (typeof here !== 'object' || here === null) return undefined;
    here = (here as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return here;
}

function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Invariants between fields that JSON Schema cannot express. */
function consistencyProblems(r: GradeResult): string[] {
  const problems: string[] = [];
  for (const outcome of OUTCOMES) {
    const seen = r.scenarios.filter((s) => s.outcome === outcome).length;
    if (r.counts[outcome] !== seen) {
      problems.push(`counts.${outcome}: is ${r.counts[outcome]} but ${plural(seen, 'scenario')} ended ${outcome}`);
    }
  }
  const errored = r.scenarios.filter((s) => s.outcome === 'error').length;
  if (r.complete !== (errored === 0)) {
    problems.push(`complete: is ${r.complete} but ${plural(errored, 'scenario')} ended in error`);
  }
  const points = r.scenarios.reduce((sum, s) => sum + s.points, 0);
  if (!sameNumber(r.score, points)) {
    problems.push(`score: is ${r.score} but the scenarios' points add up to ${points}`);
  }
  const maxPoints = r.scenarios.reduce((sum, s) => sum + s.maxPoints, 0);
  if (!sameNumber(r.maxScore, maxPoints)) {
    problems.push(`maxScore: is ${r.maxScore} but the scenarios' maxPoints add up to ${maxPoints}`);
  }
  const firstIndexOfId = new Map<string, number>();
  r.scenarios.forEach((s, i) => {
    const at = `scenarios[${i}]`;
    const context = ` (scenario "${s.name}")`;
    if (s.points > s.maxPoints) {
      problems.push(`${at}.points${context}: ${s.points} is more than maxPoints ${s.maxPoints}`);
    }
    if (s.course && s.maxPoints !== 0) {
      problems.push(`${at}.maxPoints${context}: a @course check carries no points, got ${s.maxPoints}`);
    }
    const first = firstIndexOfId.get(s.id);
    if (first !== undefined) {
      problems.push(`${at}.id${context}: "${s.id}" is also the id of scenarios[${first}]`);
    } else {
      firstIndexOfId.set(s.id, i);
    }
  });
  return problems;
}

/**
 * Checks data against schemas/results.schema.json and the invariants between
 * its fields; throws one Error listing every bad field. `source` names the
 * data in that message (a file, or "the grade result").
 */
export function validateGradeResult(data: unknown, source: string): GradeResult {
  const validate = resultsValidator();
  let problems: string[];
  if (!validate(data)) {
    problems = (validate.errors ?? []).map((e) => describeSchemaError(data, e));
  } else {
    problems = consistencyProblems(data as GradeResult);
  }
  if (problems.length > 0) {
    throw new Error(`${source} does not match ${SCHEMA_NAME}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return data as GradeResult;
}

/** Validates, then writes dir/results.json; returns the path written. */
export async function writeResultsJson(result: GradeResult, dir: string): Promise<string> {
  const file = path.join(dir, 'results.json');
  validateGradeResult(result, `the grade result for ${file}`);
  await mkdir(dir, { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`, 'utf8');
  return file;
}

export async function readResultsJson(file: string): Promise<GradeResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read results: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateGradeResult(data, file);
}
