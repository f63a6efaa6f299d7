/**
 * Throwaway labs and submissions for the tests, written into os.tmpdir().
 * A lab is a folder named after its id holding lab.yaml and features/.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';

export type Tree = Record<string, string | { text: string; mode: number }>;

/** A fresh folder in os.tmpdir(); removed by t.after when a test context is given. */
export async function tempRoot(prefix: string, t?: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `kgrade-test-${prefix}-`));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files (creating folders); a string entry is a plain file, an object sets its mode too. */
export async function writeTree(dir: string, files: Tree): Promise<void> {
  for (const [rel, entry] of Object.entries(files)) {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    const text = typeof entry === 'string' ? entry : entry.text;
    await writeFile(file, text, 'utf8');
    if (typeof entry !== 'string') await chmod(file, entry.mode);
  }
}

/** An executable bash script. */
export function script(body: string): { text: string; mode: number } {
  return { text: `#!/bin/bash\n${body}\n`, mode: 0o755 };
}

export interface LabYamlOptions {
  files?: string[];
  maxBytes?: number;
  timeouts?: Partial<Record<'step' | 'script' | 'command' | 'wait', number>>;
  expect?: Record<string, { score: number; failed?: string[] }>;
  extra?: Record<string, unknown>;
}

/** A valid lab.yaml for a sandbox lab whose submission holds `files` (default run.sh). */
export function labYaml(id: string, o: LabYamlOptions = {}): string {
  const doc: Record<string, unknown> = {
    id,
    title: `test lab ${id}`,
    chapter: 0,
    environment: 'sandbox',
    submission: {
      files: (o.files ?? ['run.sh']).map((p) => ({ path: p, description: `the file ${p}` })),
      ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
    },
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
    expect: o.expect ?? {},
    ...o.extra,
  };
  return yaml.dump(doc);
}

export interface LabSpec {
  /** lab.yaml's text; labYaml(id) when absent. */
  yaml?: string;
  /** features/<name> -> text */
  features: Record<string, string>;
  reference?: Tree;
  /** correct/<name> -> its files: other right answers, which must get full marks too */
  correct?: Record<string, Tree>;
  wrong?: Record<string, Tree>;
}

/** Writes <root>/<id>/ and returns its path. */
export async function writeLab(root: string, id: string, spec: LabSpec): Promise<string> {
  const dir = path.join(root, id);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'lab.yaml'), spec.yaml ?? labYaml(id), 'utf8');
  const features: Tree = {};
  for (const [name, text] of Object.entries(spec.features)) features[path.join('features', name)] = text;
  await writeTree(dir, features);
  if (spec.reference) await writeTree(path.join(dir, 'reference'), spec.reference);
  for (const [name, tree] of Object.entries(spec.correct ?? {})) await writeTree(path.join(dir, 'correct', name), tree);
  for (const [name, tree] of Object.entries(spec.wrong ?? {})) await writeTree(path.join(dir, 'wrong', name), tree);
  return dir;
}

/**
 * The smoke lab's pod.yaml: Pod smoke${extra}, one busybox container sleeping; `container`
 * is YAML appended to that container (a securityContext, mounts, resources).
 */
export const smokePod = (extra = '', container = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: smoke${extra}
spec:
  containers:
    - name: box
      image: busybox:1.36
      command: ["sleep", "3600"]${container}
`;

/** Two graded scenarios: run.sh prints hello (with more tags when given, such as @races), and the node echoes. */
export const helloAndEchoFeature = (tags = ''): string => `Feature: hello and echo
  @points:1${tags ? ` ${tags}` : ''}
  Scenario: run.sh prints hello
    run.sh must print hello.

    When the submission's "run.sh" runs
    Then its output contains "hello"

  @points:1
  Scenario: the node echoes
    The node must still answer.

    When the node runs "echo alive"
    Then its output is "alive"
`;
