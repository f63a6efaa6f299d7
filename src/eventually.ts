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
  /**
   * A wait on a node with a pace: timeoutMs is the deadline stretched by the pace, and the wait
   * also ends once `spent()` (the time spent, at the host's speed: src/env/pace.ts hostTimeClock)
   * reaches `ms`, the lab's deadline; `words` says the deadline in the report, given the wall time.
   */
  budget?: { ms: number; spent: () => number; words: (wallMs: number) => string };
}

/**
 * Polls until the probe holds or the deadline passes; then fails with the last
 * state the probe saw. A probe that throws stops the wait at once.
 */
export async function eventually<T>(probe: () => Promise<Probe<T>>, opts: EventuallyOptions): Promise<T> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const interval = opts.intervalMs ?? 500;
  const budget = opts.budget;
  let last: Probe<T> | undefined;
  let tries = 0;
  let spentOut = false;
  for (;;) {
    tries += 1;
    last = await probe();
    if (last.ok) return last.value;
    if (Date.now() + interval > deadline) break;
    if (budget && budget.spent() + interval > budget.ms) {
      spentOut = true;
      break;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  const seconds = Math.round(opts.timeoutMs / 1000);
  const within = spentOut && budget ? budget.words(Date.now() - started) : (opts.deadline ?? `${seconds} s`);
  const message = `expected ${opts.what} within ${within} (${tries} tries); last seen: ${last.seen}`;
  throw opts.blame === 'grader' ? new GraderError(message) : new SubmissionAssertionError(message);
}
