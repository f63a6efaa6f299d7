import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import { REPO_ROOT } from '../paths.js';

/*
 * The late policy (schemas/late-policy.schema.json): a due date, minutes of grace, a penalty in
 * percent of the score per started day late, a cap, per-student extensions, and where the time of
 * a submission comes from. It changes no stored result: the report applies it to the raw scores,
 * so a changed policy takes effect by running kgrade report again.
 */

export type TimeSource = 'roster' | 'archive' | 'git';

export interface LatePolicy {
  file: string;
  due: string;
  graceMinutes: number;
  penaltyPerDay: number;
  cap: number;
  submittedAt: TimeSource;
  extensions: Record<string, string | { days: number }>;
  /** The line of each extension's student id in the file. */
  extensionLines: Record<string, number>;
}

/** What the policy made of one student's score. */
export interface LateAdjustment {
  submittedAt: string;
  /** The due time that applies to the student (their extension's, if any). */
  due: string;
  /** Started days after the due time and the grace; 0 when on time. */
  daysLate: number;
  /** Percent taken off (daysLate × penaltyPerDay, at most the cap). */
  penaltyPercent: number;
  raw: number;
  adjusted: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
let validator: Promise<Validator> | undefined;

async function compile(): Promise<Validator> {
  const { Ajv } = await import('ajv');
  const schema = JSON.parse(
    await readFile(path.join(REPO_ROOT, 'schemas', 'late-policy.schema.json'), 'utf8'),
  ) as object;
  return new Ajv({ allErrors: true, useDefaults: true, strict: true }).compile(schema) as Validator;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.');
  if (e.keyword === 'additionalProperties') return `${at}: unknown field "${String(e.params['additionalProperty'])}"`;
  if (e.keyword === 'required') return `${at}: missing field "${String(e.params['missingProperty'])}"`;
  if (e.keyword === 'enum')
    return `${at}: must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'pattern') return `${at}: must be a date and time with its offset, e.g. 2026-10-01T23:59:00+02:00`;
  return `${at}: ${e.message ?? e.keyword}`;
}

/** Parses and validates a policy's text; every problem names the file and its line. */
export async function parsePolicy(text: string, file: string): Promise<LatePolicy> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lines.linePos(offset).line);
  if (doc.errors.length > 0) {
    throw new UsageError(
      `${file} is not valid YAML:\n${doc.errors.map((e) => `  - ${file}:${lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`).join('\n')}`,
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new UsageError(`${file}:1: a late policy is a mapping (due, penaltyPerDay, submittedAt, ...)`);
  validator ??= compile();
  const validate = await validator;
  const problems: string[] = [];
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      if (e.keyword === 'oneOf') continue;
      const keys = e.instancePath
        .split('/')
        .slice(1)
        .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
      const at = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
      // an unknown field: the line of the field itself, not of its mapping
      const unknown =
        e.keyword === 'additionalProperties' && isMap(at)
          ? at.items.find((p) => isScalar(p.key) && p.key.value === e.params['additionalProperty'])?.key
          : undefined;
      const node = unknown ?? at;
      problems.push(`${file}:${lineOf(isNode(node) ? node.range?.[0] : undefined)}: ${describe(e)}`);
    }
  }
  const policy = data as Omit<LatePolicy, 'file' | 'extensionLines'>;
  if (problems.length === 0) {
    const dates: Array<[string[], string]> = [[['due'], policy.due]];
    for (const [id, ext] of Object.entries(policy.extensions))
      if (typeof ext === 'string') dates.push([['extensions', id], ext]);
    for (const [keys, value] of dates) {
      if (Number.isNaN(Date.parse(value))) {
        const node = doc.getIn(keys, true);
        problems.push(
          `${file}:${lineOf(isNode(node) ? node.range?.[0] : undefined)}: ${keys.join('.')}: ${JSON.stringify(value)} is no date`,
        );
      }
    }
  }
  if (problems.length > 0)
    throw new UsageError(
      `${file} is not a late policy (schemas/late-policy.schema.json):\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`,
    );
  const extensionLines: Record<string, number> = {};
  const exts = doc.get('extensions', true);
  if (isMap(exts))
    for (const p of exts.items) if (isScalar(p.key)) extensionLines[String(p.key.value)] = lineOf(p.key.range?.[0]);
  return { file, ...policy, extensionLines };
}

/** An extension for an id that is not a student of the class: a typo that would cost the student their extension. */
export function unknownExtensions(policy: LatePolicy, students: Iterable<string>): string[] {
  const known = new Set(students);
  return Object.keys(policy.extensions)
    .filter((id) => !known.has(id))
    .map(
      (id) =>
        `${policy.file}:${policy.extensionLines[id] ?? 1}: extensions: ${JSON.stringify(id)} is no student of this class`,
    );
}

export async function readPolicy(file: string): Promise<LatePolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: the late policy cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(text, file);
}

/** The due time that applies to a student, in ms. */
export function dueFor(policy: LatePolicy, id: string): number {
  const ext = policy.extensions[id];
  if (typeof ext === 'string') return Date.parse(ext);
  return Date.parse(policy.due) + (ext ? ext.days * DAY_MS : 0);
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** The policy applied to one raw score submitted at a time. */
export function adjust(policy: LatePolicy, id: string, raw: number, submittedAt: string): LateAdjustment {
  const due = dueFor(policy, id);
  const over = Date.parse(submittedAt) - due - policy.graceMinutes * 60_000;
  const daysLate = over > 0 ? Math.ceil(over / DAY_MS) : 0;
  const penaltyPercent = Math.min(policy.cap, daysLate * policy.penaltyPerDay);
  return {
    submittedAt,
    due: new Date(due).toISOString(),
    daysLate,
    penaltyPercent,
    raw,
    adjusted: round(raw * (1 - penaltyPercent / 100)),
  };
}
