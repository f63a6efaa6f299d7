import { readFileSync } from 'node:fs';
import { USERNS_SIZE } from '../../config.js';
import { HOSTNAME, INIT } from './node-setup.js';

const CAPABILITY_NAMES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

/**
 * Every capability the grader's own bounding set holds. They are capabilities over the sandbox's
 * namespaces only: the user namespace is what keeps them from reaching the host.
 */
function capabilities(): string[] {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapBnd:'));
  const bits = BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`);
  return CAPABILITY_NAMES.filter((_n, i) => (bits >> BigInt(i)) & 1n).map((n) => `CAP_${n}`);
}

interface Mount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

const mount = (destination: string, type: string, options: string[], source = type): Mount => ({
  destination,
  type,
  source,
  options,
});

/** userns: the path of the user namespace the sandbox joins (made for it, owned by its root's host uid). */
export function ociConfig(name: string, env: string[], base: number, userns: string): object {
  const caps = capabilities();
  const idMap = [{ containerID: 0, hostID: base, size: USERNS_SIZE }];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: INIT,
      env: [...env.filter((e) => !/^(HOME|HOSTNAME)=/.test(e)), 'HOME=/root', `HOSTNAME=${HOSTNAME}`],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: HOSTNAME,
    mounts: [
      mount('/proc', 'proc', ['nosuid', 'noexec', 'nodev']),
      mount('/dev', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
      mount('/dev/pts', 'devpts', ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']),
      mount('/dev/shm', 'tmpfs', ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'], 'shm'),
      mount('/dev/mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
      mount('/sys', 'sysfs', ['nosuid', 'noexec', 'nodev']),
      mount('/sys/fs/cgroup', 'cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'rw']),
      // `ip netns exec` unmounts /sys and mounts a fresh sysfs for the namespace; in a user namespace
      // the kernel allows that only while another sysfs stays mounted in full view. This one does,
      // under the /run tmpfs that covers it next.
      mount('/run/.kgrade-sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'ro']),
      mount('/run', 'tmpfs', ['nosuid', 'nodev', 'mode=755', 'size=64m']),
      mount('/tmp', 'tmpfs', ['nosuid', 'nodev', 'mode=1777', 'size=256m']),
      // The grader's own files on the node (a script's exit status, its runner's PID, shells).
      mount('/run/kgrade', 'tmpfs', ['mode=755', 'size=16m']),
      // Submission scripts' output, apart: a script printing without end fills this one, not the
      // space the grader needs to record that the script was stopped.
      mount('/run/kgrade/output', 'tmpfs', ['mode=755', 'size=32m']),
    ],
    linux: {
      uidMappings: idMap,
      gidMappings: idMap,
      cgroupsPath: `/kgrade/${name}/node`,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        ...['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
        { type: 'user', path: userns },
      ],
      // Nothing masked: the user namespace, not a mask, keeps /proc and /sys from the host, and a
      // masked /proc would refuse the fresh procfs that `unshare --mount-proc` mounts.
      maskedPaths: [],
      readonlyPaths: [],
    },
    annotations: { 'kgrade.owner-pid': String(process.pid) },
  };
}
