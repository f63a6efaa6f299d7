import { JSONPath } from 'jsonpath-plus';

/** Reads a kubectl-style JSONPath ("{.status.podIP}" or ".status.podIP") from an object; the values found. */
export function readJsonPath(obj: unknown, expression: string): unknown[] {
  let path = expression.trim();
  if (path.startsWith('{') && path.endsWith('}')) path = path.slice(1, -1).trim();
  if (!path.startsWith('$')) path = `$${path.startsWith('.') || path.startsWith('[') ? '' : '.'}${path}`;
  return JSONPath({ path, json: obj as object, wrap: true }) as unknown[];
}

/** The JSONPath's value as kubectl prints it: values joined by spaces, objects as JSON. */
export function jsonPathText(obj: unknown, expression: string): string {
  return readJsonPath(obj, expression)
    .map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)))
    .join(' ');
}
