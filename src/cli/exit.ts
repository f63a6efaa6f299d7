/** What kgrade's exit code says; main.ts maps the error classes onto these. */
export const EXIT = { graded: 0, mismatch: 1, usage: 2, infrastructure: 3 } as const;
