import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from '../vendor/execa.js';
import { nodeImageOverride } from '../config.js';
import { GraderError } from '../errors.js';
import { REPO_ROOT } from '../paths.js';
import { docker } from '../docker.js';

/** The node image this checkout grades in: kgrade/node:<images/node/VERSION>, or $KGRADE_NODE_IMAGE. */
export function nodeImageRef(): string {
  const override = nodeImageOverride();
  if (override) return override;
  const version = readFileSync(path.join(REPO_ROOT, 'images/node/VERSION'), 'utf8').trim();
  return `kgrade/node:${version}`;
}

async function dockerReady(image: string): Promise<string | undefined> {
  try {
    const r = await docker(['image', 'inspect', '--format', '{{.Id}}', image], { timeoutMs: 30_000 });
    return r.code === 0 ? undefined : `image ${image} is not built`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Runs one of the repository's scripts (with its arguments), its progress shown on stderr; returns its stdout. */
export async function runRepoScript(
  command: string,
  log: (line: string) => void,
  env: Record<string, string> = {},
): Promise<string> {
  const [script = '', ...args] = command.split(' ');
  log(
    `kgrade: running ${Object.entries(env)
      .map(([k, v]) => `${k}=${v} `)
      .join('')}${command}`,
  );
  const r = await execa('bash', [path.join(REPO_ROOT, script), ...args], {
    reject: false,
    stderr: 'inherit',
    stdin: 'ignore',
    env,
  });
  if (r.exitCode !== 0) throw new GraderError(`${command} failed (exit ${r.exitCode}); see its output above`);
  return r.stdout;
}

/**
 * Makes sure Docker answers and the node image exists; when either is missing
 * and building is allowed, runs scripts/ensure-images.sh (installs and starts
 * Docker, builds the offline images), showing its progress.
 */
export async function ensureNodeImage(opts: {
  build: boolean;
  log: (line: string) => void;
  /** Whether the sandboxes can start from image without Docker (a prepared userns root). */
  usableWithoutDocker?: (image: string) => boolean;
}): Promise<string> {
  const image = nodeImageRef();
  const problem = await dockerReady(image);
  if (!problem || opts.usableWithoutDocker?.(image)) return image;
  if (!opts.build) throw new GraderError(`${problem}; run scripts/ensure-images.sh (or leave out --no-build)`);
  opts.log(`kgrade: ${problem} (first run: installs Docker and builds the node image, a few minutes)`);
  await runRepoScript('scripts/ensure-images.sh', opts.log);
  const still = await dockerReady(image);
  if (still) throw new GraderError(`after scripts/ensure-images.sh: ${still}`);
  return image;
}
