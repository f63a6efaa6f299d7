import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';

/**
 * Unpacks a student's .zip or .tar.gz into a fresh folder with kept libraries (yauzl, tar),
 * never by shelling out. Only plain files and folders are written, each strictly inside the
 * target: an entry that climbs out (`../`), is absolute, is a link (symbolic or hard, wherever it
 * points), a device, a FIFO or anything else is refused, and so is an archive over the caps. A
 * refusal is a value, { ok: false, reason }, for the student's result; a failure of the grading
 * host (a full disk) is thrown.
 */

const MiB = 1024 * 1024;

export interface UnpackLimits {
  /** The archive file itself. */
  archiveBytes: number;
  /** Files and folders in the archive. */
  entries: number;
  /** One file, unpacked. */
  fileBytes: number;
  /** Every file together, unpacked. */
  totalBytes: number;
}

export const UNPACK_LIMITS: UnpackLimits = {
  archiveBytes: 32 * MiB,
  entries: 10_000,
  fileBytes: 32 * MiB,
  totalBytes: 64 * MiB,
};

export type UnpackResult =
  | {
      ok: true /** The submission's folder: the target, or the one folder the archive holds. */;
      root: string;
      files: number;
      bytes: number;
    }
  | { ok: false; reason: string };

/** The archive's fault: refused, never retried. */
class Refusal extends Error {
  override name = 'Refusal';
}

function formatBytes(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 1 : 0)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/**
 * An entry's name as a path relative to the target, or why it cannot be one: empty, absolute
 * (/x, C:x), with a backslash or a NUL, or with a `..` segment. `.` and empty segments are dropped,
 * so `./a//b` is `a/b`; the archive's own root (`./`) is "".
 */
export function entryPath(name: string): { path: string } | { problem: string } {
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
  if (name === '') return { problem: 'an entry has an empty name' };
  if (name.includes('\0')) return { problem: `entry ${shown} has a NUL in its name` };
  if (name.includes('\\')) return { problem: `entry ${shown} has a backslash in its name` };
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return { problem: `entry ${shown} is an absolute path` };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { problem: `entry ${shown} climbs out of the submission folder (..)` };
  if (parts.length > 64) return { problem: `entry ${shown} is nested more than 64 folders deep` };
  if (parts.some((p) => Buffer.byteLength(p) > 255))
    return { problem: `entry ${shown} has a name longer than 255 bytes` };
  return { path: parts.join('/') };
}

/** Where an entry goes: inside target, checked twice (by its name, then by the joined path). */
function destination(target: string, name: string): string {
  const checked = entryPath(name);
  if ('problem' in checked) throw new Refusal(checked.problem);
  const dest = path.resolve(target, checked.path);
  if (dest !== target && !dest.startsWith(`${target}${path.sep}`))
    throw new Refusal(`entry ${JSON.stringify(name)} lands outside the submission folder`);
  return dest;
}

/** What the archive has written so far, against the caps. */
class Tally {
  entries = 0;
  files = 0;
  bytes = 0;
  constructor(private readonly limits: UnpackLimits) {}

  entry(): void {
    this.entries += 1;
    if (this.entries > this.limits.entries)
      throw new Refusal(`the archive holds more than ${this.limits.entries} files and folders`);
  }

  /** An entry announces its size: refused before a byte is unpacked when that is over a cap. */
  announce(name: string, size: number): void {
    if (size > this.limits.fileBytes)
      throw new Refusal(
        `entry ${JSON.stringify(name)} unpacks to ${formatBytes(size)}, over the cap of ${formatBytes(this.limits.fileBytes)} per file`,
      );
    if (this.bytes + size > this.limits.totalBytes)
      throw new Refusal(`the archive unpacks to more than ${formatBytes(this.limits.totalBytes)}, the cap`);
  }

  /** Bytes really unpacked: a header that understates its size is caught here. */
  add(name: string, fileSoFar: number, n: number): void {
    this.bytes += n;
    if (fileSoFar > this.limits.fileBytes)
      throw new Refusal(
        `entry ${JSON.stringify(name)} unpacks to more than ${formatBytes(this.limits.fileBytes)}, the cap per file`,
      );
    if (this.bytes > this.limits.totalBytes)
      throw new Refusal(`the archive unpacks to more than ${formatBytes(this.limits.totalBytes)}, the cap`);
  }
}

