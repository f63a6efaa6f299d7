import { performance } from 'node:perf_hooks';
import { traceEnabled } from './config.js';

/**
 * With KGRADE_TRACE=1, one line on stderr when a phase of the run ends: the seconds since
 * the process started (performance.now() counts from there, module loading included) and
 * the phase. For finding where a grade's time outside its scenarios goes; VM sandboxes add
 * a line for each boot, each wait for a VM and each command (host and guest time).
 */
export function trace(phase: string): void {
  if (!traceEnabled()) return;
  process.stderr.write(`kgrade: [trace ${(performance.now() / 1000).toFixed(3)} s] ${phase}\n`);
}
