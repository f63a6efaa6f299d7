import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { GraderError } from '../../errors.js';

/** What the guest agent (images/vm/agent.py) answers to a command. */
export interface AgentExecReply {
  code: number | null;
  signal: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

export interface AgentHello {
  kernel: string;
  cgroup: string;
}

type Reply = Record<string, unknown> & { id?: number; error?: string };

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Longer than any reply (two capped outputs in base64); what goes past it is not the agent's. */
const MAX_LINE = 64 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The grader's end of a VM's virtio-serial port: one JSON object a line each way, replies matched
 * to requests by id, so that commands may overlap. Every request has a deadline; a closed port
 * fails every request still waiting.
 */
export class AgentConnection {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedBecause: string | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly vm: string,
  ) {
    socket.setEncoding('utf8');
    // An idle VM (one booted ahead) does not keep kgrade running: a request's own timer does while it waits.
    socket.unref();
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (err) => this.close(`its port failed: ${err.message}`));
    socket.on('close', () => this.close('its port closed'));
  }

  /**
   * Connects to the socket qemu serves the port on and waits for the agent's hello, until the
   * deadline or until `gone()` says the VM has ended (with the reason it gives).
   */
  static async open(
    socketPath: string,
    vm: string,
    deadlineMs: number,
    gone: () => string | undefined,
  ): Promise<{ agent: AgentConnection; hello: AgentHello }> {
    const until = Date.now() + deadlineMs;
    let socket: net.Socket | undefined;
    while (!socket) {
      const why = gone();
      if (why) throw new GraderError(`VM ${vm} did not boot: ${why}`);
      if (Date.now() > until)
        throw new GraderError(
          `VM ${vm} did not boot: qemu made no agent socket ${socketPath} within ${Math.round(deadlineMs / 1000)} s`,
        );
      if (existsSync(socketPath)) socket = await connect(socketPath).catch(() => undefined);
      if (!socket) await sleep(50);
    }
    const agent = new AgentConnection(socket, vm);
    // The guest learns the time and fresh randomness: a VM restored from a saved node would
    // otherwise keep the clock and the random state it was saved with, the same in every VM.
    const hello = agent.request(
      { op: 'hello', now: Date.now(), seed: randomBytes(64).toString('base64') },
      Math.max(1, until - Date.now()),
      'its hello',
    );
    // The agent answers once the VM has booted; qemu ending first (a kernel panic) ends the wait.
    let answered = false;
    const watch = (async () => {
      while (!answered) {
        await sleep(200);
        const why = gone();
        if (why) return why;
        if (agent.closedBecause) return agent.closedBecause;
      }
    })();
    const first = await Promise.race([
      hello.then((r) => ({ reply: r })),
      watch.then((why) => ({ why: why ?? 'the VM stopped being watched' })),
    ]).catch((err: Error) => ({ why: err.message }));
    answered = true;
    if ('why' in first) {
      agent.close('the VM did not boot');
      // A closed port is qemu ending: its own reason (exit status, console) says more, once seen.
      for (let i = 0; i < 50 && !gone(); i++) await sleep(100);
      throw new GraderError(`VM ${vm} did not boot: ${gone() ?? first.why}`);
    }
    if (typeof first.reply.error === 'string') {
      agent.close('its hello failed');
      throw new GraderError(
        `VM ${vm} did not boot: its agent could not set the clock and the random pool: ${first.reply.error}`,
      );
    }
    return { agent, hello: { kernel: String(first.reply.kernel ?? ''), cgroup: String(first.reply.cgroup ?? '') } };
  }

  async exec(argv: string[], stdin: Buffer | undefined, timeoutMs: number, cap: number): Promise<AgentExecReply> {
    // The agent kills the command at its deadline and answers within seconds; beyond that it has stopped answering.
    const reply = await this.request(
      { op: 'exec', argv, stdin: stdin ? stdin.toString('base64') : null, timeoutMs, cap },
      timeoutMs + 30_000,
      argv[0] ?? 'a command',
    );
    if (typeof reply.error === 'string')
      throw new GraderError(`cannot run ${argv[0]} on node ${this.vm}: ${reply.error}`);
    const text = (field: unknown) => Buffer.from(typeof field === 'string' ? field : '', 'base64').toString('utf8');
    return {
      code: typeof reply.code === 'number' ? reply.code : null,
      signal: typeof reply.signal === 'number' ? reply.signal : null,
      stdout: text(reply.stdout),
      stderr: text(reply.stderr),
      timedOut: reply.timedOut === true,
      truncated: reply.truncated === true,
      durationMs: typeof reply.durationMs === 'number' ? reply.durationMs : 0,
    };
  }

  /** Has the agent write a tar archive's members under dir (made if missing); resolves with the guest's time for it. */
  async unpack(dir: string, archive: Buffer, timeoutMs: number): Promise<number> {
    const reply = await this.request({ op: 'unpack', dir, archive: archive.toString('base64') }, timeoutMs, 'a copy');
    if (typeof reply.error === 'string') throw new GraderError(reply.error);
    return typeof reply.durationMs === 'number' ? reply.durationMs : 0;
  }

  close(why: string): void {
    if (this.closedBecause) return;
    this.closedBecause = why;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new GraderError(`the guest agent of VM ${this.vm} stopped answering: ${why}`));
      this.pending.delete(id);
    }
    this.socket.destroy();
  }

  private request(body: Record<string, unknown>, timeoutMs: number, what: string): Promise<Reply> {
    if (this.closedBecause)
      return Promise.reject(
        new GraderError(`the guest agent of VM ${this.vm} stopped answering: ${this.closedBecause}`),
      );
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new GraderError(
            `the guest agent of VM ${this.vm} stopped answering: no reply to ${what} within ${Math.round(timeoutMs / 1000)} s`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE) this.close(`it sent more than ${MAX_LINE >> 20} MiB without a line end`);
    let nl;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        continue; // not the agent's: whatever else wrote to the port is ignored
      }
      const p = typeof reply.id === 'number' ? this.pending.get(reply.id) : undefined;
      if (!p) continue;
      clearTimeout(p.timer);
      this.pending.delete(reply.id as number);
      p.resolve(reply);
    }
  }
}

/** Connects to a unix socket; rejects when nothing listens there. */
export function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', reject);
  });
}
