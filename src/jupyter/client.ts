/**
 * A Jupyter client over ZeroMQ (the counterpart of kernel/): DEALER sockets for shell, control and stdin sharing one
 * routing id (so the kernel can address input requests), a SUB socket for IOPub, REQ for heartbeats. Replies are
 * matched to requests by parent msg_id; an execution completes when both its execute_reply and its final status idle
 * have arrived.
 */
import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import { endpoint, type ConnectionInfo } from './connection';
import { decodeMessage, MessageError, newMessage, type JupyterMessage } from './message';
import { MessageSender } from './socket';

type Content = Record<string, unknown>;

export interface ExecuteOptions {
  /** Every IOPub message of this execution, as it arrives. */
  onOutput?: (msg: JupyterMessage) => void;
  /** Answers input_request (prompt, password) → value; without it allow_stdin is false. */
  onInput?: (prompt: string, password: boolean) => Promise<string>;
  storeHistory?: boolean;
  silent?: boolean;
  stopOnError?: boolean;
  /**
   * How long to wait for the final idle status once the execute_reply is in (nbclient's iopub_timeout); after it the
   * execution completes with `iopubTimedOut` set. Default: wait as long as it takes.
   */
  iopubTimeoutMs?: number;
}

export interface ExecuteResult {
  reply: JupyterMessage;
  /** IOPub messages of the execution (status messages excluded), in order. */
  outputs: JupyterMessage[];
  /** The reply came but the idle status did not within `iopubTimeoutMs`: outputs may be incomplete. */
  iopubTimedOut?: boolean;
}

interface Pending {
  reply?: JupyterMessage;
  idle: boolean;
  outputs: JupyterMessage[];
  onOutput?: (msg: JupyterMessage) => void;
  onReply?: () => void;
  settle(): void;
}

export class KernelClient {
  readonly session = randomUUID();
  private readonly identity = Buffer.from(randomUUID());
  private shell!: zmq.Dealer;
  private control!: zmq.Dealer;
  private stdin!: zmq.Dealer;
  private iopub!: zmq.Subscriber;
  private senders!: Record<'shell' | 'control' | 'stdin', MessageSender>;
  private readonly replies = new Map<string, (msg: JupyterMessage) => void>();
  private readonly executions = new Map<string, Pending>();
  private readonly inputHandlers = new Map<string, (prompt: string, password: boolean) => Promise<string>>();
  /** Requests whose first IOPub message (their busy status) someone waits for: proof that IOPub is subscribed. */
  private readonly iopubWaiters = new Map<string, () => void>();
  private closed = false;
  /** Messages that failed to verify (for diagnostics). */
  rejected = 0;

  constructor(readonly info: ConnectionInfo) {}

  async connect(): Promise<void> {
    this.shell = new zmq.Dealer({ routingId: this.identity.toString(), linger: 0 });
    this.control = new zmq.Dealer({ linger: 0 });
    this.stdin = new zmq.Dealer({ routingId: this.identity.toString(), linger: 0 });
    this.iopub = new zmq.Subscriber({ linger: 0 });
    this.shell.connect(endpoint(this.info, 'shell'));
    this.control.connect(endpoint(this.info, 'control'));
    this.stdin.connect(endpoint(this.info, 'stdin'));
    this.iopub.connect(endpoint(this.info, 'iopub'));
    this.iopub.subscribe();
    this.senders = {
      shell: new MessageSender(this.shell, this.info.key),
      control: new MessageSender(this.control, this.info.key),
      stdin: new MessageSender(this.stdin, this.info.key),
    };
    void this.readReplies(this.shell);
    void this.readReplies(this.control);
    void this.readStdin();
    void this.readIopub();
  }

  private decode(frames: Buffer[]): JupyterMessage | undefined {
    try {
      return decodeMessage(frames, this.info.key);
    } catch (err) {
      if (err instanceof MessageError) this.rejected++;
      return undefined;
    }
  }

