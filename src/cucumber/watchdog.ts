import { GraderError } from '../errors.js';

/**
 * Runs `work` and gives up on it once it has run longer than `limitMs()`: the last resort behind
 * the deadlines every wait inside a step has of its own, so that a step stuck by a grader fault
 * (a call with no deadline, a promise never settled) ends as the grader's error in minutes and
 * frees its slot, instead of holding the run. The limit is read again every `pollMs`, because it
 * may grow while the work runs: a step that starts a node learns the node's pace (pace.ts) only
 * once the node is up. What the given-up work still does is not awaited.
 */
export function watchdog<T>(work: () => T | Promise<T>, limitMs: () => number, pollMs = 1000): Promise<T> {
  const started = Date.now();
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (done: () => void) => {
      clearTimeout(timer);
      done();
    };
    const check = () => {
      const limit = limitMs();
      const ran = Date.now() - started;
      if (ran >= limit) {
        settle(() =>
          reject(
            new GraderError(
              `the step did not end within ${watchdogWords(limit)}, kgrade's last-resort limit for a step: every wait in a step has a shorter deadline of its own, so this is a fault of the grader, not of the submission`,
            ),
          ),
        );
        return;
      }
      timer = setTimeout(check, Math.min(pollMs, limit - ran));
    };
    check();
    Promise.resolve()
      .then(work)
      .then(
        (v) => settle(() => resolve(v)),
        (e: unknown) => settle(() => reject(e)),
      );
  });
}

/** "10 min", "90 s", "150 ms": a watchdog's limit as its message says it. */
function watchdogWords(ms: number): string {
  if (ms >= 120_000) return `${Math.round(ms / 60_000)} min`;
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
