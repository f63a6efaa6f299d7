import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { createHash } from 'node:crypto';
import type { ErrorObject } from 'ajv';
import { generateMessages } from '@cucumber/gherkin';
import { IdGenerator, SourceMediaType, type GherkinDocument, type Scenario } from '@cucumber/messages';
import { ENVIRONMENTS } from '../env/environments/index.js';
import { LabError } from '../errors.js';
import { REPO_ROOT } from '../paths.js';
import type { Feedback } from '../grade/model.js';
import { FEEDBACK_LEVELS, SEVERITIES, type Lab, type LabFile, type ScenarioDef, type Severity } from './types.js';

const SCHEMA_FILE = path.join(REPO_ROOT, 'schemas/lab.schema.json');

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let validator: Promise<Validator> | undefined;

/** ajv's options for lab.yaml; scripts/compile-schemas.mjs compiles with the same. */
const LAB_SCHEMA_OPTIONS = { allErrors: true, useDefaults: true, strict: true } as const;

/**
 * The lab.yaml validator: the one `npm run build` compiled (dist/src/vendor/lab-validator.js)
 * when it was compiled from this very schema, else ajv compiles it now.
 */
function labValidator(): Promise<Validator> {
  validator ??= (async () => {
    const text = await readFile(SCHEMA_FILE, 'utf8');
    const sha256 = createHash('sha256').update(text).digest('hex');
    const built = (await import(new URL('../vendor/lab-validator.js', import.meta.url).href).catch(() => undefined)) as
      | { default?: Validator; schemaSha256?: string }
      | undefined;
    if (built?.default && built.schemaSha256 === sha256) return built.default;
    const { Ajv } = await import('ajv');
    return new Ajv(LAB_SCHEMA_OPTIONS).compile(JSON.parse(text) as object) as Validator;
  })();
  return validator;
}

function describeSchemaError(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.');
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown field "${String(e.params['additionalProperty'])}"`;
    case 'required':
      return `${at}: missing field "${String(e.params['missingProperty'])}"`;
    case 'enum':
      return `${at}: must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

/** Reads and validates lab.yaml alone; errors name the file and each bad field. */
export async function readLabFile(labDir: string): Promise<LabFile> {
  const file = path.join(labDir, 'lab.yaml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new LabError(`${file}: not found (a lab is a folder with a lab.yaml)`);
  }
  let data: unknown;
  try {
    data = yaml.load(text, { filename: file });
  } catch (err) {
    throw new LabError(`${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (data === null || typeof data !== 'object') {
    throw new LabError(`${file}: must be a mapping with id, title, chapter, environment, submission and expect`);
  }
  const obj = data as Record<string, unknown>;
  obj['timeouts'] ??= {};
  obj['fixtures'] ??= [];
  obj['disruptive'] ??= false;
  obj['verify'] ??= {};
  obj['kernel'] ??= {};
  const kernel = obj['kernel'];
  if (kernel !== null && typeof kernel === 'object' && !Array.isArray(kernel))
    (kernel as Record<string, unknown>)['cgroup'] ??= 'either';
  const validate = await labValidator();
  if (!validate(obj)) {
    const lines = (validate.errors ?? []).map((e) => `  - ${describeSchemaError(e)}`);
    throw new LabError(`${file}: does not match schemas/lab.schema.json:\n${lines.join('\n')}`);
  }
  const lab = obj as unknown as LabFile;
  const folder = path.basename(path.resolve(labDir));
  if (lab.id !== folder) {
    throw new LabError(`${file}: id: "${lab.id}" must equal the lab's folder name "${folder}"`);
  }
  return lab;
}

async function featureFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await featureFiles(p)));
    else if (entry.name.endsWith('.feature')) out.push(p);
  }
  return out.sort();
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^\s*/.exec(l)?.[0].length ?? 0);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines
    .map((l) => l.slice(cut))
    .join('\n')
    .trim();
}

