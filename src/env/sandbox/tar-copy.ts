import path from 'node:path';
import { execa } from '../../vendor/execa.js';
import { GraderError } from '../../errors.js';

/**
 * copyIn through tar run inside the node, so that nothing on the host ever follows a path the
 * node made: packs hostPath on the host ("DIR/." packs the folder's content, not the folder) and
 * returns the archive with the command that unpacks it, from its standard input, to nodePath.
 */
export async function tarForCopy(
  hostPath: string,
  nodePath: string,
  maxBytes: number,
): Promise<{ archive: Buffer; unpack: string[] }> {
  const contents = hostPath.endsWith('/.');
  const source = contents ? hostPath.slice(0, -2) : hostPath;
  const packed = await execa(
    'tar',
    [
      '-c',
      '--owner=0',
      '--group=0',
      '-C',
      contents ? source : path.dirname(source),
      contents ? '.' : path.basename(source),
    ],
    { encoding: 'buffer', reject: false, maxBuffer: maxBytes },
  );
  if (packed.exitCode !== 0)
    throw new GraderError(`could not pack ${hostPath}: ${Buffer.from(packed.stderr).toString().trim()}`);
  const script = contents
    ? `mkdir -p "$1" && tar -x --no-same-owner -C "$1"`
    : `t=$(mktemp -d /run/kgrade/copy-XXXXXX) && tar -x --no-same-owner -C "$t" && mv "$t/$2" "$1" && rmdir "$t"`;
  return {
    archive: Buffer.from(packed.stdout),
    unpack: ['sh', '-c', script, 'copy', nodePath, path.basename(source)],
  };
}
