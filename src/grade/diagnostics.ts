import type { CommandTail, Diagnostics } from './model.js';

/** The bounds that keep a scenario's diagnostics readable and results.json small. */
export const LIMITS = {
  /** Last lines kept of a script's or a command's stdout and stderr, and of a container's log. */
  lines: 30,
  /** A longer line is cut. */
  lineChars: 400,
  events: 20,
  objects: 20,
  conditions: 12,
  logs: 8,
  /** All text together; past it, the longest parts are cut further. */
  totalChars: 24_000,
} as const;

function cutLine(line: string): string {
  return line.length > LIMITS.lineChars ? `${line.slice(0, LIMITS.lineChars - 1)}…` : line;
}

/** The last `n` lines of a text, each cut to LIMITS.lineChars; whether anything was dropped. */
export function tail(text: string, n: number = LIMITS.lines): { text: string; cut: boolean } {
  const lines = text.replace(/\n+$/, '').split('\n');
  const kept = lines.slice(-n).map(cutLine);
  return {
    text: lines.length === 1 && lines[0] === '' ? '' : kept.join('\n'),
    cut: lines.length > n || kept.some((l, i) => l !== lines[lines.length - kept.length + i]),
  };
}

export function commandTail(
  what: string,
  exitCode: number | null,
  stdout: string,
  stderr: string,
): { tail: CommandTail; cut: boolean } {
  const out = tail(stdout);
  const err = tail(stderr);
  return { tail: { what: cutLine(what), exitCode, stdout: out.text, stderr: err.text }, cut: out.cut || err.cut };
}

function size(d: Diagnostics): number {
  return JSON.stringify(d).length;
}

/** Applies LIMITS: fewer events, objects, conditions and logs, then fewer log lines, until it fits. */
export function bound(d: Diagnostics): Diagnostics {
  let truncated = d.truncated ?? false;
  const out: Diagnostics = { ...d };
  const keepLast = <T>(xs: T[] | undefined, n: number): T[] | undefined => {
    if (!xs) return xs;
    if (xs.length > n) truncated = true;
    return xs.slice(-n);
  };
  const events = keepLast(out.events?.map(cutLine), LIMITS.events);
  if (events) out.events = events;
  const objects = keepLast(
    out.objects?.map((o) => ({ ...o, conditions: o.conditions.slice(0, LIMITS.conditions).map(cutLine) })),
    LIMITS.objects,
  );
  if (objects) out.objects = objects;
  const logs = keepLast(out.logs, LIMITS.logs);
  if (logs) out.logs = logs;
  for (
    let lines: number = LIMITS.lines;
    out.logs && size(out) > LIMITS.totalChars && lines > 1;
    lines = Math.floor(lines / 2)
  ) {
    truncated = true;
    out.logs = out.logs.map((l) => ({ ...l, lines: tail(l.lines, lines).text }));
  }
  if (size(out) > LIMITS.totalChars) {
    truncated = true;
    for (const key of ['script', 'command'] as const) {
      const c = out[key];
      if (c) out[key] = { ...c, stdout: tail(c.stdout, 5).text, stderr: tail(c.stderr, 5).text };
    }
  }
  if (truncated) out.truncated = true;
  return out;
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

/** Reads an attachment back; a body that is not diagnostics says so rather than failing the grade. */
export function parseDiagnostics(body: string): Diagnostics {
  try {
    const d = JSON.parse(body) as Diagnostics;
    const ok =
      typeof d === 'object' &&
      d !== null &&
      (d.events === undefined || isStringArray(d.events)) &&
      (d.unavailable === undefined || isStringArray(d.unavailable)) &&
      (d.objects === undefined ||
        (Array.isArray(d.objects) &&
          d.objects.every(
            (o) => typeof o.kind === 'string' && typeof o.name === 'string' && isStringArray(o.conditions),
          ))) &&
      (d.logs === undefined ||
        (Array.isArray(d.logs) &&
          d.logs.every(
            (l) => typeof l.pod === 'string' && typeof l.container === 'string' && typeof l.lines === 'string',
          )));
    if (ok) return bound(d);
  } catch {
    // reported below
  }
  return { unavailable: ['the diagnostics attached to this scenario could not be read back'] };
}

function indented(text: string, prefix: string): string[] {
  return text === '' ? [] : text.split('\n').map((l) => `${prefix}${l}`);
}

function commandLines(title: string, c: CommandTail): string[] {
  return [
    `${title} ${c.what} (${c.exitCode === null ? 'no exit status' : `exit ${c.exitCode}`}):`,
    ...(c.stdout ? ['  stdout, last lines:', ...indented(c.stdout, '  | ')] : []),
    ...(c.stderr ? ['  stderr, last lines:', ...indented(c.stderr, '  | ')] : []),
    ...(!c.stdout && !c.stderr ? ['  (no output)'] : []),
  ];
}

/** Diagnostics as plain text for the summaries, JUnit, Gradescope and Classroom. Empty when there are none. */
export function diagnosticsText(d: Diagnostics | undefined): string {
  if (!d) return '';
  const lines: string[] = [];
  if (d.script) lines.push(...commandLines('The script', d.script));
  if (d.command) lines.push(...commandLines('The last command,', d.command));
  if (d.events?.length) lines.push('Warning events in the namespace:', ...d.events.map((e) => `  - ${e}`));
  if (d.objects?.length) {
    lines.push('Objects:');
    for (const o of d.objects)
      lines.push(
        `  - ${o.kind} ${o.name}${o.conditions.length ? ':' : ': no status conditions'}`,
        ...o.conditions.map((c) => `      ${c}`),
      );
  }
  for (const l of d.logs ?? []) {
    lines.push(
      `Log of pod ${l.pod}, container ${l.container}${l.previous ? ' (the instance before its last restart)' : ''}, last lines:`,
      ...(l.lines ? indented(l.lines, '  | ') : ['  (empty)']),
    );
  }
  if (d.unavailable?.length) lines.push('Not read:', ...d.unavailable.map((u) => `  - ${u}`));
  if (d.truncated) lines.push('(some of it was cut to keep the report short)');
  return lines.join('\n');
}
