import { chownSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GraderError } from '../../errors.js';
import { connect } from './vm-agent.js';

type QmpReply = Record<string, unknown> & { return?: unknown; error?: { desc?: string } };

/** A QMP session (qemu's monitor protocol): one JSON command a line, answered in order, events skipped. */
class Qmp {
  private buffer = '';
  private readonly waiting: ((reply: QmpReply) => void)[] = [];
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        let msg: QmpReply;
        try {
          msg = JSON.parse(line) as QmpReply;
        } catch {
          continue;
        }
        if ('event' in msg) continue;
        this.waiting.shift()?.(msg);
      }
    });
    const fail = (why: string) => {
      this.failure ??= new GraderError(`qemu's monitor ${why}`);
      for (const w of this.waiting.splice(0)) w({ error: { desc: this.failure.message } });
    };
    socket.on('error', (err) => fail(`failed: ${err.message}`));
    socket.on('close', () => fail('closed'));
  }

  static async open(socketPath: string): Promise<Qmp> {
    const qmp = new Qmp(await connect(socketPath));
    await qmp.next(); // the greeting
    await qmp.command('qmp_capabilities');
    return qmp;
  }

  private next(): Promise<QmpReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async command(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.next();
    this.socket.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
    const r = await reply;
    if (r.error) throw new GraderError(`qemu's ${execute} failed: ${r.error.desc ?? JSON.stringify(r.error)}`);
    return r.return;
  }

  close(): void {
    this.socket.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Pauses a VM and saves its whole state (its RAM and devices) into `file` through qemu's migration. qemu, already dropped to `uid`, sends the stream to a socket that
 * kgrade listens on: no shell is spawned, so the VM keeps its seccomp filter's spawn=deny. Throws GraderError at the deadline with the last
 * migration status seen.
 */
export async function saveVmState(opts: {
  qmpSocket: string;
  file: string;
  uid: number;
  deadlineMs: number;
}): Promise<number> {
  // A folder of the qemu uid's own, for the one socket: no other folder on its way need open to it.
  const folder = mkdtempSync(path.join(os.tmpdir(), 'kgrade-vm-save-'));
  const socketPath = path.join(folder, 'state.sock');
  let received = 0;
  const server = net.createServer();
  const written = new Promise<number>((resolve, reject) => {
    server.once('connection', (conn: net.Socket) => {
      server.close();
      const out = createWriteStream(opts.file, { mode: 0o644 });
      conn.on('data', (b: Buffer) => (received += b.length));
      conn.pipe(out);
      out.on('finish', () => resolve(received));
      out.on('error', reject);
      conn.on('error', reject);
    });
    server.on('error', reject);
    server.listen(socketPath, () => {
      try {
        chownSync(socketPath, opts.uid, opts.uid);
        chownSync(folder, opts.uid, opts.uid);
      } catch (err) {
        server.close();
        reject(err as Error);
      }
    });
  });
  written.catch(() => undefined);
  const until = Date.now() + opts.deadlineMs;
  let status = 'not started';
  let qmp: Qmp | undefined;
  try {
    qmp = await Qmp.open(opts.qmpSocket);
    // Paused first: the state is taken in one pass of a still guest, not chased while it runs.
    await qmp.command('stop');
    await qmp.command('migrate', { uri: `unix:${socketPath}` });
    while (Date.now() < until) {
      const info = (await qmp.command('query-migrate')) as { status?: string; 'error-desc'?: string };
      status = info.status ?? 'unknown';
      if (status === 'completed') break;
      if (status === 'failed' || status === 'cancelled')
        throw new GraderError(`saving the VM's state failed: ${info['error-desc'] ?? status}`);
      await sleep(50);
    }
    if (status !== 'completed')
      throw new GraderError(
        `saving the VM's state did not end within ${Math.round(opts.deadlineMs / 1000)} s (last status: ${status}, ${received} bytes received)`,
      );
    // The deadline's timer is cleared once the state is written: left armed, it kept a grade that
    // had just made the snapshot running for the rest of the two minutes.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new GraderError(`the VM's saved state was not all written within the deadline (${received} bytes)`)),
        Math.max(1000, until - Date.now()),
      );
    });
    try {
      return await Promise.race([written, late]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    qmp?.close();
    server.close();
    rmSync(folder, { recursive: true, force: true });
  }
}