  private async readReplies(socket: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const msg = this.decode(frames);
        if (!msg) continue;
        const parent = msg.parent_header.msg_id ?? '';
        this.replies.get(parent)?.(msg);
        this.replies.delete(parent);
        const pending = this.executions.get(parent);
        if (pending && msg.header.msg_type === 'execute_reply') {
          pending.reply = msg;
          pending.settle();
          pending.onReply?.();
        }
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const msg = this.decode(frames);
        if (!msg) continue;
        const parentId = msg.parent_header.msg_id ?? '';
        this.iopubWaiters.get(parentId)?.();
        this.iopubWaiters.delete(parentId);
        const pending = this.executions.get(parentId);
        if (!pending) continue;
        if (msg.header.msg_type === 'status') {
          if ((msg.content as Content).execution_state === 'idle') {
            pending.idle = true;
            pending.settle();
          }
          continue;
        }
        pending.outputs.push(msg);
        pending.onOutput?.(msg);
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  private async readStdin(): Promise<void> {
    try {
      for await (const frames of this.stdin) {
        const msg = this.decode(frames);
        if (!msg || msg.header.msg_type !== 'input_request') continue;
        const handler = this.inputHandlers.get(msg.parent_header.msg_id ?? '');
        const content = msg.content as { prompt?: string; password?: boolean };
        const value = handler ? await handler(String(content.prompt ?? ''), content.password === true) : '';
        await this.senders.stdin.send(newMessage('input_reply', { value }, { session: this.session, parent: msg, identities: [] }));
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** Sends a request and resolves with its reply (or rejects after `timeoutMs`). */
  request(channel: 'shell' | 'control', type: string, content: Content = {}, timeoutMs = 30_000): Promise<JupyterMessage> {
    return this.send(channel, newMessage(type, content, { session: this.session, identities: [] }), timeoutMs);
  }

  private send(channel: 'shell' | 'control', msg: JupyterMessage, timeoutMs: number): Promise<JupyterMessage> {
    const type = msg.header.msg_type;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(msg.header.msg_id);
        reject(new Error(`no ${type.replace(/_request$/, '_reply')} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.replies.set(msg.header.msg_id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.senders[channel].send(msg).catch(reject);
    });
  }

  /**
   * Asks for kernel_info until the kernel answers on shell *and* its status for that request arrives on IOPub (as
   * jupyter_client's wait_for_ready does): a SUB socket's subscription reaches the kernel asynchronously, and outputs
   * published before it are lost.
   */
  async waitForReady(timeoutMs: number, isAlive: () => boolean = () => true): Promise<JupyterMessage> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (!isAlive()) throw new Error('the kernel exited before it answered');
      const msg = newMessage('kernel_info_request', {}, { session: this.session, identities: [] });
      const id = msg.header.msg_id;
      const seen = new Promise<boolean>((resolve) => this.iopubWaiters.set(id, () => resolve(true)));
      try {
        const reply = await this.send('shell', msg, Math.min(2000, Math.max(100, until - Date.now())));
        const subscribed = await Promise.race([seen, new Promise<boolean>((r) => setTimeout(() => r(false), 250))]);
        if (subscribed) return reply;
      } catch {
        // not answering yet
      } finally {
        this.iopubWaiters.delete(id);
      }
      if (Date.now() >= until) throw new Error(`the kernel did not answer kernel_info within ${timeoutMs / 1000} s`);
    }
  }

  /** Runs code; resolves when its execute_reply and final idle status have both arrived. */
  execute(code: string, o: ExecuteOptions = {}): { msgId: string; done: Promise<ExecuteResult> } {
    const msg = newMessage(
      'execute_request',
      {
        code,
        silent: o.silent ?? false,
        store_history: o.storeHistory ?? true,
        user_expressions: {},
        allow_stdin: o.onInput !== undefined,
        stop_on_error: o.stopOnError ?? true,
      },
      { session: this.session, identities: [] },
    );
    const id = msg.header.msg_id;
    if (o.onInput) this.inputHandlers.set(id, o.onInput);
    const done = new Promise<ExecuteResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (iopubTimedOut: boolean) => {
        clearTimeout(timer);
        this.executions.delete(id);
        this.inputHandlers.delete(id);
        resolve({ reply: pending.reply!, outputs: pending.outputs, ...(iopubTimedOut ? { iopubTimedOut } : {}) });
      };
      const pending: Pending = {
        idle: false,
        outputs: [],
        ...(o.onOutput ? { onOutput: o.onOutput } : {}),
        settle: () => {
          if (pending.reply && pending.idle) finish(false);
        },
      };
      if (o.iopubTimeoutMs !== undefined) {
        const ms = o.iopubTimeoutMs;
        pending.onReply = () => {
          if (this.executions.has(id)) timer = setTimeout(() => finish(true), ms);
        };
      }
      this.executions.set(id, pending);
    });
    void this.senders.shell.send(msg);
    return { msgId: id, done };
  }

  /** One heartbeat round trip; false if no echo within `timeoutMs`. */
  async heartbeat(timeoutMs = 2000): Promise<boolean> {
    const hb = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
    hb.connect(endpoint(this.info, 'hb'));
    try {
      await hb.send('ping');
      const [echo] = await hb.receive();
      return echo?.toString() === 'ping';
    } catch {
      return false;
    } finally {
      hb.close();
    }
  }

  close(): void {
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub]) s?.close();
  }
}