function scenariosOf(doc: GherkinDocument): Map<string, { scenario: Scenario; exampleLines: Map<string, number> }> {
  const byId = new Map<string, { scenario: Scenario; exampleLines: Map<string, number> }>();
  const visit = (
    children: ReadonlyArray<{ scenario?: Scenario; rule?: { children: ReadonlyArray<{ scenario?: Scenario }> } }>,
  ) => {
    for (const child of children) {
      if (child.scenario) {
        const exampleLines = new Map<string, number>();
        for (const ex of child.scenario.examples)
          for (const row of ex.tableBody) exampleLines.set(row.id, row.location.line);
        byId.set(child.scenario.id, { scenario: child.scenario, exampleLines });
      }
      if (child.rule) visit(child.rule.children);
    }
  };
  visit(doc.feature?.children ?? []);
  return byId;
}

/** A scenario's own feedback level: one @feedback:<level> tag, or @hidden (the same as @feedback:hidden). */
function feedbackOf(tags: string[], where: string, problems: string[]): Feedback | undefined {
  const given = tags.filter((t) => t.startsWith('@feedback:'));
  const levels = FEEDBACK_LEVELS.join(', ');
  if (given.length > 1) problems.push(`${where}: has ${given.length} @feedback tags; give one (${levels})`);
  const tag = given[0];
  if (tag === undefined) return tags.includes('@hidden') ? 'hidden' : undefined;
  const level = tag.slice('@feedback:'.length);
  if (!(FEEDBACK_LEVELS as readonly string[]).includes(level)) {
    problems.push(`${where}: ${tag}: the level must be one of ${levels}`);
    return undefined;
  }
  if (tags.includes('@hidden') && level !== 'hidden')
    problems.push(`${where}: @hidden and ${tag} contradict each other; keep one`);
  return level as Feedback;
}

/** A @course check's one @severity:<level> tag; a graded scenario has none (its weight is its points). */
function severityOf(tags: string[], course: boolean, where: string, problems: string[]): Severity | undefined {
  const given = tags.filter((t) => t.startsWith('@severity:'));
  const levels = SEVERITIES.join(', ');
  if (!course) {
    if (given.length)
      problems.push(`${where}: ${given[0]} belongs to @course checks; a graded scenario's weight is its @points`);
    return undefined;
  }
  if (given.length === 0) return undefined;
  if (given.length > 1) {
    problems.push(`${where}: has ${given.length} @severity tags; give exactly one (${levels})`);
    return undefined;
  }
  const level = given[0]?.slice('@severity:'.length) ?? '';
  if (!(SEVERITIES as readonly string[]).includes(level)) {
    problems.push(`${where}: ${given[0]}: the level must be one of ${levels}`);
    return undefined;
  }
  return level as Severity;
}

/** Parses one feature file into scenario definitions; errors name the file and line. */
export function parseFeature(text: string, uri: string, defaultFeedback: Feedback = 'full'): ScenarioDef[] {
  const envelopes = generateMessages(text, uri, SourceMediaType.TEXT_X_CUCUMBER_GHERKIN_PLAIN, {
    includeSource: false,
    includeGherkinDocument: true,
    includePickles: true,
    newId: IdGenerator.incrementing(),
  });
  const problems: string[] = [];
  let doc: GherkinDocument | undefined;
  const defs: ScenarioDef[] = [];
  for (const env of envelopes) {
    if (env.parseError) {
      problems.push(`${uri}:${env.parseError.source.location?.line ?? '?'}: ${env.parseError.message}`);
    }
    if (env.gherkinDocument) doc = env.gherkinDocument;
  }
  if (problems.length) throw new LabError(`feature does not parse:\n  - ${problems.join('\n  - ')}`);
  if (!doc?.feature) throw new LabError(`${uri}: has no Feature`);
  const scenarios = scenariosOf(doc);
  for (const env of envelopes) {
    const pickle = env.pickle;
    if (!pickle) continue;
    const found = scenarios.get(pickle.astNodeIds[0] ?? '');
    if (!found) continue;
    const line = found.exampleLines.get(pickle.astNodeIds[1] ?? '') ?? found.scenario.location.line;
    const where = `${uri}:${line}: scenario "${pickle.name}"`;
    const tags = pickle.tags.map((t) => t.name);
    const course = tags.includes('@course');
    const pointTags = tags.filter((t) => t.startsWith('@points:'));
    if (pointTags.length > 1) problems.push(`${where}: has ${pointTags.length} @points tags; give exactly one`);
    let points = 0;
    const pointTag = pointTags.at(-1);
    if (pointTag !== undefined) {
      const raw = pointTag.slice('@points:'.length);
      if (!/^\d+(\.\d+)?$/.test(raw)) problems.push(`${where}: ${pointTag}: points must be a number, like @points:2`);
      points = Number(raw);
    }
    if (course && points > 0) problems.push(`${where}: a @course check carries no points; remove ${pointTag ?? ''}`);
    if (!course && (pointTag === undefined || points <= 0)) {
      problems.push(`${where}: a graded scenario needs @points:N with N > 0 (or tag it @course)`);
    }
    const hint = dedent(found.scenario.description);
    if (!course && hint === '') {
      problems.push(`${where}: a graded scenario needs a hint: a line of text under the Scenario line`);
    }
    const severity = severityOf(tags, course, where, problems);
    const feedback = feedbackOf(tags, where, problems) ?? defaultFeedback;
    defs.push({
      id: `${uri}:${line}`,
      uri,
      line,
      name: pickle.name,
      feature: doc.feature.name,
      tags,
      points,
      course,
      hidden: feedback === 'hidden',
      feedback,
      serial: tags.includes('@serial'),
      races: tags.includes('@races'),
      hint,
      ...(severity ? { severity } : {}),
    });
  }
  if (problems.length) throw new LabError(`lab features are not valid:\n  - ${problems.join('\n  - ')}`);
  return defs;
}

