import yaml from 'js-yaml';

/*
 * A submission's files as the similarity check compares them: what a copier changes cheaply is
 * gone. YAML is parsed and written again with its keys sorted, without comments, with the values
 * of `name` keys and the names the lab fixes left out, its documents sorted. A script is split
 * into shell tokens, its comments dropped, variable and function names replaced by V and F, the
 * names the lab fixes dropped. Each remaining line is one line of tokens separated by a space.
 */

/** One normalised file: its path in the submission and its lines of tokens. */
export interface NormalisedFile {
  path: string;
  lines: string[][];
}

const YAML_FILE = /\.ya?ml$/i;

/** Words every shell script of a lab may use alike; a name after one of these is a variable. */
const BINDS_NAME = new Set(['for', 'read', 'local', 'export', 'declare', 'readonly', 'typeset', 'unset']);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The names a lab fixes: every double-quoted string of its feature files' steps that is one word
 * or path ("web1", "/srv/newroot", "pod.yaml"). Every submission must use them, so they say
 * nothing about copying.
 */
export function fixedNames(featureTexts: string[], submissionPaths: string[] = []): Set<string> {
  const names = new Set<string>(submissionPaths);
  for (const text of featureTexts) {
    for (const line of text.split('\n')) {
      if (line.trimStart().startsWith('#')) continue;
      for (const m of line.matchAll(/"([^"\s]{1,200})"/g)) if (m[1]) names.add(m[1]);
    }
  }
  return names;
}

function unquote(token: string): string {
  return token.length >= 2 && (token[0] === '"' || token[0] === "'") && token.endsWith(token[0])
    ? token.slice(1, -1)
    : token;
}

/** Shell text as lines of tokens: quoted strings whole, operators apart, comments and line continuations gone. */
function shellTokens(text: string): string[][] {
  const lines: string[][] = [];
  let line: string[] = [];
  let i = 0;
  const endLine = () => {
    if (line.length > 0) lines.push(line);
    line = [];
  };
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\n') {
      endLine();
      i += 1;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i += 1;
    } else if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c === '"' && text[j] === '\\' ? 2 : 1;
      line.push(text.slice(i, j + 1));
      i = j + 1;
    } else if ('|&;<>(){}'.includes(c)) {
      let j = i + 1;
      while (j < text.length && j - i < 2 && '|&;<>'.includes(text[j] ?? '') && '|&;<>'.includes(c)) j += 1;
      line.push(text.slice(i, j));
      i = j;
    } else {
      let j = i;
      while (j < text.length && !/[\s|&;<>(){}'"#]/.test(text[j] ?? '')) {
        if (text[j] === '$' && text[j + 1] === '{') {
          const close = text.indexOf('}', j);
          j = close === -1 ? text.length : close + 1;
        } else j += 1;
      }
      if (j === i) j = i + 1;
      line.push(text.slice(i, j));
      i = j;
    }
  }
  endLine();
  return lines;
}

/** A shell word with its variable references as $V and an assignment's name as V. */
function shellWord(word: string): string {
  const assigned = /^([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$/s.exec(word);
  const rest = assigned ? `V${assigned[2]}${assigned[3]}` : word;
  return rest
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*([^}]*)\}/g, (_m, tail: string) => `\${V${tail}}`)
    .replace(/\$[A-Za-z_][A-Za-z0-9_]*/g, '$V');
}

/** A script's lines of tokens: comments gone, names of variables and functions replaced, the lab's names dropped. */
export function normaliseScript(text: string, fixed: ReadonlySet<string>): string[][] {
  const out: string[][] = [];
  for (const tokens of shellTokens(text)) {
    const line: string[] = [];
    /** After for, read, local...: the names it binds (past its options) are variables; for binds one. */
    let binder: string | undefined;
    tokens.forEach((token, k) => {
      if (fixed.has(unquote(token))) return;
      if (binder !== undefined && binder !== 'for' && token.startsWith('-')) {
        line.push(token);
        return;
      }
      const bound = binder !== undefined && IDENT.test(token);
      binder = BINDS_NAME.has(token) ? token : bound && binder !== 'for' ? binder : undefined;
      if (bound) line.push('V');
      else if (IDENT.test(token) && tokens[k + 1] === '(' && tokens[k + 2] === ')') line.push('F');
      else if (token[0] === '"') line.push(`"${shellWord(token.slice(1, -1))}"`);
      else if (token[0] === "'") line.push(token);
      else line.push(shellWord(token));
    });
    if (line.length > 0) out.push(line);
  }
  return out;
}

/** The value with its keys sorted, `name` values and the lab's names left out. */
function canonical(value: unknown, fixed: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v, fixed)).filter((v) => v !== undefined);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (key === 'name' && typeof v === 'string') continue;
      const c = canonical(v, fixed);
      if (c !== undefined) out[fixed.has(key) ? 'N' : key] = c;
    }
    return out;
  }
  if (typeof value === 'string' && fixed.has(value)) return undefined;
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** YAML's lines of tokens after it is parsed and written again canonically; undefined when it does not parse. */
export function normaliseYaml(text: string, fixed: ReadonlySet<string>): string[][] | undefined {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, undefined, { json: true });
  } catch {
    return undefined;
  }
  const dumped = docs
    .filter((d) => d !== null && d !== undefined)
    .map((d) => yaml.dump(canonical(d, fixed), { sortKeys: true, lineWidth: -1, noRefs: true }))
    .sort();
  const lines: string[][] = [];
  for (const doc of dumped) {
    for (const l of doc.split('\n')) {
      const tokens = l
        .trim()
        .split(/\s+/)
        .filter((t) => t !== '');
      if (tokens.length > 0) lines.push(tokens);
    }
    lines.push(['---']);
  }
  return lines;
}

/** A file of a submission, normalised by its kind: YAML by its ending (or text that does not parse as YAML is a script). */
export function normaliseFile(file: string, text: string, fixed: ReadonlySet<string>): NormalisedFile {
  const lines = YAML_FILE.test(file)
    ? (normaliseYaml(text, fixed) ?? normaliseScript(text, fixed))
    : normaliseScript(text, fixed);
  return { path: file, lines };
}
