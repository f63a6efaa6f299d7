import * as k8s from '../vendor/kubernetes-client.js';
import { containerCgroupLayout, memoryCgroupPath, readMemoryCgroup, type MemoryCgroup } from '../check/cgroup.js';
import { descendants, parseCtrTasks } from '../check/listing.js';
import { sh, shellQuote, type Node } from '../node.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';
import { api, graderFault, httpStatus } from './client.js';
import { podState } from './pods.js';

/*
 * A pod as its node sees it: the container's process and cgroup (found through containerd with
 * `ctr -n k8s.io`, from the container id in the pod's status), the files containerd mounts into
 * it, its network devices and routes. The parsers of what the node prints are in check/listing.ts
 * and check/cgroup.ts.
 */

// ------------------------------------------------------------------ parsers

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
    throw graderFault(err, `reading pod ${namespace}/${name}`);
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