const FS_REFUSALS = new Set(['EEXIST', 'ENOTDIR', 'EISDIR']);

/** Writes one file's bytes to dest (which must not exist), counting them against the caps. */
async function writeFileEntry(
  source: Readable | AsyncIterable<Buffer>,
  dest: string,
  name: string,
  executable: boolean,
  tally: Tally,
  open: Set<WriteStream>,
): Promise<void> {
  try {
    await mkdir(path.dirname(dest), { recursive: true });
    const out = createWriteStream(dest, { flags: 'wx', mode: executable ? 0o755 : 0o644 });
    open.add(out);
    let mine = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        mine += chunk.length;
        try {
          tally.add(name, mine, chunk.length);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
    try {
      await pipeline(source, count, out);
    } finally {
      open.delete(out);
    }
    tally.files += 1;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && FS_REFUSALS.has(code))
      throw new Refusal(`entry ${JSON.stringify(name)} is in the archive twice, or under a name that is also a file`, {
        cause: err,
      });
    throw err;
  }
}

async function makeFolder(dest: string, name: string): Promise<void> {
  try {
    await mkdir(dest, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && FS_REFUSALS.has(code))
      throw new Refusal(`folder ${JSON.stringify(name)} is also a file in the archive`, { cause: err });
    throw err;
  }
}

/** What a Unix file type is called in a refusal. */
const UNIX_TYPES: Record<number, string> = {
  0o120000: 'a symbolic link',
  0o020000: 'a character device',
  0o060000: 'a block device',
  0o010000: 'a FIFO',
  0o140000: 'a socket',
};

const NOT_ACCEPTED = 'only plain files and folders are accepted';

