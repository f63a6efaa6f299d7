import { GraderError } from '../../errors.js';
import type { CgroupPin } from '../../lab/types.js';
import { cgroupV2Only } from './cgroup-mounts.js';
import { DEFAULT_ISOLATION, type Isolation } from './index.js';
import { qemuInstalled } from './vm-host.js';

export type CgroupVersion = 'v1' | 'v2';

/** The cgroup version of this host: v2 when the unified hierarchy is the only one mounted. */
export function hostCgroupVersion(): CgroupVersion {
  return cgroupV2Only() ? 'v2' : 'v1';
}

/** The cgroup version a sandbox gives a lab pinned to `pin`: the pin, or the host's for either. */
export function cgroupFor(pin: CgroupPin): CgroupVersion {
  return pin === 'either' ? hostCgroupVersion() : pin;
}

/**
 * The runtime that grades sandbox labs with the kernels they pin (lab.yaml kernel.cgroup):
 * `explicit` (--isolation or KGRADE_ISOLATION) when given, else userns when the host's cgroup
 * version suits every lab, else vm, whose kernel is booted with the version asked. A lab that
 * the chosen runtime would grade on the wrong kernel is refused: a GraderError (exit 3) naming
 * the lab, what it asks, what the host has and what to install or pass.
 */
export function chooseIsolation(
  labs: { id: string; pin: CgroupPin }[],
  explicit: Isolation | undefined,
  hostVersion = hostCgroupVersion(),
  qemuThere = qemuInstalled(),
): Isolation {
  const mismatched = labs.filter((l) => l.pin !== 'either' && l.pin !== hostVersion);
  const first = mismatched[0];
  if (explicit === 'vm' || !first) return explicit ?? DEFAULT_ISOLATION;
  const asks = `lab ${first.id} assumes cgroup ${first.pin} (lab.yaml kernel.cgroup) and this host runs cgroup ${hostVersion}`;
  if (explicit) {
    throw new GraderError(
      `${asks}: --isolation ${explicit} would grade it on the host's kernel, the wrong one; grade it with --isolation vm, which boots a kernel with cgroup ${first.pin}`,
    );
  }
  if (!qemuThere) {
    throw new GraderError(
      `${asks}: only a VM sandbox can give it that kernel here, and qemu is not installed (Debian: apt-get install qemu-system-x86 qemu-utils), then grade again`,
    );
  }
  return 'vm';
}
