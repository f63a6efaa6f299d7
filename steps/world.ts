import {
  After,
  Before,
  setDefaultTimeout,
  setWorldConstructor,
  Status,
  World,
  type IWorldOptions,
} from '@cucumber/cucumber';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '../src/vendor/kubernetes-client.js';
import { GraderError, LabError } from '../src/errors.js';
import type { ClusterNode } from '../src/env/cluster/provider.js';
import { providerFor } from '../src/env/cluster/select.js';
import { loadKubeConfig } from '../src/kube/client.js';
import { createSubmissionNamespace, deleteNamespaceLater, type SubmissionNamespace } from '../src/kube/namespace.js';
import { readSubmissionPod } from '../src/kube/pod-node.js';
import { DIAGNOSTICS_MEDIA_TYPE, NOTE_MEDIA_TYPE, type WorldParameters } from '../src/cucumber/parameters.js';
import { bound, commandTail } from '../src/grade/diagnostics.js';
import type { Diagnostics } from '../src/grade/model.js';
import { readNamespaceDiagnostics } from '../src/kube/diagnostics.js';
import { startSandbox, type Sandbox } from '../src/env/sandbox/index.js';
import { SUBMISSION_DIR } from '../src/env/script.js';
import type { ExecResult, Node } from '../src/env/node.js';
import type { TestHost } from '../src/env/testhost.js';
import type { AppliedObject } from '../src/kube/apply.js';

// Every wait inside a step has its own, shorter deadline from lab.yaml; this is the
// last-resort watchdog, and a step that hits it is the grader's error.
setDefaultTimeout(10 * 60 * 1000);

/** How long reading a failing scenario's namespace for its diagnostics may take. */
const DIAGNOSE_MS = 15_000;

/** The last thing run, as "its output", "it fails" refer to it. */
export interface LastRun extends Pick<ExecResult, 'code' | 'stdout' | 'stderr' | 'timedOut'> {
  what: string;
  truncated?: boolean;
}

export class KgradeWorld extends World<WorldParameters> {
  private sandbox?: Promise<Sandbox>;
  private ns?: Promise<SubmissionNamespace>;
  private adminConfig?: k8s.KubeConfig;
  private readonly clusterNodes = new Map<string, Promise<ClusterNode>>();
  last?: LastRun;
  /** The student's script's last run in this scenario (also `last` until another command runs). */
  lastScript?: LastRun;
  readonly vars = new Map<string, string>();
  /** What the submission's manifests created in this scenario, in order. */
  readonly applied: AppliedObject[] = [];
  readonly testHosts = new Map<string, TestHost>();
  /** Background shells the grader drives through a FIFO: name -> PID and working folder on the node. */
  readonly shells = new Map<string, { pid: number; dir: string }>();

  constructor(options: IWorldOptions<WorldParameters>) {
    super(options);
  }

  get timeouts() {
    return this.parameters.timeouts;
  }

  /**
   * The scenario's node. Sandbox labs: a fresh sandbox holding a copy of the
   * submission, started on first use. Cluster labs: the cluster's first node.
   */
  node(): Promise<Node> {
    if (this.parameters.cluster) return this.firstClusterNode();
    return this.sandboxNode();
  }

  private async firstClusterNode(): Promise<Node> {
    const nodes = await this.admin().makeApiClient(k8s.CoreV1Api).listNode();
    const name = nodes.items[0]?.metadata?.name;
    if (!name) throw new GraderError('the cluster has no nodes');
    return this.clusterNode(name);
  }

  /** A cluster node by name, reached through the cluster's provider; released after the scenario. */
  clusterNode(name: string): Promise<ClusterNode> {
    const cluster = this.parameters.cluster;
    if (!cluster) throw new LabError('this step needs a cluster lab (environment: cluster)');
    let n = this.clusterNodes.get(name);
    if (!n) {
      n = providerFor(cluster).node(name);
      this.clusterNodes.set(name, n);
    }
    return n;
  }

  /** The kubeconfig of the cluster, with the grader's own (admin) rights. */
  admin(): k8s.KubeConfig {
    const cluster = this.parameters.cluster;
    if (!cluster) throw new LabError('this step needs a cluster lab (environment: cluster)');
    this.adminConfig ??= loadKubeConfig(cluster);
    return this.adminConfig;
  }

  /** The scenario's own namespace, made on first use and deleted after the scenario; {{namespace}} is its name. */
  namespace(): Promise<SubmissionNamespace> {
    this.ns ??= createSubmissionNamespace(
      this.admin(),
      this.parameters.labId,
      this.parameters.submissionName,
      this.parameters.allow,
    ).then((ns) => {
      this.vars.set('namespace', ns.name);
      return ns;
    });
    return this.ns;
  }

