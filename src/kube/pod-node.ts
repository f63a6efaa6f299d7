import * as k8s from '../vendor/kubernetes-client.js';
import { readMemoryCgroup, type MemoryCgroup } from '../check/cgroup.js';
import { sh, shellQuote, type Node } from '../env/node.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';
import { api, describeApiError, httpStatus } from './client.js';
import { podState } from './pods.js';

/*
 * A pod as its node sees it: the container's process and cgroup (found through containerd with
 * `ctr -n k8s.io`, from the container id in the pod's status), the files containerd mounts into
 * it, its network devices and routes. Parsers first (pure, unit-tested), then the readers.
 */

// ------------------------------------------------------------------ parsers

/** `ctr -n k8s.io task ls`: container id -> its main process on the node. */
export function parseCtrTasks(text: string): Map<string, { pid: number; status: string }> {
  const out = new Map<string, { pid: number; status: string }>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{12,})\s+(\d+)\s+(\S+)/.exec(line.trim());
    if (m?.[1]) out.set(m[1], { pid: Number(m[2]), status: m[3] ?? '' });
  }
  return out;
}

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

export interface MountinfoEntry {
  majorMinor: string;
  /** The path inside the source file system that is mounted. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/mountinfo. */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || right === undefined) continue;
    const f = left.trim().split(' ');
    const r = right.trim().split(' ');
    if (f.length < 5) continue;
    out.push({
      majorMinor: f[2] ?? '',
      root: unescapeOctal(f[3] ?? ''),
      mountPoint: unescapeOctal(f[4] ?? ''),
      fsType: r[0] ?? '',
      source: r[1] ?? '',
    });
  }
  return out;
}

export interface IpInterface {
  index: number;
  name: string;
  /** The peer's interface index in the other namespace ("eth0@if7" -> 7). */
  peerIndex?: number;
  addresses: Array<{ family: 'inet' | 'inet6'; address: string; prefix: number }>;
}

/** `ip a` / `ip addr` (iproute2 or busybox), multi-line or -o form. */
export function parseIpAddr(text: string): IpInterface[] {
  const out: IpInterface[] = [];
  let current: IpInterface | undefined;
  for (const raw of text.split('\n')) {
    const head = /^(\d+):\s+([^:@\s]+)(?:@(?:if(\d+)|[^:\s]+))?:?\s/.exec(raw);
    if (head) {
      const index = Number(head[1]);
      const existing = out.find((i) => i.index === index);
      if (existing) current = existing;
      else {
        current = { index, name: head[2] ?? '', addresses: [] };
        if (head[3]) current.peerIndex = Number(head[3]);
        out.push(current);
      }
    }
    if (!current) continue;
    for (const m of raw.matchAll(/\b(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)/g)) {
      current.addresses.push({
        family: m[1] === 'inet6' ? 'inet6' : 'inet',
        address: m[2] ?? '',
        prefix: Number(m[3]),
      });
    }
  }
  return out;
}

export interface Route {
  destination: string;
  dev?: string;
  via?: string;
}

/** `ip route` (IPv4). */
export function parseIpRoute(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (!w[0]) continue;
    const at = (k: string) => {
      const i = w.indexOf(k);
      return i >= 0 ? w[i + 1] : undefined;
    };
    const dev = at('dev');
    const via = at('via');
    out.push({ destination: w[0], ...(dev ? { dev } : {}), ...(via ? { via } : {}) });
  }
  return out;
}

/** The most specific route for an address: a host route "10.244.0.7" or "10.244.0.7/32", else the longest prefix. */
export function routeFor(
  routes: Route[],
  ip: string,
  contains: (cidr: string, ip: string) => boolean,
): Route | undefined {
  const prefix = (r: Route) => (r.destination === 'default' ? 0 : Number(r.destination.split('/')[1] ?? 32));
  return routes
    .filter((r) => r.destination === 'default' || contains(r.destination, ip))
    .sort((a, b) => prefix(b) - prefix(a))[0];
}

/** The nameservers of a resolv.conf. */
export function resolvNameservers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x));
}

/**
 * The addresses an nslookup answered for the name (busybox or BIND format): the Address lines
 * after the first "Name:" line; the server's own "Address:" line comes before it.
 */
export function nslookupAnswers(text: string): string[] {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => /^Name:/.test(l.trim()));
  if (first < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(first)) {
    const m = /^Address(?:es)?(?:\s+\d+)?:\s*(\S+)/.exec(l.trim());
    if (m?.[1]) out.push(m[1].replace(/#\d+$/, ''));
  }
  return out;
}

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };

/** A Kubernetes quantity ("200Mi", "209715200", "200M", "0.5Gi", "1e8") in bytes; undefined when it does not parse. */
export function quantityBytes(quantity: string): number | undefined {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?)$/.exec(quantity.trim());
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  return n * (BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix] ?? NaN);
}

