import { randomBytes } from 'node:crypto';
import { GraderError } from '../errors.js';
import { sh, shellQuote, type Node } from '../node.js';
import { paceOf, paced } from './pace.js';

export interface BackgroundShell {
  name: string;
  pid: number;
  dir: string;
}

/**
 * Starts a long-lived bash on the node that reads its commands from a FIFO, so
 * the grader can put it into a cgroup first and make it run something later.
 */
export async function startShell(node: Node, name: string): Promise<BackgroundShell> {
  const dir = `/run/kgrade/shell-${name}`;
  const r = await sh(
    node,
    `set -e
mkdir -p ${dir}
rm -f ${dir}/in
mkfifo ${dir}/in
setsid bash -c 'exec 3<>${dir}/in; exec bash <&3 >${dir}/out 2>&1' </dev/null >/dev/null 2>&1 &
echo $!`,
  );
  const pid = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0)
    throw new GraderError(`could not start the shell ${name}: ${r.stderr.trim()}`);
  return { name, pid, dir };
}

export interface ShellCommandResult {
  /** Exit status of the command as the shell saw it; null when the shell did not report one. */
  status: number | null;
  output: string;
  /** The shell itself died (killed) before reporting. */
  shellDied: boolean;
  /** The shell is alive but never answered within the deadline. */
  noAnswer: boolean;
}

/** Makes the shell run a command, then waits for it to report, or to die: timeoutS at the host's speed (./pace.ts). */
export async function runInShell(
  node: Node,
  shell: BackgroundShell,
  command: string,
  timeoutS: number,
): Promise<ShellCommandResult> {
  // A fresh marker per command: what the command prints cannot pass for the shell's report.
  const END = `kgrade-status-${randomBytes(6).toString('hex')}=`;
  const line = `${command}; echo "${END}$?"`;
  const out = `${shell.dir}/out`;
  // Only what the shell printed after this command was sent is this command's output.
  const since = `tail -c +$((before + 1)) ${out} 2>/dev/null`;
  const r = await sh(
    node,
    `before=$(stat -c %s ${out} 2>/dev/null || echo 0)
printf '%s\\n' ${shellQuote(line)} > ${shell.dir}/in
for i in $(seq ${paced(paceOf(node), timeoutS) * 10}); do
  ${since} | grep -q '${END}' && { echo state=answered; break; }
  kill -0 ${shell.pid} 2>/dev/null || { echo state=died; break; }
  sleep 0.1
done
echo state=end
${since} | grep -o '${END}[0-9]*' | tail -n 1
echo ----
${since} | sed 's/${END}[0-9]*$//' | head -c 8192`,
    { timeoutMs: (timeoutS + 15) * 1000 },
  );
  const [head = '', output = ''] = r.stdout.split('\n----\n');
  const m = new RegExp(`${END}(\\d+)`).exec(head);
  const shellDied = head.includes('state=died');
  return {
    status: m ? Number(m[1]) : null,
    output: output.trim(),
    shellDied,
    noAnswer: !m && !shellDied,
  };
}
