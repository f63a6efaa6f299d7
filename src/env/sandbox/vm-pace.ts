import { execa } from '../../vendor/execa.js';
import { vmPaceSetting } from '../../config.js';
import { GraderError } from '../../errors.js';
import type { Node } from '../../node.js';
import { trace } from '../../trace.js';
import { PACE_MAX, paceFromTimings, paceWords } from '../pace.js';

/**
 * The workload timed on both sides: starting programs, which is what a lab's scripts spend
 * their time on (see PACE_MAX in ../pace.ts for what it measured against a real script). About
 * 35 ms on a host, about a second in a VM under TCG.
 */
const WORKLOAD = 'for ((i = 0; i < 40; i++)); do /bin/true; done';
/** Timed by bash's own clock: neither starting bash nor the guest agent's round trip is counted. */
const TIMED = `s=$EPOCHREALTIME; ${WORKLOAD}; e=$EPOCHREALTIME; echo "$s $e"`;
const HOST_RUNS = 5;
const NODE_RUNS = 3;
const RUN_DEADLINE_MS = 60_000;

export interface PaceMeasurement {
  pace: number;
  /** The ratio before clamping. */
  ratio: number;
  hostMs: number[];
  nodeMs: number[];
}

function elapsedMs(stdout: string, where: string): number {
  const m = /^(\d+\.\d+) (\d+\.\d+)$/.exec(stdout.trim());
  if (!m)
    throw new GraderError(
      `could not time the pace workload ${where}: bash printed "${stdout.trim().slice(0, 200)}" (bash 5 or later is needed, for $EPOCHREALTIME)`,
    );
  return (Number(m[2]) - Number(m[1])) * 1000;
}

async function onHost(): Promise<number> {
  const r = await execa('bash', ['-c', TIMED], { reject: false, timeout: RUN_DEADLINE_MS });
  if (r.exitCode !== 0)
    throw new GraderError(`could not time the pace workload on the host: ${String(r.stderr).trim() || r.shortMessage}`);
  return elapsedMs(String(r.stdout), 'on the host');
}

async function onNode(node: Node): Promise<number> {
  const r = await node.exec(['bash', '-c', TIMED], { timeoutMs: RUN_DEADLINE_MS });
  if (r.code !== 0)
    throw new GraderError(`could not time the pace workload on ${node.name}: exit ${r.code} ${r.stderr.trim()}`);
  return elapsedMs(r.stdout, `on ${node.name}`);
}

/**
 * Times the workload on the host and on the node, the runs interleaved so that a burst of load
 * on the machine weighs on both sides alike; the least of each side's runs counts.
 */
export async function measurePace(node: Node): Promise<PaceMeasurement> {
  const hostMs: number[] = [];
  const nodeMs: number[] = [];
  for (let i = 0; i < Math.max(HOST_RUNS, NODE_RUNS); i++) {
    if (i < HOST_RUNS) hostMs.push(await onHost());
    if (i < NODE_RUNS) nodeMs.push(await onNode(node));
  }
  const ratio = Math.min(...nodeMs) / Math.min(...hostMs);
  return { pace: paceFromTimings(hostMs, nodeMs), ratio, hostMs, nodeMs };
}

const measured = new Map<string, Promise<number>>();
/** The measurements that have ended, by accelerator. */
const known = new Map<string, number>();

/**
 * The pace for a VM that does not wait for a measurement: KGRADE_VM_PACE, the pace measured
 * already, else the cap (the deadlines stretched the most: a correct script loses nothing, a
 * hanging one holds its VM longer). For the first VM of a process when a spare follows it: the
 * spare measures while the first scenario runs, on the other CPU, rather than before it (about
 * 1.2 s of every grade under TCG here).
 */
export function provisionalVmPace(accel: string): number {
  return vmPaceSetting() ?? known.get(accel) ?? PACE_MAX;
}

/**
 * The pace of this process's VMs booted with an accelerator (kvm, tcg): KGRADE_VM_PACE, or
 * measured on the first such VM that waits for it and kept for the process (a VM boot costs
 * seconds already; the measurement about one more under TCG). A VM that waits for another's
 * measurement that fails measures itself.
 */
export function vmPace(node: Node, accel: string): Promise<number> {
  const set = vmPaceSetting();
  if (set !== undefined) return Promise.resolve(set);
  const pending = measured.get(accel);
  if (pending) return pending.catch(() => vmPace(node, accel));
  const mine = measurePace(node).then((m) => {
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
    trace(
      `VM pace (${accel}): ${paceWords(m.pace)}× (measured ${m.ratio.toFixed(1)}×: the workload took ${ms(m.hostMs)} ms on the host, ${ms(m.nodeMs)} ms on ${node.name})`,
    );
    known.set(accel, m.pace);
    return m.pace;
  });
  measured.set(accel, mine);
  mine.catch(() => measured.delete(accel));
  return mine;
}
