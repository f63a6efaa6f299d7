import * as k8s from '../vendor/kubernetes-client.js';
import yaml from 'js-yaml';
import { SubmissionAssertionError } from '../errors.js';
import { apiFault, api } from './client.js';
import type { SubmissionNamespace } from './namespace.js';

export interface AppliedObject {
  apiVersion: string;
  kind: string;
  name: string;
}

/** More objects than any lab asks for in one file: such a file is refused before anything is created. */
export const MAX_OBJECTS = 50;

/** The namespaced kinds a submission may create; the namespace's Role allows exactly these. */
export const SUBMISSION_KINDS = new Set([
  'Pod',
  'Service',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'ReplicationController',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
]);

/**
 * Reads a manifest file's documents; every problem names the file and the
 * document, as the student must fix it.
 */
export function parseManifest(file: string, text: string): { objects: k8s.KubernetesObject[]; notes: string[] } {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, undefined, { filename: file });
  } catch (err) {
    throw new SubmissionAssertionError(`${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const objects: k8s.KubernetesObject[] = [];
  const notes: string[] = [];
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    const where = `${file}, document ${i + 1}`;
    if (typeof doc !== 'object' || Array.isArray(doc))
      throw new SubmissionAssertionError(
        `${where}: expected a Kubernetes object (a mapping with apiVersion, kind, metadata)`,
      );
    const o = doc as k8s.KubernetesObject & { metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof o.apiVersion !== 'string') throw new SubmissionAssertionError(`${where}: missing apiVersion`);
    if (typeof o.kind !== 'string') throw new SubmissionAssertionError(`${where}: missing kind`);
    if (typeof o.metadata?.name !== 'string' || o.metadata.name === '')
      throw new SubmissionAssertionError(`${where}: ${o.kind} has no metadata.name`);
    if (!SUBMISSION_KINDS.has(o.kind)) {
      throw new SubmissionAssertionError(
        `${where}: kind ${o.kind} is not one a submission may create (${[...SUBMISSION_KINDS].join(', ')})`,
      );
    }
    const ns = o.metadata.namespace;
    if (ns !== undefined && ns !== null) {
      if (ns !== 'default' && ns !== '') {
        throw new SubmissionAssertionError(
          `${where}: ${o.kind} ${o.metadata.name} names namespace ${JSON.stringify(ns)}; a submission's objects are created in the scenario's own namespace, as "kubectl apply -n" would refuse an object of another: leave metadata.namespace unset (or "default")`,
        );
      }
      notes.push(`${where}: metadata.namespace "${ns}" was moved into the scenario's own namespace`);
    }
    objects.push(o);
  });
  if (objects.length === 0) throw new SubmissionAssertionError(`${file} holds no Kubernetes object`);
  if (objects.length > MAX_OBJECTS) {
    throw new SubmissionAssertionError(
      `${file} holds ${objects.length} objects; a submission file may hold at most ${MAX_OBJECTS} (nothing of it was created)`,
    );
  }
  return { objects, notes };
}

/** Creates a manifest's objects in the submission's namespace, as the namespace's ServiceAccount. */
export async function applyManifest(
  ns: SubmissionNamespace,
  file: string,
  text: string,
): Promise<{ applied: AppliedObject[]; notes: string[] }> {
  const { objects, notes } = parseManifest(file, text);
  const client = k8s.KubernetesObjectApi.makeApiClient(ns.student);
  const applied: AppliedObject[] = [];
  for (const obj of objects) {
    const spec = { ...obj, metadata: { ...obj.metadata, namespace: ns.name } };
    const what = `${obj.kind} ${spec.metadata.name ?? ''} from ${file}`;
    try {
      await api(ns.student, `creating ${what}`, () => client.create(spec));
    } catch (err) {
      throw apiFault(err, `creating ${what}`);
    }
    applied.push({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', name: spec.metadata.name ?? '' });
  }
  return { applied, notes };
}
