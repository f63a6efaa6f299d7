import { GraderError } from '../errors.js';
import { sh, shellQuote, type Node } from '../node.js';

/**
 * The grader's own chroot box, independent of any submission: the named
 * programs with the libraries ldd lists, and /proc mounted. Course checks use
 * it so that a claim of the course is tested the same way for every student.
 */
export async function buildBox(node: Node, root: string, programs: string[]): Promise<void> {
  const r = await sh(
    node,
    `set -euo pipefail
root=${shellQuote(root)}
mkdir -p "$root/bin" "$root/proc"
for prog in ${programs.map(shellQuote).join(' ')}; do
  path=$(type -P "$prog")
  cp "$path" "$root/bin/"
  for lib in $(ldd "$path" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
mount -t proc proc "$root/proc"`,
  );
  if (r.code !== 0) throw new GraderError(`could not build the grader's box at ${root}: ${r.stderr.trim()}`);
}
