import { existsSync, readFileSync } from 'node:fs';

/** Whether the host mounts only the unified hierarchy (cgroup v2). */
export const cgroupV2Only = (): boolean => existsSync('/sys/fs/cgroup/cgroup.controllers');

/** Mount points of the host's cgroup v1 hierarchies, by controller (and by name= option). */
export function cgroupV1Mounts(): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fstype, , superOptions = ''] = after.split(' ');
    if (fstype !== 'cgroup') continue;
    const mountPoint = before.split(' ')[4] ?? '';
    for (const opt of superOptions.split(',')) mounts.set(opt, mountPoint);
  }
  return mounts;
}