  /** A pod of the scenario's namespace; none by that name is the submission's failure, an API that does not answer the grader's. */
  async submissionPod(name: string): Promise<k8s.V1Pod> {
    const ns = await this.namespace();
    return readSubmissionPod(this.admin(), ns.name, name);
  }

  private sandboxNode(): Promise<Node> {
    this.sandbox ??= (async () => {
      const n = await startSandbox(this.parameters.isolation, {
        image: this.parameters.nodeImage,
        runId: this.parameters.runId,
        purpose: this.parameters.labId,
        ...(this.parameters.cgroup ? { cgroup: this.parameters.cgroup } : {}),
        ...(this.parameters.jobs ? { ahead: this.parameters.jobs } : {}),
      });
      if (this.parameters.submissionDir) {
        await n.exec(['mkdir', '-p', SUBMISSION_DIR]);
        // the trailing /. copies the folder's content, not the folder
        await n.copyIn(`${this.parameters.submissionDir}/.`, SUBMISSION_DIR);
      }
      return n;
    })();
    return this.sandbox;
  }

  /** Replaces {{name}} with a value the scenario recorded earlier (a PID, a marker, an address). */
  expand(text: string): string {
    return text.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_m, name: string) => {
      const v = this.vars.get(name);
      if (v === undefined) {
        const known = [...this.vars.keys()].join(', ') || 'none yet';
        throw new LabError(`{{${name}}} is not set in this scenario (set so far: ${known})`);
      }
      return v;
    });
  }

  requireLast(): LastRun {
    if (!this.last) throw new LabError('this step checks "the last command", but nothing has run yet in this scenario');
    return this.last;
  }

  /** A line for the report: what the grader observed (which kernel behaviour, which rule). */
  note(text: string): void {
    this.attach(text, NOTE_MEDIA_TYPE);
  }

  /**
   * What a student needs to see why a scenario did not pass, read before the sandbox or the
   * namespace goes: the script's last output and the last command run; on a cluster, the
   * namespace's warning events, its objects' conditions and its containers' last log lines.
   * Bounded in size and time; what cannot be read is named, and nothing here throws.
   */
  async diagnose(): Promise<Diagnostics | undefined> {
    const d: Diagnostics = {};
    let cut = false;
    const take = (run: LastRun) => {
      const t = commandTail(run.what, run.code, run.stdout, run.stderr);
      cut ||= t.cut || (run.truncated ?? false);
      return t.tail;
    };
    if (this.lastScript) d.script = take(this.lastScript);
    if (this.last && this.last !== this.lastScript) d.command = take(this.last);
    const ns = this.parameters.cluster && this.ns ? await this.ns.catch(() => undefined) : undefined;
    if (ns) {
      const stop = new AbortController();
      const late = sleep(DIAGNOSE_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      try {
        const found = await Promise.race([readNamespaceDiagnostics(this.admin(), ns.name, this.applied), late]);
        if (!found) d.unavailable = [`the namespace ${ns.name} was not read within ${DIAGNOSE_MS / 1000} s`];
        else {
          if (found.events.length) d.events = found.events;
          if (found.objects.length) d.objects = found.objects;
          if (found.logs.length) d.logs = found.logs;
          if (found.unavailable.length) d.unavailable = found.unavailable;
        }
      } catch (err) {
        d.unavailable = [`the namespace ${ns.name}: ${(err as Error).message}`];
      } finally {
        stop.abort();
      }
    }
    if (Object.keys(d).length === 0) return undefined;
    return bound(cut ? { ...d, truncated: true } : d);
  }

  async dispose(): Promise<void> {
    for (const pending of this.clusterNodes.values()) {
      const n = await pending.catch(() => undefined);
      await n?.release();
    }
    this.clusterNodes.clear();
    if (this.ns) {
      const ns = await this.ns.catch(() => undefined);
      this.ns = undefined;
      // Deletion accepted before the grade is final: gradeSubmission waits for that.
      if (ns) deleteNamespaceLater(this.admin(), ns.name);
    }
    if (!this.sandbox) return;
    const pending = this.sandbox;
    this.sandbox = undefined;
    const node = await pending.catch(() => undefined);
    await node?.destroy();
  }
}

setWorldConstructor(KgradeWorld);

Before(function (this: KgradeWorld) {
  if (this.parameters.labId === '')
    throw new LabError('world parameters are missing: run scenarios through kgrade, not cucumber-js directly');
});

After(async function (this: KgradeWorld, { result }) {
  if (result?.status === Status.FAILED) {
    const d = await this.diagnose().catch((err: unknown) => ({
      unavailable: [`diagnostics: ${(err as Error).message}`],
    }));
    if (d) this.attach(JSON.stringify(d), { mediaType: DIAGNOSTICS_MEDIA_TYPE, fileName: 'diagnostics.json' });
  }
  await this.dispose();
});
