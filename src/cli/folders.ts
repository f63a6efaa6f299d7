import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** The folders under root that hold a lab.yaml, sorted. */
export async function labDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() && (await stat(path.join(root, e.name, 'lab.yaml')).catch(() => undefined)))
      out.push(path.join(root, e.name));
  }
  return out.sort();
}

/** A report folder made ready for a new grade: the Allure results of an earlier one removed. */
export async function freshDir(dir: string): Promise<string> {
  await rm(path.join(dir, 'allure-results'), { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}