async function unpackZip(file: string, target: string, tally: Tally, limits: UnpackLimits): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, {
      lazyEntries: true,
      autoClose: false,
      strictFileNames: false,
      validateEntrySizes: true,
      decodeStrings: true,
    });
  } catch (err) {
    throw new Refusal(`not a readable .zip archive: ${(err as Error).message}`, { cause: err });
  }
  const open = new Set<WriteStream>();
  try {
    if (zip.entryCount > limits.entries)
      throw new Refusal(`the archive holds ${zip.entryCount} files and folders, over the cap of ${limits.entries}`);
    const entries = zip.eachEntry();
    for (;;) {
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        // yauzl refuses absolute paths and `..` itself, before the entry reaches this loop
        throw new Refusal(`not a safe .zip archive: ${(err as Error).message}`, { cause: err });
      }
      if (next.done) break;
      const entry = next.value;
      const name = entry.fileName;
      tally.entry();
      const dest = destination(target, name);
      const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const type = unixMode & 0o170000;
      if (type !== 0 && type !== 0o100000 && type !== 0o040000) {
        throw new Refusal(
          `entry ${JSON.stringify(name)} is ${UNIX_TYPES[type] ?? `of Unix file type 0o${type.toString(8)}`}: ${NOT_ACCEPTED}`,
        );
      }
      if (name.endsWith('/') || type === 0o040000) {
        await makeFolder(dest, name);
        continue;
      }
      if (entry.isEncrypted()) throw new Refusal(`entry ${JSON.stringify(name)} is encrypted`);
      tally.announce(name, entry.uncompressedSize);
      let stream: Readable;
      try {
        stream = await zip.openReadStreamPromise(entry);
      } catch (err) {
        throw new Refusal(`entry ${JSON.stringify(name)} cannot be read: ${(err as Error).message}`, { cause: err });
      }
      // yauzl may report a second error (its own size check) after the first ended the copy
      stream.on('error', () => undefined);
      try {
        await writeFileEntry(stream, dest, name, (unixMode & 0o111) !== 0, tally, open);
      } catch (err) {
        if (err instanceof Refusal || (err as NodeJS.ErrnoException).code) throw err;
        // yauzl's own checks on the data: a size or checksum that does not match the header
        throw new Refusal(`entry ${JSON.stringify(name)}: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    for (const out of open) out.destroy();
    zip.close();
  }
}

const TAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const TAR_TYPES: Record<string, string> = {
  SymbolicLink: 'a symbolic link',
  Link: 'a hard link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
};

async function unpackTarGz(file: string, target: string, tally: Tally, limits: UnpackLimits): Promise<void> {
  const parser = new Parser({ strict: true });
  const input = createReadStream(file);
  const gunzip = createGunzip();
  const open = new Set<WriteStream>();
  const writes: Promise<void>[] = [];
  let failure: Error | undefined;
  // The tar stream itself (headers and padding included) may not be much larger than the files it can hold.
  const streamCap = limits.totalBytes + (limits.entries + 4) * 1536;
  let streamed = 0;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      void Promise.allSettled(writes).then(async () => {
        const first = failure ?? err;
        if (first) return reject(first);
        try {
          await Promise.all(writes);
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
    };
    const stop = (err: Error) => {
      failure ??= err;
      input.destroy();
      gunzip.destroy();
      for (const out of open) out.destroy(err);
      try {
        parser.abort(err);
      } catch {
        // the parser reports the abort as an error event too
      }
      finish(err);
    };
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        streamed += chunk.length;
        if (streamed > streamCap) {
          stop(new Refusal(`the archive unpacks to more than ${formatBytes(limits.totalBytes)}, the cap`));
          return done();
        }
        done(null, chunk);
      },
    });
    parser.on('entry', (entry: ReadEntry) => {
      if (failure) {
        entry.resume();
        return;
      }
      try {
        tally.entry();
        const name = entry.path;
        const dest = destination(target, name);
        if (entry.type === 'Directory') {
          entry.resume();
          writes.push(makeFolder(dest, name).catch((e: Error) => stop(e)));
        } else if (TAR_FILE_TYPES.has(entry.type)) {
          tally.announce(name, entry.size);
          writes.push(
            writeFileEntry(entry, dest, name, ((entry.mode ?? 0) & 0o111) !== 0, tally, open).catch((e: Error) =>
              stop(e),
            ),
          );
        } else {
          const what = TAR_TYPES[entry.type] ?? `a ${entry.type} entry`;
          const to = entry.linkpath ? ` to ${JSON.stringify(entry.linkpath)}` : '';
          throw new Refusal(`entry ${JSON.stringify(name)} is ${what}${to}: ${NOT_ACCEPTED}`);
        }
      } catch (err) {
        entry.resume();
        stop(err as Error);
      }
    });
    parser.on('error', (err: Error) =>
      stop(failure ?? new Refusal(`not a valid tar archive: ${err.message.replace(/^TAR_\w+: /, '')}`, { cause: err })),
    );
    parser.on('end', () => finish());
    input.on('error', (err) => stop(err));
    gunzip.on('error', (err) => stop(new Refusal(`not a gzip-compressed archive: ${err.message}`, { cause: err })));
    input.pipe(gunzip).pipe(count).pipe(parser);
  });
}

/** The submission's folder in an unpacked archive: the one folder it holds, when it holds nothing else. */
async function submissionRoot(target: string): Promise<string> {
  const entries = (await readdir(target, { withFileTypes: true })).filter((e) => e.name !== '__MACOSX');
  const [only] = entries;
  return entries.length === 1 && only?.isDirectory() ? path.join(target, only.name) : target;
}

/**
 * Unpacks file (a .zip or a .tar.gz) into target, an empty folder. A refused archive may have
 * left some files in target: the caller removes the folder either way.
 */
export async function unpackArchive(
  file: string,
  kind: 'zip' | 'tar.gz',
  target: string,
  limits: UnpackLimits = UNPACK_LIMITS,
): Promise<UnpackResult> {
  const tally = new Tally(limits);
  try {
    const s = await stat(file).catch((err: Error) => {
      throw new Refusal(`the archive cannot be read: ${err.message}`, { cause: err });
    });
    if (!s.isFile()) throw new Refusal('the archive is not a file');
    if (s.size > limits.archiveBytes)
      throw new Refusal(`the archive is ${formatBytes(s.size)}, over the cap of ${formatBytes(limits.archiveBytes)}`);
    const root = path.resolve(target);
    if (kind === 'zip') await unpackZip(file, root, tally, limits);
    else await unpackTarGz(file, root, tally, limits);
    return { ok: true, root: await submissionRoot(root), files: tally.files, bytes: tally.bytes };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: `${path.basename(file)} was not unpacked: ${err.message}` };
    throw err;
  }
}
