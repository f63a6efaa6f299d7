/** Characters XML 1.0 forbids even as character references; shown as \uXXXX instead. */
const ILLEGAL_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/gu;

export function xmlText(text: string): string {
  return text
    .replace(ILLEGAL_IN_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#13;');
}

/** Also encodes whitespace that attribute-value normalisation would turn into spaces. */
export function xmlAttr(text: string): string {
  return xmlText(text).replaceAll('"', '&quot;').replaceAll('\n', '&#10;').replaceAll('\t', '&#9;');
}

export function attrs(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([name, value]) => ` ${name}="${xmlAttr(value)}"`)
    .join('');
}

/** JUnit's time attribute: seconds with three decimals. */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function properties(indent: string, pairs: Record<string, string>): string[] {
  return [
    `${indent}<properties>`,
    ...Object.entries(pairs).map(([name, value]) => `${indent}  <property${attrs({ name, value })}/>`),
    `${indent}</properties>`,
  ];
}