/** The repository of an image reference without registry, tag or digest: "docker.io/library/busybox:1.36" -> "busybox". */
export function imageName(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const parts = noDigest.split('/');
  const last = parts.at(-1) ?? '';
  return last.split(':')[0] ?? '';
}

/** Whether a process's argv is the command: the first word compared by its base name ("/bin/sleep" is "sleep"), the rest exactly. */
export function argvIs(argv: string[], words: string[]): boolean {
  if (argv.length !== words.length || argv.length === 0) return false;
  const base = (argv[0] ?? '').split('/').at(-1);
  return base === words[0] && argv.slice(1).every((a, i) => a === words[i + 1]);
}

/** `ps -e -o pid=,ppid=`: the processes below `root`, root included. */
export function descendants(psText: string, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of psText.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const ppid = Number(m[2]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift() as number;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

// ------------------------------------------------------------------ readers

/** A pod of the submission's namespace; none by that name is the submission's failure. */
export async function readSubmissionPod(kc: k8s.KubeConfig, namespace: string, name: string): Promise<k8s.V1Pod> {
  try {
    return await api(kc, `reading pod ${name}`, () =>
      kc.makeApiClient(k8s.CoreV1Api).readNamespacedPod({ name, namespace }),
    );
  } catch (err) {
    if (httpStatus(err) === 404)
      throw new SubmissionAssertionError(`there is no pod ${name} in the submission's namespace`);
    if (err instanceof GraderError) throw err;
    throw new GraderError(`reading pod ${namespace}/${name}: ${describeApiError(err)}`, { cause: err });
  }
}

export interface RunningContainer {
  name: string;
  /** containerd's id, without the "containerd://" scheme. */
  id: string;
}

/** The running containers of a pod, from its status; a runtime other than containerd is the grader's problem. */
export function runningContainers(pod: k8s.V1Pod): RunningContainer[] {
  const out: RunningContainer[] = [];
  for (const c of pod.status?.containerStatuses ?? []) {
    if (!c.state?.running || !c.containerID) continue;
    const [scheme, id] = c.containerID.split('://');
    if (scheme !== 'containerd' || !id)
      throw new GraderError(
        `container ${c.name} of pod ${pod.metadata?.name ?? '?'} runs on ${scheme ?? '?'}; these checks read containerd with ctr`,
      );
    out.push({ name: c.name, id });
  }
  if (out.length === 0)
    throw new SubmissionAssertionError(`pod ${pod.metadata?.name ?? '?'} has no running container (${podState(pod)})`);
  return out;
}

async function nodeRun(node: Node, script: string, doing: string, timeoutMs: number): Promise<string> {
  const r = await sh(node, script, { timeoutMs });
  if (r.timedOut || r.code !== 0) {
    throw new GraderError(
      `${doing} on node ${node.name} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.stdout).trim().slice(0, 400)}`,
    );
  }
  return r.stdout;
}

/** The main process of a container on its node, from `ctr -n k8s.io task ls`. */
export async function containerPid(node: Node, containerId: string, timeoutMs: number): Promise<number> {
  const tasks = parseCtrTasks(await nodeRun(node, 'ctr -n k8s.io task ls', 'listing containerd tasks', timeoutMs));
  const task = tasks.get(containerId);
  if (!task || task.pid === 0)
    throw new GraderError(
      `containerd on node ${node.name} has no running task for container ${containerId.slice(0, 13)} (${tasks.size} tasks listed)`,
    );
  return task.pid;
}

/** The PIDs of every process on the node. */
export async function nodePids(node: Node, timeoutMs: number): Promise<Set<number>> {
  const out = await nodeRun(node, 'ps -e -o pid=', 'listing processes', timeoutMs);
  return new Set(
    out
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0),
  );
}

/** The processes of a container on its node: its main process and every descendant, with their argv. */
export async function containerProcesses(
  node: Node,
  pid: number,
  timeoutMs: number,
): Promise<Array<{ pid: number; argv: string[] }>> {
  const tree = descendants(await nodeRun(node, 'ps -e -o pid=,ppid=', 'listing processes', timeoutMs), pid);
  const script = tree.map((p) => `printf '%s ' ${p}; base64 -w0 /proc/${p}/cmdline 2>/dev/null; echo`).join('\n');
  const out = await nodeRun(node, script, 'reading command lines', timeoutMs);
  const procs: Array<{ pid: number; argv: string[] }> = [];
  for (const line of out.split('\n')) {
    const m = /^(\d+) (\S*)$/.exec(line.trim());
    if (!m?.[2]) continue;
    const argv = Buffer.from(m[2], 'base64').toString('utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    procs.push({ pid: Number(m[1]), argv });
  }
  return procs;
}

export interface ContainerInfo {
  sandboxId: string;
  /** The host path containerd bind-mounts at each destination. */
  mounts: Map<string, string>;
}

/** `ctr -n k8s.io containers info ID`: the pod sandbox's id and the container's bind mounts. */
export function parseContainerInfo(json: string): ContainerInfo {
  const info = JSON.parse(json) as {
    Labels?: Record<string, string>;
    Spec?: { annotations?: Record<string, string>; mounts?: Array<{ destination?: string; source?: string }> };
  };
  const sandboxId =
    info.Spec?.annotations?.['io.kubernetes.cri.sandbox-id'] ?? info.Labels?.['io.kubernetes.cri.sandbox-id'] ?? '';
  const mounts = new Map<string, string>();
  for (const m of info.Spec?.mounts ?? []) if (m.destination && m.source) mounts.set(m.destination, m.source);
  return { sandboxId, mounts };
}

export async function containerInfo(node: Node, containerId: string, timeoutMs: number): Promise<ContainerInfo> {
  const out = await nodeRun(
    node,
    `ctr -n k8s.io containers info ${shellQuote(containerId)}`,
    `reading container ${containerId.slice(0, 13)} from containerd`,
    timeoutMs,
  );
  try {
    return parseContainerInfo(out);
  } catch (err) {
    throw new GraderError(
      `ctr containers info ${containerId.slice(0, 13)} on node ${node.name} printed no JSON: ${out.slice(0, 200)}`,
      { cause: err },
    );
  }
}

/** Device and inode of a file on the node ("65024 1163457"), or undefined when it is not there. */
export async function nodeFileIdentity(node: Node, path: string, timeoutMs: number): Promise<string | undefined> {
  const r = await sh(node, `stat -L -c '%d %i' -- ${shellQuote(path)}`, { timeoutMs });
  if (r.timedOut) throw new GraderError(`stat ${path} on node ${node.name} timed out`);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export interface ContainerMemoryCgroup {
  cgroup: MemoryCgroup;
  /** "systemd" or "cgroupfs", or "found by id" when /proc/PID/cgroup's path did not lead to it. */
  layout: string;
  path: string;
  pid: number;
}

/**
 * The memory cgroup of a container on its node: from the main process's /proc/PID/cgroup
 * (PID from ctr), checked to be the pod's and the container's. When that path does not exist
 * from where the grader looks (a cgroup namespace of its own), the container's cgroup is
 * looked up by its id under the memory hierarchy instead.
 */
export async function containerMemoryCgroup(
  node: Node,
  podUid: string,
  containerId: string,
  timeoutMs: number,
): Promise<ContainerMemoryCgroup> {
  const pid = await containerPid(node, containerId, timeoutMs);
  const root = await nodeRun(
    node,
    `awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print "1 " $2; exit} $3 == "cgroup2" {v2 = $2} END {if (v2 != "") print "2 " v2}' /proc/self/mounts | head -n 1; echo ---; cat /proc/${pid}/cgroup`,
    'reading cgroups',
    timeoutMs,
  );
  const [head = '', procCgroup = ''] = root.split('---\n');
  const [v, mountPoint = ''] = head.trim().split(' ');
  const version = v === '1' ? 1 : v === '2' ? 2 : undefined;
  if (!version) throw new GraderError(`node ${node.name} has no memory cgroup hierarchy mounted`);
  const path = memoryCgroupPath(procCgroup, version);
  if (path && !path.startsWith('/..')) {
    const layout = containerCgroupLayout(path, podUid, containerId);
    if (!layout)
      throw new GraderError(
        `process ${pid} of container ${containerId.slice(0, 13)} is in memory cgroup ${path}, which is not the pod's (uid ${podUid})`,
      );
    const cgroup = await readMemoryCgroup(node, path);
    if (cgroup.exists) return { cgroup, layout, path, pid };
  }
  const found = await nodeRun(
    node,
    `find ${shellQuote(mountPoint)} -maxdepth 8 -type d -name ${shellQuote(`*${containerId}*`)} 2>/dev/null | head -n 1`,
    "looking up the container's cgroup",
    timeoutMs,
  );
  const dir = found.trim();
  if (!dir)
    throw new GraderError(
      `no memory cgroup of container ${containerId.slice(0, 13)} under ${mountPoint} on node ${node.name} (process ${pid} is in "${path ?? '?'}")`,
    );
  const rel = dir.slice(mountPoint.length);
  if (!containerCgroupLayout(rel, podUid, containerId))
    throw new GraderError(
      `the cgroup ${dir} named for container ${containerId.slice(0, 13)} is not under pod ${podUid}`,
    );
  return { cgroup: await readMemoryCgroup(node, rel), layout: 'found by id', path: rel, pid };
}
