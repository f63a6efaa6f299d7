import { shellQuote } from '../node.js';

/**
 * How a path turned out to be the same program as another: a symbolic link to it, a
 * hard link (one inode, two names), or a copy with the same bytes.
 */
export type SameProgram =
  | { same: true; form: 'symlink' | 'hardlink' | 'copy'; detail: string }
  | { same: false; detail: string };

/** A POSIX shell script that prints what sameProgram() reads: the link, the resolved paths, the inodes, the bytes. */
export function sameProgramScript(file: string, program: string): string {
  const f = shellQuote(file);
  const p = shellQuote(program);
  return [
    `echo "link=$(readlink ${f} 2>/dev/null)"`,
    `echo "resolved=$(readlink -f ${f} 2>/dev/null)"`,
    `echo "program=$(readlink -f ${p} 2>/dev/null)"`,
    `echo "inodes=$(stat -L -c '%d:%i' ${f} ${p} 2>/dev/null | tr '\\n' ' ')"`,
    `if cmp -s ${f} ${p}; then echo bytes=same; else echo bytes=differ; fi`,
  ].join('\n');
}

function field(output: string, name: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`${name}=`));
  return line === undefined ? '' : line.slice(name.length + 1).trim();
}

/** Reads the output of sameProgramScript(file, program). */
export function sameProgram(output: string, file: string, program: string): SameProgram {
  const link = field(output, 'link');
  const resolved = field(output, 'resolved');
  const target = field(output, 'program');
  const inodes = field(output, 'inodes').split(/\s+/).filter(Boolean);
  const bytes = field(output, 'bytes');
  if (link && resolved && resolved === target)
    return { same: true, form: 'symlink', detail: `${file} is a symbolic link (-> ${link}) to ${target}` };
  if (inodes.length === 2 && inodes[0] === inodes[1])
    return {
      same: true,
      form: 'hardlink',
      detail: `${file} and ${program} are one file with two names (inode ${inodes[0]})`,
    };
  if (bytes === 'same') return { same: true, form: 'copy', detail: `${file} is a byte-for-byte copy of ${program}` };
  const seen = [
    link ? `${file} links to ${link} (${resolved || 'unresolved'})` : `${file} is not a symbolic link`,
    inodes.length === 2
      ? `inodes ${inodes.join(' and ')}`
      : `inodes not readable (${inodes.join(' ') || 'stat printed nothing'})`,
    `contents ${bytes || 'not compared'}`,
  ];
  return { same: false, detail: seen.join('; ') };
}
