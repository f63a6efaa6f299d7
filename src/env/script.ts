import { GraderError, SubmissionAssertionError } from '../errors.js';
import { sh, shellQuote as quote, type Node } from '../node.js';
import { hostSpeedMs, paceOf, paced } from './pace.js';

export const SUBMISSION_DIR = '/submission';
/** The runner's PID and the exit status: the grader's bookkeeping. */
const STATE_DIR = '/run/kgrade/scripts';
/** The script's stdout and stderr, on a file system of their own in the sandbox (see sandbox.ts). */
const OUTPUT_DIR = '/run/kgrade/output';
const OUTPUT_SHOWN = 16 * 1024;
/** After a script ends, its output files are cut to this, so later steps have room for theirs. */
const OUTPUT_KEPT = '1M';

export interface ScriptRun {
  script: string;
  args: string[];
  /** Exit code; null while it still runs (started mode) or when killed at the deadline. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  stillRunning: boolean;
  durationMs: number;
  /** The grader's tools the node no longer has once the script ended (or while it runs on). */
  lostTools: string[];
  /** Whether the node could still start a program then (a script may fill its process table). */
  startsProcesses: boolean;
}

/** What the grader's later steps run on a node; a script that removes one has broken the node. */
const GRADER_TOOLS = [
  'bash',
  'sh',
  'timeout',
  'chroot',
  'unshare',
  'ip',
  'iptables',
  'python3',
  'ps',
  'cat',
  'head',
  'base64',
  'setsid',
];

let sequence = 0;
const DONE = 'kgrade-read-done';

/**
 * Runs on the node, detached: runner DIR OUT LIMIT SCRIPT ARGS... The interpreter is
 * the script's #! line (so the file need not be executable), bash when there is
 * none; LIMIT > 0 kills the script's process group after LIMIT seconds. The exit
 * status goes to DIR, the output to OUT: a script that fills OUT's file system
 * cannot keep its exit status (124: stopped at the deadline) from being recorded.
 */
const RUNNER = `dir=$1 out=$2 limit=$3 script=$4
shift 4
IFS= read -r -n 256 first < "$script"
case "$first" in
  '#!'*) read -r -a interp <<< "\${first#'#!'}" ;;
  *) interp=(bash) ;;
esac
if [ "$limit" -gt 0 ]; then set -- timeout -k 5 "$limit" "\${interp[@]}" "$script" "$@"; else set -- "\${interp[@]}" "$script" "$@"; fi
cd /root
# The status file's space is taken before the script runs and rewritten in place after it:
# even a script that fills /run/kgrade itself cannot keep its status from being written.
printf '%-8s\\n' '' >"$dir/rc.tmp" || exit 1
"$@" </dev/null >"$out/out" 2>"$out/err"
printf '%-8s\\n' "$?" 1<>"$dir/rc.tmp"
if [ -s "$out/out" ] || [ -s "$out/err" ]; then truncate -s '<${OUTPUT_KEPT}' "$out/out" "$out/err" 2>/dev/null; fi
mv "$dir/rc.tmp" "$dir/rc"
# Wakes the waiter at once (opened read-write, so it never blocks when nobody reads).
printf x 1<>"$dir/done" 2>/dev/null`;

/**
 * Runs a submission script on the node, with standard input closed and its
 * output going to files (so servers it leaves in the background do not hold
 * the grader's pipes). The interpreter comes from the script's #! line; bash
 * when there is none.
 *
 * mode "finish": the script must end within timeoutS; past it, its process group is killed.
 * mode "start": the script may keep running (it starts servers); the grader waits up to
 *   timeoutS for it to exit and otherwise leaves it running.
 * timeoutS is at the host's speed: on a node with a pace it is stretched by as much (../env/pace.ts).
 */