/** Loads a lab: lab.yaml validated, every feature parsed, scenarios with their points. */
export async function loadLab(labDir: string): Promise<Lab> {
  const dir = path.resolve(labDir);
  const file = await readLabFile(dir);
  const featuresDir = path.join(dir, 'features');
  const isDir = await stat(featuresDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new LabError(`${dir}: has no features/ folder`);
  const files = await featureFiles(featuresDir);
  if (files.length === 0) throw new LabError(`${featuresDir}: holds no .feature file`);
  const scenarios: ScenarioDef[] = [];
  const problems: string[] = [];
  for (const f of files) {
    try {
      scenarios.push(...parseFeature(await readFile(f, 'utf8'), path.relative(dir, f), file.feedback));
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length) throw new LabError(`${dir}:\n${problems.join('\n')}`);
  const names = new Map<string, string>();
  for (const s of scenarios) {
    const seen = names.get(s.name);
    if (seen)
      problems.push(
        `${s.id}: scenario name "${s.name}" is already used at ${seen}; names identify scenarios in reports and expect:`,
      );
    names.set(s.name, s.id);
  }
  for (const [wrongCase, exp] of Object.entries(file.expect)) {
    for (const n of exp.failed ?? []) {
      if (!names.has(n)) problems.push(`lab.yaml: expect.${wrongCase}.failed: no scenario is named "${n}"`);
      else if (scenarios.some((s) => s.name === n && s.course))
        problems.push(
          `lab.yaml: expect.${wrongCase}.failed: "${n}" is a @course check, which does not depend on the submission (verify grades it with the reference only)`,
        );
    }
  }
  problems.push(...ENVIRONMENTS[file.environment].labProblems(file, scenarios));
  const fixtureNames = new Set<string>();
  for (const f of file.fixtures) {
    if (fixtureNames.has(f.name)) problems.push(`lab.yaml: fixtures: the name "${f.name}" is used twice`);
    fixtureNames.add(f.name);
    if (
      !(await stat(path.join(dir, f.manifest)).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      problems.push(`lab.yaml: fixtures.${f.name}.manifest: ${f.manifest} is not a file in the lab's folder`);
  }
  const serial = scenarios.filter((s) => s.serial);
  if (serial.length && !file.disruptive) {
    problems.push(
      `${serial[0]?.id}: @serial marks a scenario that disturbs the whole cluster; say so in lab.yaml with disruptive: true`,
    );
  }
  if (file.verify.repeat !== undefined && !scenarios.some((s) => s.races)) {
    problems.push(
      'lab.yaml: verify.repeat: no scenario is tagged @races, so kgrade verify has nothing to repeat; tag the scenarios whose outcome depends on the cluster converging',
    );
  }
  if (problems.length) throw new LabError(`${dir}:\n  - ${problems.join('\n  - ')}`);
  const maxScore = scenarios.reduce((sum, s) => sum + s.points, 0);
  return { ...file, dir, featuresDir, scenarios, maxScore };
}
