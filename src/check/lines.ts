/** How far a text gets through a list of wanted lines, in order. */
export interface LinesInOrder {
  /** How many of the wanted texts were found, each on a line after the previous one's. */
  found: number;
  /** The lines that matched, in order. */
  matched: string[];
}

/**
 * Looks for a line containing each wanted text (letter case ignored), each one on a
 * later line than the one before it.
 */
export function linesInOrder(text: string, wanted: readonly string[]): LinesInOrder {
  const lines = text.split('\n');
  const matched: string[] = [];
  let from = 0;
  for (const w of wanted) {
    const needle = w.toLowerCase();
    const at = lines.findIndex((l, i) => i >= from && l.toLowerCase().includes(needle));
    if (at < 0) break;
    matched.push(lines[at]?.trim() ?? '');
    from = at + 1;
  }
  return { found: matched.length, matched };
}
