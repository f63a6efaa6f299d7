import type { Node } from '../node.js';

/*
 * A node's pace: how many times slower than the grading host it runs commands (a VM under
 * software emulation), measured by its runtime. The lab's deadlines are written for the host's
 * speed, so every deadline on work done inside such a node is stretched by its pace: a correct
 * submission must not fail for the grader's slowness. Deadlines on host-side or cluster work
 * are not the node's and are not stretched.
 *
 * Where each deadline is stretched:
 * - exec deadlines (ExecOptions.timeoutMs, and a runtime's default) by the node's own exec, as
 *   the Node contract says: timeoutMs is at the host's speed;
 * - deadlines written into a command's text (the script runner's `timeout`, a polling loop's
 *   count) and waits the host keeps itself (an eventually-check on the node) by whoever writes
 *   them, with paced below;
 * - a wait the host keeps on the node also ends once the lab's deadline is spent in the node's
 *   own time (hostTimeClock): its busy time at its pace, its idle time as it is.
 */

/** The least pace: a node is never given less time than the lab says. */
export const PACE_MIN = 1;
/**
 * The most pace a measurement may give: how long a hanging wrong submission may hold a sandbox
 * is the lab's deadline times this (12 min for a 60 s deadline). Measured on the development
 * host (2 cores, qemu under TCG because /dev/kvm boots no VM there): 40 runs of /bin/true took
 * 37–47 ms on the host and 0.31–0.39 s in the guest (8.5–9.5×) once the guest booted with
 * norandmaps; 28–31× before it (make-root.sh of ch01-isolation's reference: 26 ms against
 * 692 ms), more on a loaded host; a later host of the same size: 33–50 ms against 0.59–0.74 s
 * (14–20×, the cap even when idle). So under TCG the measurement decides on a fast idle host
 * and the cap on a slow or loaded one; where the guest is slower than the cap, a correct script
 * keeps its place while it needs at most 12/slowdown of its deadline on the host: lab deadlines
 * sit far above that (make-root.sh: 26 ms for 60 s; ch03's chroot0.sh: under 1 s for 90 s).
 * Under KVM it comes out near 1. KGRADE_VM_PACE sets a pace outright.
 */
export const PACE_MAX = 12;

/** A measured ratio, clamped to [PACE_MIN, PACE_MAX]; a ratio that is no number is the cap. */
export function clampPace(ratio: number): number {
  if (!Number.isFinite(ratio)) return PACE_MAX;
  return Math.min(PACE_MAX, Math.max(PACE_MIN, ratio));
}

/** The pace from the same workload timed on the host and inside the node: the least of each run. */
export function paceFromTimings(hostMs: readonly number[], nodeMs: readonly number[]): number {
  if (hostMs.length === 0 || nodeMs.length === 0) throw new Error('paceFromTimings: no timings');
  return clampPace(Math.min(...nodeMs) / Math.max(Math.min(...hostMs), 0.001));
}

/** A node's pace: 1 unless its runtime measured one (only ever ≥ 1). */
export function paceOf(node: Pick<Node, 'pace'>): number {
  const pace = node.pace;
  return pace !== undefined && Number.isFinite(pace) && pace > 1 ? pace : 1;
}

/** An amount of time (seconds or milliseconds) of work at the host's speed, at the node's pace, rounded up. */
export function paced(pace: number, amount: number): number {
  return pace === 1 ? amount : Math.ceil(amount * pace);
}

/**
 * A span of wall-clock time as an exec deadline at the host's speed (which the node stretches
 * back): for a caller that already counts in the node's time, such as the remainder of a wait
 * it stretched itself.
 */
export function hostSpeedMs(pace: number, wallMs: number): number {
  return pace === 1 ? wallMs : Math.floor(wallMs / pace);
}

/** "6", "2.5": a pace as the reports say it. */
export function paceWords(pace: number): string {
  return pace >= 10 ? String(Math.round(pace)) : String(Math.round(pace * 10) / 10);
}

/**
 * A lab's deadline as a report says it: "30 s", and on a slower node what it was stretched to
 * and why, so that "did not finish within 30 s" is not said of a script that ran for 180.
 */
export function deadlineWords(pace: number, seconds: number): string {
  if (pace === 1) return `${seconds} s`;
  return `${seconds} s (${paced(pace, seconds)} s here: the sandbox runs commands about ${paceWords(pace)}× slower than the grading host, so the lab's deadlines are stretched by as much)`;
}

/**
 * How much of a wait's time on a node counts as time at the host's speed: the part its machine
 * was busy (on a host CPU or waiting for one) divided by its pace, the part it was idle as it is.
 * Idle, the node waits on its own timers, which run at the host's speed; busy, it does work that
 * takes it pace times as long. Busy time over the whole span is capped at the span (several of a
 * VM's threads busy at once count as one), which counts more of it busy, never less.
 */
export function hostTimeOf(pace: number, wallMs: number, busyMs: number): number {
  const busy = Math.min(Math.max(busyMs, 0), wallMs);
  return wallMs - busy + busy / pace;
}

/**
 * A clock of the host-speed time spent from now on node (hostTimeOf). A node that cannot say
 * how busy it was has all its time counted busy: wall time over its pace, the stretched deadline.
 */
export function hostTimeClock(node: Pick<Node, 'pace' | 'busyMs'>): () => number {
  const pace = paceOf(node);
  const t0 = Date.now();
  const b0 = pace > 1 ? node.busyMs?.() : undefined;
  return () => {
    const wall = Date.now() - t0;
    if (pace === 1) return wall;
    const b = b0 === undefined ? undefined : node.busyMs?.();
    return b === undefined || b0 === undefined ? wall / pace : hostTimeOf(pace, wall, b - b0);
  };
}

/**
 * A wait's deadline as a report says it when the wait ended on the node's own time (hostTimeClock)
 * before its stretched deadline: "20 s of the node's time (31 s here: ...)".
 */
export function spentWords(pace: number, seconds: number, wallMs: number): string {
  return `${seconds} s of the node's time (${Math.round(wallMs / 1000)} s here: the sandbox runs commands about ${paceWords(pace)}× slower than the grading host, so the time it spent busy counts that much less, its idle time as it is)`;
}
