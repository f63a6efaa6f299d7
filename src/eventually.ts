import { GraderError, SubmissionAssertionError } from './errors.js';

export interface Probe<T> {
  ok: boolean;
  value: T;
  /** The state seen, in words, for the report when the deadline passes. */
  seen: string;
}

export interface EventuallyOptions {
  /** What is awaited, as the report should say it: "web1 to answer on port 80". */
  what: string;
  timeoutMs: number;
  /** How the report says the deadline, when not as timeoutMs's seconds (one stretched by a node's pace). */
  deadline?: string;
  intervalMs?: number;
  /** Whose fault a missed deadline is: the submission's (default) or the grader's. */
  blame?: 'submission' | 'grader';
}

/**
 * Polls until the probe holds or the deadline passes; then fails with the last
 * state the probe saw. A probe that throws stops the wait at once.
 */
export async function eventually<T>(probe: () => Promise<Probe<T>>, opts: EventuallyOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 500;
  let last: Probe<T> | undefined;
  let tries = 0;
  for (;;) {
    tries += 1;
    last = await probe();
    if (last.ok) return last.value;
    if (Date.now() + interval > deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  const seconds = Math.round(opts.timeoutMs / 1000);
  const message = `expected ${opts.what} within ${opts.deadline ?? `${seconds} s`} (${tries} tries); last seen: ${last.seen}`;
  throw opts.blame === 'grader' ? new GraderError(message) : new SubmissionAssertionError(message);
}
