/**
 * The batch's progress. On a terminal: one line, redrawn in place (done/total, errors so far, rate
 * and time left). Otherwise quiet and machine-readable: one JSON object per line on stdout for each
 * finished student, and nothing else there.
 */

export interface Finished {
  student: string;
  status: 'graded' | 'error';
  /** A stored result was reused: not graded in this run. */
  reused: boolean;
  score?: number;
  maxScore?: number;
  attempts: number;
  reason?: string;
  durationMs: number;
}

export interface ProgressCounts {
  total: number;
  done: number;
  errors: number;
  /** Students graded in this run (reused ones excluded), and how long since the first began. */
  gradedNow: number;
  elapsedMs: number;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "12/30 done · 1 error · 4.0/min · about 5 min left" */
export function progressLine(c: ProgressCounts): string {
  const parts = [`${c.done}/${c.total} done`, `${c.errors} error${c.errors === 1 ? '' : 's'}`];
  if (c.gradedNow > 0 && c.elapsedMs > 0) {
    const perMs = c.gradedNow / c.elapsedMs;
    parts.push(`${(perMs * 60_000).toFixed(1)}/min`);
    const left = c.total - c.done;
    parts.push(left > 0 ? `about ${duration(left / perMs)} left` : `took ${duration(c.elapsedMs)}`);
  } else if (c.done < c.total) {
    parts.push('rate not known yet');
  }
  return parts.join(' · ');
}

/** The JSON line for one finished student. */
export function jsonLine(e: Finished, c: ProgressCounts): string {
  return JSON.stringify({
    student: e.student,
    status: e.status,
    reused: e.reused,
    ...(e.score !== undefined ? { score: e.score, maxScore: e.maxScore } : {}),
    attempts: e.attempts,
    ...(e.reason ? { reason: e.reason } : {}),
    durationMs: e.durationMs,
    done: c.done,
    total: c.total,
    errors: c.errors,
  });
}

export interface ProgressOptions {
  tty: boolean;
  out: { write(text: string): unknown };
  total: number;
  now?: () => number;
}

export class Progress {
  private done = 0;
  private errors = 0;
  private gradedNow = 0;
  private readonly started: number;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    if (opts.tty) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    }
  }

  get tty(): boolean {
    return this.opts.tty;
  }

  counts(): ProgressCounts {
    return {
      total: this.opts.total,
      done: this.done,
      errors: this.errors,
      gradedNow: this.gradedNow,
      elapsedMs: this.now() - this.started,
    };
  }

  finished(e: Finished): void {
    this.done += 1;
    if (e.status === 'error') this.errors += 1;
    if (!e.reused) this.gradedNow += 1;
    if (!this.opts.tty) {
      this.opts.out.write(`${jsonLine(e, this.counts())}\n`);
      return;
    }
    if (e.status === 'error') this.note(`${e.student}: error: ${e.reason ?? ''}`);
    this.draw();
  }

  /** A line for the person at the terminal, above the progress line; nothing when not on a terminal. */
  note(line: string): void {
    if (!this.opts.tty) return;
    this.opts.out.write(`${this.drawn ? '\r\x1b[2K' : ''}${line}\n`);
    this.drawn = false;
    this.draw();
  }

  private draw(): void {
    this.opts.out.write(`\r\x1b[2K${progressLine(this.counts())}`);
    this.drawn = true;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.opts.tty && this.drawn) {
      this.draw();
      this.opts.out.write('\n');
    }
  }
}
