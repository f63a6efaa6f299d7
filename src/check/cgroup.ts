import type { Node } from '../node.js';
import { sh } from '../node.js';
import { GraderError } from '../errors.js';

/** A memory cgroup as the node shows it, v1 and v2 read into one shape. */
export interface MemoryCgroup {
  version: 1 | 2;
  name: string;
  dir: string;
  exists: boolean;
  /** Bytes, or null for no limit. */
  limit: number | null;
  /** v1 memory.failcnt; v2 memory.events "max" + "oom_kill". */
  failures: number;
  oomKills: number | null;
  pageSize: number;
}

/** The node's memory controller: v1 when a memory hierarchy is mounted, else the unified v2 hierarchy. */
async function memoryRoot(node: Node): Promise<{ version: 1 | 2; root: string }> {
  const r = await sh(
    node,
    `awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print "1 " $2; exit} $3 == "cgroup2" {v2 = $2} END {if (v2 != "") print "2 " v2}' /proc/self/mounts | head -n 1`,
  );
  const [v, root] = r.stdout.trim().split(' ');
  if ((v !== '1' && v !== '2') || !root)
    throw new GraderError(`the node has no memory cgroup hierarchy mounted: ${r.stdout.trim()} ${r.stderr.trim()}`);
  return { version: v === '1' ? 1 : 2, root };
}

export async function readMemoryCgroup(node: Node, name: string): Promise<MemoryCgroup> {
  const { version, root } = await memoryRoot(node);
  const dir = `${root}/${name.replace(/^\/+/, '')}`;
  const script =
    version === 1
      ? `cd ${dir} 2>/dev/null || { echo missing; exit 0; }; echo limit=$(cat memory.limit_in_bytes); echo failures=$(cat memory.failcnt); echo oom=$(awk '$1=="oom_kill"{print $2}' memory.oom_control 2>/dev/null); echo page=$(getconf PAGESIZE)`
      : `cd ${dir} 2>/dev/null || { echo missing; exit 0; }; echo limit=$(cat memory.max); echo failures=$(awk '$1=="max"||$1=="oom_kill"{s+=$2} END{print s+0}' memory.events); echo oom=$(awk '$1=="oom_kill"{print $2}' memory.events); echo page=$(getconf PAGESIZE)`;
  const r = await sh(node, script);
  if (r.code !== 0) throw new GraderError(`reading memory cgroup ${dir} failed: ${r.stderr.trim()}`);
  const values = new Map(
    r.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const page = Number(values.get('page') ?? '4096');
  if (r.stdout.trim() === 'missing') {
    return { version, name, dir, exists: false, limit: null, failures: 0, oomKills: null, pageSize: page };
  }
  const limitText = values.get('limit') ?? '';
  // v1 reports "no limit" as a huge page-aligned number near 2^63.
  const limitNumber = limitText === 'max' ? null : Number(limitText);
  const limit = limitNumber === null || !Number.isFinite(limitNumber) || limitNumber >= 2 ** 62 ? null : limitNumber;
  const oomText = values.get('oom') ?? '';
  return {
    version,
    name,
    dir,
    exists: true,
    limit,
    failures: Number(values.get('failures') ?? '0'),
    oomKills: oomText === '' ? null : Number(oomText),
    pageSize: page,
  };
}

/** The memory cgroup path of a process, relative to the node's hierarchy root ("/chroot0"); null when the process is gone. */
export async function memoryCgroupOf(node: Node, pid: number): Promise<string | null> {
  const { version } = await memoryRoot(node);
  const r = await sh(node, `cat /proc/${pid}/cgroup 2>/dev/null || echo gone`);
  if (r.stdout.trim() === 'gone') return null;
  for (const line of r.stdout.split('\n')) {
    const [, controllers = '', p = ''] = line.split(':');
    if (version === 1 && controllers.split(',').includes('memory')) return p;
    if (version === 2 && line.startsWith('0::')) return p;
  }
  return null;
}

// What /proc/PID/cgroup says of a process, and the cgroup layouts the kubelet makes for pods.

export interface CgroupLine {
  hierarchy: string;
  controllers: string[];
  path: string;
}

/** /proc/PID/cgroup, one entry per hierarchy ("4:memory:/kubepods/..." or "0::/kubepods.slice/..."). */
export function parseProcCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m) out.push({ hierarchy: m[1] ?? '', controllers: (m[2] ?? '').split(',').filter(Boolean), path: m[3] ?? '' });
  }
  return out;
}

/** The memory cgroup of a process from its /proc/PID/cgroup: the v1 memory hierarchy's path, or v2's unified one. */
export function memoryCgroupPath(text: string, version: 1 | 2): string | undefined {
  const lines = parseProcCgroup(text);
  if (version === 1) return lines.find((l) => l.controllers.includes('memory'))?.path;
  return lines.find((l) => l.hierarchy === '0' && l.controllers.length === 0)?.path;
}

/**
 * Whether a cgroup path is a pod's container's, and in which driver's layout:
 * cgroupfs "/kubepods/burstable/pod<uid>/<container id>", or systemd
 * ".../kubepods-burstable-pod<uid with _>.slice/cri-containerd-<container id>.scope".
 */
export function containerCgroupLayout(
  path: string,
  podUid: string,
  containerId: string,
): 'systemd' | 'cgroupfs' | undefined {
  const segments = path.split('/');
  const last = segments.at(-1) ?? '';
  const podSegment = segments.at(-2) ?? '';
  if (!last.includes(containerId)) return undefined;
  if (podSegment.endsWith(`pod${podUid.replaceAll('-', '_')}.slice`)) return 'systemd';
  if (podSegment === `pod${podUid}`) return 'cgroupfs';
  return undefined;
}

/** The QoS class a pod's cgroup path sits under ("burstable", "besteffort"; guaranteed pods sit right under kubepods). */
export function qosOfCgroupPath(path: string): string {
  const m = /kubepods[^/]*[/-](burstable|besteffort)\b/i.exec(path);
  return m?.[1]?.toLowerCase() ?? 'guaranteed';
}
