/**
 * Archives written byte by byte for the batch tests, including the malicious ones no archiver
 * would make on request: entries that climb out (../x), absolute paths, links to /etc, hard links,
 * device files and FIFOs, sizes that lie, bombs. tar headers come from the tar library's Header;
 * zip files are assembled here (local headers, central directory, end record).
 */
import { deflateRawSync, gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';

export interface TarEntry {
  path: string;
  type?: NonNullable<HeaderData['type']>;
  body?: string | Buffer;
  mode?: number;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
  /** The size the header announces, when it should not be the body's. */
  size?: number;
}

function block(size: number): Buffer {
  return Buffer.alloc(Math.ceil(size / 512) * 512);
}

/** An uncompressed tar stream of the entries. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
    const type = e.type ?? 'File';
    const header = new Header({
      path: e.path,
      type,
      size: e.size ?? (type === 'File' ? body.length : 0),
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      mtime: new Date('2024-01-01T00:00:00Z'),
      ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}),
      ...(e.devmaj !== undefined ? { devmaj: e.devmaj, devmin: e.devmin ?? 0 } : {}),
    });
    const head = Buffer.alloc(512);
    header.encode(head, 0);
    parts.push(head);
    if (body.length) {
      const data = block(body.length);
      body.copy(data);
      parts.push(data);
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function tarGz(entries: TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}

/** A tar.gz whose one file is `bytes` zeros: small compressed, large unpacked. */
export function tarGzBomb(name: string, bytes: number): Buffer {
  const head = Buffer.alloc(512);
  new Header({ path: name, type: 'File', size: bytes, mode: 0o644, mtime: new Date('2024-01-01T00:00:00Z') }).encode(
    head,
    0,
  );
  return gzipSync(Buffer.concat([head, Buffer.alloc(Math.ceil(bytes / 512) * 512), Buffer.alloc(1024)]), { level: 9 });
}

export interface ZipEntry {
  name: string;
  body?: string | Buffer;
  /** The Unix mode, type bits included (0o100644 a file, 0o120777 a symbolic link, 0o040755 a folder). */
  mode?: number;
  deflate?: boolean;
  /** The uncompressed size the headers announce, when it should not be the body's. */
  declaredSize?: number;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip archive of the entries, made by "Unix" so that the modes count. */
export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
    const data = e.deflate ? deflateRawSync(body, { level: 9 }) : body;
    const method = e.deflate ? 8 : 0;
    const crc = crc32(body);
    const size = e.declaredSize ?? body.length;
    const mode = e.mode ?? (e.name.endsWith('/') ? 0o040755 : 0o100644);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x5821, 12); // 2024-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x5821, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
