import { randomBytes } from 'node:crypto';
import * as k8s from '../vendor/kubernetes-client.js';
import { SubmissionAssertionError } from '../errors.js';
import { eventually } from '../eventually.js';
import { api, graderFault } from './client.js';
import { podLogs } from './pods.js';
import { podEnded } from './readiness.js';

/** Where an environment variable should come from: a key of a ConfigMap or a Secret. */
export interface EnvSource {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  key: string;
}

/** How a pod's spec provides one variable: from the source (ok), or why not. */
export type EnvVerdict = { ok: true; how: string } | { ok: false; why: string };

function describeRef(v: k8s.V1EnvVarSource): string {
  if (v.configMapKeyRef) return `key "${v.configMapKeyRef.key}" of ConfigMap ${v.configMapKeyRef.name}`;
  if (v.secretKeyRef) return `key "${v.secretKeyRef.key}" of Secret ${v.secretKeyRef.name}`;
  if (v.fieldRef) return `field ${v.fieldRef.fieldPath}`;
  if (v.resourceFieldRef) return `resource ${v.resourceFieldRef.resource}`;
  return 'an unknown source';
}

function refersTo(v: k8s.V1EnvVarSource | undefined, src: EnvSource): boolean {
  const ref = src.kind === 'ConfigMap' ? v?.configMapKeyRef : v?.secretKeyRef;
  return ref?.name === src.name && ref.key === src.key;
}

function fromRef(e: k8s.V1EnvFromSource, src: EnvSource): boolean {
  return (src.kind === 'ConfigMap' ? e.configMapRef?.name : e.secretRef?.name) === src.name;
}

/**
 * Whether the pod's spec takes variable `name` from the source: an env entry
 * with valueFrom naming the object and key, or envFrom naming the object (its
 * keys arrive under their own names, or under a prefix, and the container's
 * command may pass them on). A value written into the manifest, even the right
 * one, is a copy: it does not follow the ConfigMap or the Secret.
 */
export function envVerdict(pod: k8s.V1Pod, name: string, src: EnvSource): EnvVerdict {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const wrong: string[] = [];
  for (const c of containers) {
    const where = `container ${c.name}`;
    const entry = c.env?.find((e) => e.name === name);
    const envFrom = (c.envFrom ?? []).filter((e) => fromRef(e, src));
    if (entry?.valueFrom) {
      if (refersTo(entry.valueFrom, src))
        return {
          ok: true,
          how: `${where}: env ${name} valueFrom ${src.kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'} ${src.name}/${src.key}`,
        };
      wrong.push(
        `${where} takes ${name} from ${describeRef(entry.valueFrom)}, not from key "${src.key}" of ${src.kind} ${src.name}`,
      );
      continue;
    }
    if (entry && entry.value !== undefined && !/\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(entry.value)) {
      wrong.push(
        `${where} sets ${name} to a value written into the manifest ("${entry.value}"): a copy does not follow ${src.kind} ${src.name}; use valueFrom.${src.kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'}`,
      );
      continue;
    }
    const from = envFrom[0];
    if (from) {
      const prefix = from.prefix ?? '';
      const ref = src.kind === 'ConfigMap' ? 'configMapRef' : 'secretRef';
      if (prefix + src.key === name)
        return { ok: true, how: `${where}: envFrom ${ref} ${src.name}${prefix ? ` with prefix ${prefix}` : ''}` };
      const via = entry?.value !== undefined ? `env ${name}=${entry.value}` : `the container's command`;
      return {
        ok: true,
        how: `${where}: envFrom ${ref} ${src.name} gives $${prefix}${src.key}; ${name} is made from it by ${via}`,
      };
    }
  }
  if (wrong.length) return { ok: false, why: wrong.join('; ') };
  return {
    ok: false,
    why: `no container takes ${name} from key "${src.key}" of ${src.kind} ${src.name} (containers: ${containers.map((c) => c.name).join(', ') || 'none'}); use env[].valueFrom.${src.kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'} or envFrom`,
  };
}

/**
 * Whether a log shows the variable set to the value: `NAME=value` as `env`
 * prints it, or `NAME: value`, `NAME value`, quoted or not.
 */
export function logShows(log: string, name: string, value: string): boolean {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_])${esc(name)}\\s*[=:]?\\s*["']?${esc(value)}(["']|[^A-Za-z0-9_-]|$)`, 'm').test(
    log,
  );
}

/**
 * Gives one key of a ConfigMap or Secret a value made for this scenario, so
 * that only a pod that reads the object prints it. Returns the value.
 */
export async function freshValue(admin: k8s.KubeConfig, namespace: string, src: EnvSource): Promise<string> {
  const value = `${src.key}-${randomBytes(5).toString('hex')}`;
  const core = admin.makeApiClient(k8s.CoreV1Api);
  try {
    if (src.kind === 'ConfigMap') {
      const cm = await core.readNamespacedConfigMap({ name: src.name, namespace });
      await core.replaceNamespacedConfigMap({
        name: src.name,
        namespace,
        body: { ...cm, data: { ...cm.data, [src.key]: value } },
      });
    } else {
      const s = await core.readNamespacedSecret({ name: src.name, namespace });
      const data = { ...s.data, [src.key]: Buffer.from(value).toString('base64') };
      await core.replaceNamespacedSecret({ name: src.name, namespace, body: { ...s, data, stringData: undefined } });
    }
  } catch (err) {
    throw graderFault(err, `setting key ${src.key} of ${src.kind} ${namespace}/${src.name} (a fixture of the lab)`);
  }
  return value;
}

/** Every container's log of a pod, one after the other; a container not started yet adds nothing. */
async function allLogs(kc: k8s.KubeConfig, namespace: string, pod: k8s.V1Pod): Promise<string> {
  const name = pod.metadata?.name ?? '';
  const logs = await Promise.all(
    (pod.spec?.containers ?? []).map((c) =>
      podLogs(kc, namespace, name, c.name).catch((err: unknown) => {
        if (err instanceof SubmissionAssertionError) return '';
        throw err;
      }),
    ),
  );
  return logs.join('\n');
}

/**
 * Waits until the pod's log shows the variable set to the value (logShows);
 * a pod that has ended prints nothing more, so its log is final at once.
 * Returns the log and the line that shows it.
 */
export async function waitForLogToShow(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  env: string,
  value: string,
  timeoutMs: number,
): Promise<{ log: string; line: string }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const log = await eventually(
    async () => {
      const pod = await api(kc, `reading pod ${name}`, () => core.readNamespacedPod({ name, namespace }));
      const ended = podEnded(pod);
      const text = await allLogs(kc, namespace, pod);
      const lines = text.split('\n').filter((l) => l.includes(env));
      const tail = text.trim().split('\n').slice(-3).join(' | ');
      const seen = lines.length
        ? `lines naming ${env}: ${lines.slice(0, 3).join(' | ')}`
        : text.trim()
          ? `no line names ${env}; the log ends: ${tail}`
          : 'an empty log';
      const ok = logShows(text, env, value);
      if (!ok && ended)
        throw new SubmissionAssertionError(`pod ${name} ended without printing ${env}=${value}; ${seen}`);
      return { ok, value: text, seen };
    },
    { what: `the log of pod ${name} to show ${env}=${value}`, timeoutMs, intervalMs: 1000 },
  );
  return {
    log,
    line:
      log
        .split('\n')
        .find((l) => l.includes(env) && l.includes(value))
        ?.trim() ?? `${env}=${value}`,
  };
}
