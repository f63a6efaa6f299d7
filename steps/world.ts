import {
  After,
  Before,
  setDefaultTimeout,
  setDefinitionFunctionWrapper,
  setWorldConstructor,
  Status,
  World,
  type IWorldOptions,
} from '@cucumber/cucumber';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '../src/vendor/kubernetes-client.js';
import { LabError } from '../src/errors.js';
import { PACE_MAX, paced, paceOf } from '../src/env/pace.js';
import { watchdog } from '../src/cucumber/watchdog.js';
import type { ScenarioNode } from '../src/env/environment.js';
import { environmentOf } from '../src/env/environments/index.js';
import { loadKubeConfig } from '../src/kube/client.js';
import { createSubmissionNamespace, deleteNamespaceLater, type SubmissionNamespace } from '../src/kube/namespace.js';
import { readSubmissionPod } from '../src/kube/pod-node.js';
import { DIAGNOSTICS_MEDIA_TYPE, NOTE_MEDIA_TYPE, type WorldParameters } from '../src/cucumber/parameters.js';
import { bound, commandTail } from '../src/grade/diagnostics.js';
import type { Diagnostics } from '../src/grade/model.js';
import { readNamespaceDiagnostics } from '../src/kube/diagnostics.js';
import type { ExecResult, Node } from '../src/node.js';
import type { TestHost } from '../src/env/testhost.js';
import type { AppliedObject } from '../src/kube/apply.js';

/**
 * Every wait inside a step has its own, shorter deadline from lab.yaml; this is the last-resort
 * watchdog of each step and hook, and one that hits it is the grader's error. A slow sandbox
 * stretches the steps' deadlines by its pace (src/env/pace.ts), so the watchdog of a scenario
 * whose node has a pace is stretched by as much (a hanging script stays the student's `failed`
 * at its stretched deadline); on a cluster or a node at the host's speed it stays 10 minutes.
 */
const STEP_WATCHDOG_MS = 10 * 60 * 1000;
setDefinitionFunctionWrapper(
  (code: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      const pace = () => (this instanceof KgradeWorld ? this.pace : 1);
      return watchdog(
        () => code.apply(this, args),
        () => paced(pace(), STEP_WATCHDOG_MS),
      );
    },
);
// cucumber's own timeout, behind the watchdog above whatever a node's pace
setDefaultTimeout(PACE_MAX * STEP_WATCHDOG_MS + 60_000);

/** How long reading a failing scenario's namespace for its diagnostics may take. */
const DIAGNOSE_MS = 15_000;

/** The last thing run, as "its output", "it fails" refer to it. */
export interface LastRun extends Pick<ExecResult, 'code' | 'stdout' | 'stderr' | 'timedOut'> {
  what: string;
  truncated?: boolean;
}

export class KgradeWorld extends World<WorldParameters> {
  private ns?: Promise<SubmissionNamespace>;
  private adminConfig?: k8s.KubeConfig;
  /** The scenario's nodes, made or reached on first use: '' is its own, a name a cluster's node. */
  private readonly nodes = new Map<string, Promise<ScenarioNode>>();
  /** The slowest pace among the scenario's nodes started so far (1 until one has a pace). */
  pace = 1;
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
  async node(): Promise<Node> {
    return (await this.environmentNode('')).node;
  }

  /** A cluster node by name, reached through the cluster's provider; released after the scenario. */
  async clusterNode(name: string): Promise<Node> {
    return (await this.environmentNode(name)).node;
  }

  private environmentNode(name: string): Promise<ScenarioNode> {
    let n = this.nodes.get(name);
    if (!n) {
      const p = this.parameters;
      const scenario = { runId: p.runId, labId: p.labId, submissionDir: p.submissionDir };
      n = environmentOf(p.environment).node(p.environment, scenario, name === '' ? undefined : name);
      n.then(
        (s) => {
          this.pace = Math.max(this.pace, paceOf(s.node));
        },
        () => undefined,
      );
      this.nodes.set(name, n);
    }
    return n;
  }

  /** The kubeconfig of the cluster, with the grader's own (admin) rights. */
  admin(): k8s.KubeConfig {
    const env = this.parameters.environment;
    if (env.kind !== 'cluster') throw new LabError('this step needs a cluster lab (environment: cluster)');
    this.adminConfig ??= loadKubeConfig(env);
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
    const ns = this.ns ? await this.ns.catch(() => undefined) : undefined;
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
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    for (const pending of nodes) {
      const n = await pending.catch(() => undefined);
      await n?.dispose();
    }
    if (this.ns) {
      const ns = await this.ns.catch(() => undefined);
      this.ns = undefined;
      // Deletion accepted before the grade is final: gradeSubmission waits for that.
      if (ns) deleteNamespaceLater(this.admin(), ns.name);
    }
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
