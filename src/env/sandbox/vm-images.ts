import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../../config.js';
import { GraderError } from '../../errors.js';
import { REPO_ROOT } from '../../paths.js';
import { runRepoScript } from '../images.js';

/** What images/vm/build.sh leaves in its cache folder, and what a VM sandbox boots. */
export interface VmImages {
  dir: string;
  kernel: string;
  initrd: string;
  root: string;
  /** The guest kernel's release, as `uname -r` prints it inside. */
  kernelRelease: string;
}

const version = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8').trim();

/** The cache folder of this checkout's VM images: $KGRADE_CACHE/vm/<node VERSION>-v<vm VERSION>. */
export function vmImagesDir(): string {
  return path.join(cacheDir(), 'vm', `${version('images/node/VERSION')}-v${version('images/vm/VERSION')}`);
}

/** The built images; a GraderError naming what is missing and the script that makes it. */
export function vmImages(): VmImages {
  const dir = vmImagesDir();
  const images = {
    dir,
    kernel: path.join(dir, 'vmlinux'),
    initrd: path.join(dir, 'initrd.img'),
    root: path.join(dir, 'root.ext4'),
  };
  const missing = [images.kernel, images.initrd, images.root, path.join(dir, 'ready')].filter((f) => !existsSync(f));
  if (missing.length) {
    throw new GraderError(
      `no VM kernel image: ${missing.join(', ')} missing; build them with images/vm/build.sh (Debian's kernel package and the node image, a minute)`,
    );
  }
  let kernelRelease = '';
  try {
    kernelRelease = readFileSync(path.join(dir, 'kernel.release'), 'utf8').trim();
  } catch {
    // an older build without the file: the agent reports it at boot
  }
  return { ...images, kernelRelease };
}

/** Whether the VM images are built (images/vm/build.sh has finished). */
export function vmImagesReady(): boolean {
  return existsSync(path.join(vmImagesDir(), 'ready'));
}

/** Makes sure the VM images are built; when they are not and building is allowed, runs images/vm/build.sh, its progress shown. */
export async function ensureVmImages(opts: { build: boolean; log: (line: string) => void }): Promise<void> {
  if (vmImagesReady()) return;
  if (!opts.build) {
    vmImages();
    return;
  }
  opts.log(`kgrade: the VM images are not built (first run with --isolation vm: a minute)`);
  await runRepoScript('images/vm/build.sh', opts.log);
  vmImages();
}