export async function runSubmissionScript(
  node: Node,
  script: string,
  args: string[],
  opts: { timeoutS: number; mode: 'finish' | 'start' },
): Promise<ScriptRun> {
  sequence += 1;
  const dir = `${STATE_DIR}/${sequence}`;
  const out = `${OUTPUT_DIR}/${sequence}`;
  const path = `${SUBMISSION_DIR}/${script}`;
  // The deadlines written into the commands below count in the node's time; the execs' own
  // deadlines are at the host's speed, which the node stretches itself.
  const pace = paceOf(node);
  const timeoutS = paced(pace, opts.timeoutS);
  const limit = opts.mode === 'finish' ? timeoutS : 0;
  const waitS = opts.mode === 'finish' ? timeoutS + 10 : timeoutS;
  const guardS = (opts.mode === 'finish' ? opts.timeoutS + 10 : opts.timeoutS) + 30;
  // Done when the exit status is written, or when the runner itself is gone (kill -9 -1 takes it too);
  // then the output. The closing marker shows the exec itself was not killed along the way. The
  // script's output travels in base64: whatever it prints cannot pass for the reader's separators,
  // its exit status or the closing marker.
  // The wait starts no process: it sleeps on the FIFO the runner writes to when it ends, waking
  // every half second to see whether the runner is still there (an exec per tick cost a VM under
  // emulation 10-15% of its CPU). Without the FIFO (the script removed it) it polls with sleep.
  // Reading the results starts no process for an empty output or the exit status (each exec
  // costs a VM under emulation 30-40 ms), nor does the runner to read the script's #! line, to
  // trim empty outputs, or to leave the exec's process group: job control (set -m) gives it a
  // group of its own, which the exec's deadline does not reach, where setsid cost an exec.
  const waitAndRead = `read -r runner < ${dir}/runner
if [ -p ${dir}/done ] && exec 9<>${dir}/done; then tick() { read -r -t 0.5 -n 1 -u 9 poke; }; else tick() { sleep 0.1; }; fi
end=$((SECONDS + ${waitS}))
while [ ! -e ${dir}/rc ] && kill -0 "$runner" 2>/dev/null && ((SECONDS < end)); do tick; done
if [ -e ${dir}/rc ] || ! kill -0 "$runner" 2>/dev/null; then printf ended; else printf running; fi
for f in ${out}/out ${out}/err; do printf '\x1e'; if [ -s $f ]; then head -c ${OUTPUT_SHOWN} $f | base64 -w0; fi; done
rc=; read -r rc 2>/dev/null < ${dir}/rc; printf '\x1e%s\x1e' "$rc"
hash -r; for t in ${GRADER_TOOLS.join(' ')}; do command -v $t >/dev/null || printf '%s ' $t; done
printf '\x1e'; /bin/true >/dev/null 2>&1 && printf starts; printf '\x1e${DONE}'`;
  const launch = `[ -f ${quote(path)} ] || { echo "not-copied"; exit 0; }
mkdir -p ${dir} ${out} || exit 1
mkfifo ${dir}/done 2>/dev/null
set -m
bash -c ${quote(RUNNER)} runner ${dir} ${out} ${limit} ${quote(path)} ${args.map(quote).join(' ')} </dev/null >/dev/null 2>&1 &
set +m
echo $! > ${dir}/runner
${waitAndRead}`;
  const started = Date.now();
  const execOpts = { timeoutMs: guardS * 1000 };
  let r = await sh(node, launch, execOpts);
  if (r.stdout.startsWith('not-copied')) {
    throw new GraderError(
      `the submission's ${script} is not in ${SUBMISSION_DIR} on the node: the grader failed to copy it in`,
    );
  }
  // The script may kill every process on the node, the grader's exec included, or fill the node's
  // process table so that no exec can start: wait and read again until the script's own deadline.
  const deadline = started + paced(pace, guardS) * 1000;
  const complete = () => r.stdout.endsWith(`\x1e${DONE}`);
  while (!complete() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      r = await sh(node, waitAndRead, { timeoutMs: Math.max(5_000, hostSpeedMs(pace, deadline - Date.now())) });
    } catch (err) {
      if (err instanceof GraderError && /cannot run/.test(err.message))
        throw new SubmissionAssertionError(
          `after ${script} ran, the node cannot run programs anymore (${err.message.split(':').slice(-1)[0]?.trim()}); did the script delete or overwrite system files outside its own folders?`,
          { cause: err },
        );
      throw err;
    }
  }
  if (!complete()) {
    const seen = `${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`;
    if (/fork|Resource temporarily unavailable|Cannot allocate memory/i.test(seen)) {
      throw new SubmissionAssertionError(
        `after ${script} ran, the node cannot start any process (${seen}): does the script start processes without end?`,
      );
    }
    throw new GraderError(`could not follow ${script} on the node: ${seen}`);
  }
  const [state = '', outText = '', errText = '', rcText = '', lostText = '', startsText = ''] = r.stdout.split('\x1e');
  const stdout = Buffer.from(outText, 'base64').toString('utf8');
  const stderr = Buffer.from(errText, 'base64').toString('utf8');
  const done = state === 'ended';
  const rc = rcText.trim() === '' ? null : Number(rcText.trim());
  const durationMs = Date.now() - started;
  const killedAtDeadline =
    opts.mode === 'finish' && (!done || rc === 124 || (rc === 137 && durationMs >= timeoutS * 1000));
  return {
    script,
    args,
    code: killedAtDeadline ? null : rc,
    stdout,
    stderr,
    timedOut: killedAtDeadline,
    stillRunning: opts.mode === 'start' && !done,
    durationMs,
    lostTools: lostText.split(' ').filter(Boolean),
    startsProcesses: startsText === 'starts',
  };
}

/**
 * After a submission script ran: can the node still run the grader's tools? A script that deleted
 * or broke them (rm -rf /), or left the node unable to start a program (a fork bomb), fails here,
 * as the student's doing. The script's run found out while it read the results, with the shell's
 * builtins and one /bin/true (its output thrown away: the student's node may have replaced it),
 * rather than by an exec of its own through the runtime.
 */
export function assertNodeUsable(run: Pick<ScriptRun, 'lostTools' | 'startsProcesses'>, after: string): void {
  if (run.lostTools.length)
    throw new SubmissionAssertionError(
      `after ${after}, the node lost ${run.lostTools.join(', ')}; did the script delete or overwrite system files outside its own folders?`,
    );
  if (!run.startsProcesses)
    throw new SubmissionAssertionError(
      `after ${after}, the node cannot start a program (/bin/true did not run); does the script start processes without end, or did it overwrite system files?`,
    );
}
