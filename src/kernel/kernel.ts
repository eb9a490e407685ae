/**
 * The mixprec Jupyter kernel: the whole messaging protocol (5.3) over ZeroMQ, TypeScript cells through the executor,
 * rich displays, stdin, comms, history, interrupts, shutdown/restart. Shell requests are handled one at a time, each
 * between status busy and idle on IOPub; control and heartbeat live on a worker thread (control_worker.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Console } from 'node:console';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import type { Worker } from 'node:worker_threads';
import * as zmq from 'zeromq';
import { formatBackendReport, initBackend, type BackendReport } from '../backend';
import type { ConnectionInfo } from '../jupyter/connection';
import { decodeMessage, encodeMessage, MessageError, newMessage, PROTOCOL_VERSION, SignatureHistory, type JupyterMessage } from '../jupyter/message';
import { bindChannel, MessageSender } from '../jupyter/socket';
import { setAmbientSignal } from '../util/interrupt';
import { startWorker } from '../util/worker';
import type { FromControlWorker, ToControlWorker } from './control_worker';
import { display, isDisplayHandle, mimeBundleOf, setDisplaySink } from '../notebook';
import { setCommTransport, type CommManager } from '../notebook/comm';
import '../notebook/widgets'; // registers the jupyter.widget and jupyter.widget.control targets
import { PACKAGE_ROOT } from '../util/package';
import { CellExecutor, CompileError, InterruptedError, moduleGlobal, type Global } from './executor';

type Content = Record<string, unknown>;
/** How long kernel_info waits for the backend report in its banner. */
const KERNEL_INFO_BACKEND_WAIT_MS = 20_000;

/**
 * Output of the cell running now (or, after it, the last one: late asynchronous output goes there, as in IPython).
 * Each piece keeps the cell it was written in, so that text written by one cell and flushed after the next one
 * started is still that cell's.
 */
class StreamBuffer {
  private segments: { name: 'stdout' | 'stderr'; text: string; parent: JupyterMessage | undefined }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly parent: () => JupyterMessage | undefined,
    private readonly publish: (name: 'stdout' | 'stderr', text: string, parent: JupyterMessage | undefined) => Promise<void>,
  ) {}

  write(name: 'stdout' | 'stderr', text: string): void {
    const last = this.segments.at(-1);
    const parent = this.parent();
    if (last && last.name === name && last.parent === parent) last.text += text;
    else this.segments.push({ name, text, parent });
    // Batched: a tight loop of console.log becomes a few large messages instead of one per line.
    this.timer ??= setTimeout(() => void this.flush(), 50);
  }

  /** Sends everything written so far, in order; resolves when it has been handed to ZeroMQ. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const segments = this.segments;
    this.segments = [];
    const MAX = 1 << 20;
    this.sending = this.sending.then(async () => {
      for (const s of segments) {
        for (let i = 0; i < s.text.length; i += MAX) await this.publish(s.name, s.text.slice(i, i + MAX), s.parent);
      }
    });
    return this.sending;
  }

  /** Sends a message after everything written so far: a display must not overtake the text printed before it. */
  after(send: () => Promise<void>): Promise<void> {
    void this.flush();
    this.sending = this.sending.then(send);
    return this.sending;
  }
}

interface CurrentCell {
  parent: JupyterMessage;
  /** execute_reply payloads (the pager). */
  payload: Content[];
  abort: AbortController;
  allowStdin: boolean;
  interrupted: boolean;
  pending: Set<Promise<unknown>>;
}

interface HistoryEntry {
  session: number;
  line: number;
  input: string;
  /** text/plain of the execute_result, if any. */
  output: string | null;
}

export interface KernelOptions {
  /** Compute backend (default: MIXPREC_BACKEND, else the first that starts). */
  backend?: string;
}

export class Kernel {
  readonly session = randomUUID();
  private shell!: zmq.Router;
  private stdin!: zmq.Router;
  private iopub!: zmq.Publisher;
  private shellSender!: MessageSender;
  private stdinSender!: MessageSender;
  private iopubSender!: MessageSender;
  private control!: Worker;
  private executor!: CellExecutor;
  private backend: Promise<BackendReport> | undefined;
  private executionCount = 0;
  private readonly history: HistoryEntry[] = [];
  private current: CurrentCell | undefined;
  private lastParent: JupyterMessage | undefined;
  private readonly streams: StreamBuffer;
  private comms!: CommManager;
  /** The comm message being handled, through everything it starts (output then has it as parent, as in ipykernel). */
  private readonly ambient = new AsyncLocalStorage<JupyterMessage>();
  /** Comm messages are handled in order among themselves, and at once: not behind a running cell. */
  private commQueue: Promise<void> = Promise.resolve();
  private readonly stdinWaiters = new Map<string, (value: string) => void>();
  private queue: Promise<void> = Promise.resolve();
  /** execute_requests received but not started: aborted when an earlier one fails with stop_on_error. */
  private readonly queuedExecutes = new Set<JupyterMessage>();
  private readonly abortedExecutes = new Set<JupyterMessage>();
  private readonly originalStderr = process.stderr.write.bind(process.stderr);
  /** process.exit as Node has it: the kernel's own replaces it so that a cell's exit closes the sockets first. */
  private readonly exitProcess = process.exit.bind(process);
  private closing = false;
  /** Shell and stdin messages already accepted (the control thread keeps its own). */
  private readonly signatures = new SignatureHistory();
  private exiting = false;
  /** Set while the process ends: nothing is sent any more. */
  private socketsClosed = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly options: KernelOptions = {},
  ) {
    this.streams = new StreamBuffer(
      () => this.parentNow(),
      (name, text, parent) => this.publish('stream', { name, text }, parent),
    );
  }

  /** The request output belongs to now: the comm message being handled, else the running cell, else the last one. */
  private parentNow(): JupyterMessage | undefined {
    return this.ambient.getStore() ?? this.current?.parent ?? this.lastParent;
  }

  private log(text: string): void {
    this.originalStderr(`[mixprec kernel] ${text}\n`);
  }

  async start(): Promise<void> {
    process.on('SIGINT', () => this.interrupt());
    this.control = startWorker(__filename, 'control_worker', { workerData: { info: this.info, session: this.session } });
    const controlReady = new Promise<void>((resolve, reject) => {
      this.control.on('message', (m: FromControlWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') reject(new Error(m.text));
        else if (m.type === 'interrupt' && (m.cell === null || m.cell === this.current?.parent.header.msg_id)) this.interrupt();
        else if (m.type === 'log') this.log(m.text);
        else if (m.type === 'control') this.onControl(m.frames.map((f) => Buffer.from(f)));
      });
    });
    this.control.on('error', (err) => this.log(`control worker: ${err.stack ?? err.message}`));
    controlReady.catch(() => undefined); // awaited below, after the shell channels are bound
    const controlExited = new Promise<void>((resolve) => this.control.once('exit', () => resolve()));

    try {
      // The compiler worker starts warming up now, while this thread loads the library and the backend.
      this.executor = new CellExecutor(process.cwd(), this.globals());
      this.shell = new zmq.Router();
      this.stdin = new zmq.Router();
      this.iopub = new zmq.Publisher();
      // allSettled: no socket may be closed (on failure) while another one's bind is still in flight (zeromq aborts).
      const bound = await Promise.allSettled([
        bindChannel(this.shell, this.info, 'shell'),
        bindChannel(this.stdin, this.info, 'stdin'),
        bindChannel(this.iopub, this.info, 'iopub'),
      ]);
      for (const b of bound) if (b.status === 'rejected') throw b.reason;
      this.shellSender = new MessageSender(this.shell, this.info.key);
      this.stdinSender = new MessageSender(this.stdin, this.info.key);
      this.iopubSender = new MessageSender(this.iopub, this.info.key);
      this.captureOutput();
      this.survive();
      setDisplaySink({
        publish: (type, content) => {
          const parent = this.parentNow();
          void this.streams.after(() => this.publish(type, content, parent));
        },
        track: (work) => {
          const cell = this.current;
          if (!cell) return;
          cell.pending.add(work);
          work.then(
            () => cell.pending.delete(work),
            () => cell.pending.delete(work),
          );
        },
      });
      this.comms = setCommTransport({
        send: (type, content, buffers = [], metadata) => {
          const parent = this.parentNow();
          const frames = buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
          void this.streams.after(() => this.publish(type, content, parent, { buffers: frames, ...(metadata ? { metadata } : {}) }));
        },
        parentMsgId: () => this.parentNow()?.header.msg_id ?? '',
        flush: () => this.streams.after(() => Promise.resolve()),
        warn: (text) => this.streams.write('stderr', `${text}\n`),
      })!;
      this.backend = initBackend(this.options.backend);
      this.backend.catch((err: Error) => this.log(`backend: ${err.message}`));
      await controlReady;
    } catch (err) {
      await this.abortStart(controlReady, controlExited);
      throw err;
    }
    void this.publish('status', { execution_state: 'starting' });
    void this.serveShell();
    void this.serveStdin();
  }

  /** Undoes a start that failed (a port taken): sockets closed and workers ended, so that the process can exit cleanly. */
  private async abortStart(controlReady: Promise<void>, controlExited: Promise<void>): Promise<void> {
    for (const socket of [this.shell, this.stdin, this.iopub]) if (socket && !socket.closed) socket.close();
    // The control thread closes its own sockets and ends (terminating it with sockets open aborts the process).
    await controlReady.catch(() => undefined);
    this.control.postMessage({ type: 'close' } satisfies ToControlWorker);
    const timer = setTimeout(() => void this.control.terminate(), 2000);
    await Promise.allSettled([controlExited, this.executor?.close()]);
    clearTimeout(timer);
  }

  /** The preloaded globals of every cell: the library, tfjs, display, prompt. */
  private globals(): Global[] {
    const dist = (p: string) => path.join(PACKAGE_ROOT, 'dist', p);
    return [
      moduleGlobal('mixprec', require('../index'), dist('index')),
      moduleGlobal('tf', require('@tensorflow/tfjs'), path.join(PACKAGE_ROOT, 'node_modules', '@tensorflow', 'tfjs', 'dist', 'index')),
      moduleGlobal('display', display, dist('notebook/display'), 'Display'),
      moduleGlobal('widgets', require('../notebook/widgets'), dist('notebook/widgets/index')),
      {
        name: 'page',
        value: (text: unknown) => this.page(text),
        declaration: 'declare function page(text: unknown): void;',
      },
      {
        name: 'prompt',
        value: (message = '', options: { password?: boolean } = {}) => this.requestInput(message, options.password ?? false),
        declaration: 'declare function prompt(message?: string, options?: { password?: boolean }): Promise<string>;',
      },
    ];
  }

  /** Cell output: console, process.stdout and process.stderr go to IOPub streams. */
  private captureOutput(): void {
    const stream = (name: 'stdout' | 'stderr') =>
      new Writable({
        write: (chunk: Buffer | string, _enc, done) => {
          this.streams.write(name, chunk.toString());
          done();
        },
      });
    const out = stream('stdout');
    const err = stream('stderr');
    globalThis.console = new Console({ stdout: out, stderr: err });
    process.stdout.write = ((chunk: string | Uint8Array) => {
      this.streams.write('stdout', chunk.toString());
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      this.streams.write('stderr', chunk.toString());
      return true;
    }) as typeof process.stderr.write;
  }

  /**
   * Errors that escape every cell (a rejected promise nobody awaits, a throw in a timer after its cell ended) would
   * end the process with all the user's state, and zeromq turns Node's exit with open sockets into SIGABRT. As
   * ipykernel does, they are printed on the stderr of the cell that is running (or of the last one) and the kernel
   * goes on. process.exit(code) from a cell closes the sockets and ends the process with that code.
   */
  private survive(): void {
    const report = (what: string, err: unknown) => {
      if (err instanceof KernelExit) return; // process.exit called outside a cell's own stack (a timer): already exiting
      const text = err instanceof Error ? this.errorContent(err).traceback.join('\n') : inspect(err);
      this.streams.write('stderr', `${what}: ${text}\n`);
      void this.streams.flush();
    };
    process.on('uncaughtException', (err) => report('Uncaught exception', err));
    process.on('unhandledRejection', (reason) => report('Unhandled promise rejection', reason));
    process.exit = ((code?: number | string | null) => {
      const requested = Number(code ?? process.exitCode ?? 0);
      const status = Number.isInteger(requested) ? requested : 1;
      void this.closeAndExit(status);
      // Like Node's own exit, nothing after the call in the cell runs.
      throw new KernelExit(status);
    }) as typeof process.exit;
  }

  private publish(type: string, content: Content, parent?: JupyterMessage, extra: { buffers?: Buffer[]; metadata?: Content } = {}): Promise<void> {
    if (this.socketsClosed) return Promise.resolve();
    return this.iopubSender.send(newMessage(type, content, { session: this.session, parent, identities: [Buffer.from(type)], ...extra }));
  }

  private reply(socket: 'shell' | 'control', request: JupyterMessage, type: string, content: Content): Promise<void> {
    if (this.socketsClosed) return Promise.resolve();
    const msg = newMessage(type, content, { session: this.session, parent: request });
    if (socket === 'shell') return this.shellSender.send(msg);
    this.control.postMessage({ type: 'send', frames: this.encode(msg) } satisfies ToControlWorker);
    return Promise.resolve();
  }

  private encode(msg: JupyterMessage): Buffer[] {
    return encodeMessage(msg, this.info.key);
  }

  private async serveShell(): Promise<void> {
    for await (const frames of this.shell) {
      let msg: JupyterMessage;
      try {
        msg = decodeMessage(frames, this.info.key, this.signatures);
      } catch (err) {
        if (err instanceof MessageError) this.log(`shell: rejected a message: ${err.message}`);
        continue;
      }
      const type = msg.header.msg_type;
      if (type === 'comm_open' || type === 'comm_msg' || type === 'comm_close') {
        this.commQueue = this.commQueue.then(() => this.handleComm(msg)).catch((err: Error) => this.log(`comm: ${err.stack ?? err.message}`));
        continue;
      }
      if (type === 'execute_request') this.queuedExecutes.add(msg);
      this.queue = this.queue.then(() => this.handle('shell', msg)).catch((err: Error) => this.log(`shell: ${err.stack ?? err.message}`));
    }
  }

  private async serveStdin(): Promise<void> {
    for await (const frames of this.stdin) {
      try {
        const msg = decodeMessage<{ value: string }>(frames, this.info.key, this.signatures);
        if (msg.header.msg_type !== 'input_reply') continue;
        const id = msg.parent_header.msg_id ?? '';
        const waiter = this.stdinWaiters.get(id) ?? [...this.stdinWaiters.values()][0];
        this.stdinWaiters.delete(id);
        waiter?.(String(msg.content.value ?? ''));
      } catch (err) {
        if (err instanceof MessageError) this.log(`stdin: rejected a message: ${err.message}`);
      }
    }
  }

  private onControl(frames: Buffer[]): void {
    let msg: JupyterMessage;
    try {
      msg = decodeMessage(frames, this.info.key);
    } catch {
      return;
    }
    // Control requests do not wait behind queued shell requests.
    void this.handle('control', msg).catch((err: Error) => this.log(`control: ${err.stack ?? err.message}`));
  }

  private async handle(channel: 'shell' | 'control', msg: JupyterMessage): Promise<void> {
    const type = msg.header.msg_type;
    await this.publish('status', { execution_state: 'busy' }, msg);
    try {
      switch (type) {
        case 'kernel_info_request':
          await this.reply(channel, msg, 'kernel_info_reply', await this.kernelInfo());
          break;
        case 'execute_request':
          await this.execute(msg);
          break;
        case 'complete_request':
          await this.reply(channel, msg, 'complete_reply', await this.complete(msg.content));
          break;
        case 'inspect_request':
          await this.reply(channel, msg, 'inspect_reply', await this.inspect(msg.content));
          break;
        case 'is_complete_request':
          await this.reply(channel, msg, 'is_complete_reply', await this.executor.isComplete(String(msg.content.code ?? '')));
          break;
        case 'history_request':
          await this.reply(channel, msg, 'history_reply', this.historyReply(msg.content));
          break;
        case 'comm_info_request': {
          const target = msg.content.target_name;
          await this.reply(channel, msg, 'comm_info_reply', {
            status: 'ok',
            comms: this.comms.info(typeof target === 'string' ? target : undefined),
          });
          break;
        }
        case 'shutdown_request':
          await this.shutdown(channel, msg);
          return;
        case 'interrupt_request':
          this.interrupt();
          await this.reply(channel, msg, 'interrupt_reply', { status: 'ok' });
          break;
        default:
          if (type.endsWith('_request')) {
            await this.reply(channel, msg, type.replace(/_request$/, '_reply'), {
              status: 'error',
              ename: 'NotImplemented',
              evalue: `${type} is not supported`,
              traceback: [],
            });
          }
      }
    } finally {
      await this.publish('status', { execution_state: 'idle' }, msg);
    }
  }

  /**
   * A comm message, handled at once (a Stop button must reach a training loop while its cell runs). Between cells it
   * is framed by busy and idle as any request; during a cell the kernel is busy already and reports no status for it.
   * Errors of handlers go to the stderr stream; the kernel goes on.
   */
  private async handleComm(msg: JupyterMessage): Promise<void> {
    const framed = this.current === undefined;
    if (framed) await this.publish('status', { execution_state: 'busy' }, msg);
    const type = msg.header.msg_type;
    const buffers = msg.buffers.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    try {
      await this.ambient.run(msg, async () => {
        try {
          if (type === 'comm_open') {
            if (!(await this.comms.handleOpen(msg.content, buffers, msg.header.msg_id))) {
              // No such target: the protocol's answer is comm_close.
              await this.publish('comm_close', { comm_id: String(msg.content.comm_id ?? ''), data: {} }, msg);
            }
          } else if (type === 'comm_msg') {
            if (!(await this.comms.handleMsg(msg.content, buffers, msg.header.msg_id)))
              this.log(`comm_msg for unknown comm ${String(msg.content.comm_id)}`);
          } else if (!(await this.comms.handleClose(msg.content, buffers, msg.header.msg_id))) {
            this.log(`comm_close for unknown comm ${String(msg.content.comm_id)}`);
          }
        } catch (err) {
          this.streams.write(
            'stderr',
            `${type} (${String(msg.content.target_name ?? msg.content.comm_id ?? '')}): ${this.errorContent(err).traceback.join('\n')}\n`,
          );
        }
        await this.streams.flush();
      });
    } finally {
      if (framed) await this.publish('status', { execution_state: 'idle' }, msg);
    }
  }

  private async kernelInfo(): Promise<Content> {
    let banner = 'mixprec TypeScript kernel';
    // Clients ask for kernel_info to learn that the kernel is up: a backend still starting (or stuck) must not keep
    // the answer back for long.
    const pending = Symbol('pending');
    let timer: NodeJS.Timeout | undefined;
    try {
      const report = await Promise.race([
        this.backend!,
        new Promise<typeof pending>((r) => (timer = setTimeout(() => r(pending), KERNEL_INFO_BACKEND_WAIT_MS))),
      ]);
      banner += report === pending ? ' · backend still starting' : ` · backend ${formatBackendReport(report)}`;
    } catch (err) {
      banner += ` · no backend: ${(err as Error).message}`;
    } finally {
      clearTimeout(timer);
    }
    const pkg = require('../../package.json') as { version: string };
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'mixprec',
      implementation_version: pkg.version,
      language_info: {
        name: 'typescript',
        version: (require('@tslab/typescript-for-tslab/package.json') as { version: string }).version,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        codemirror_mode: { name: 'javascript', typescript: true },
        pygments_lexer: 'typescript',
      },
      banner: `${banner}\nGlobals: mixprec (the library), tf (TensorFlow.js), display, prompt, page.`,
      help_links: [{ text: 'mixprec README', url: 'https://www.npmjs.com/package/mixprec' }],
    };
  }

  private async complete(content: Content): Promise<Content> {
    const code = String(content.code ?? '');
    const cursor = Number(content.cursor_pos ?? code.length);
    const r = await this.executor.complete(code, cursor);
    return { status: 'ok', matches: r.candidates, cursor_start: r.start, cursor_end: r.end, metadata: {} };
  }

  private async inspect(content: Content): Promise<Content> {
    const code = String(content.code ?? '');
    const r = await this.executor.inspect(code, Number(content.cursor_pos ?? code.length));
    return { status: 'ok', found: r.found, data: r.found ? { 'text/plain': r.text } : {}, metadata: {} };
  }

  private historyReply(content: Content): Content {
    const access = content.hist_access_type;
    let entries: HistoryEntry[] = [];
    if (access === 'tail') {
      entries = this.history.slice(-Math.max(0, Number(content.n ?? 10)));
    } else if (access === 'range') {
      const start = Number(content.start ?? 0);
      const stop = content.stop === undefined || content.stop === null ? Infinity : Number(content.stop);
      entries = this.history.filter((h) => h.line >= start && h.line < stop);
    } else if (access === 'search') {
      const glob = String(content.pattern ?? '*');
      const re = new RegExp(
        `^${glob
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
        's',
      );
      entries = this.history.filter((h) => re.test(h.input));
      if (content.unique) entries = entries.filter((h, i) => entries.findIndex((o) => o.input === h.input) === i);
      if (content.n !== undefined && content.n !== null) entries = entries.slice(-Number(content.n));
    }
    const output = content.output === true;
    return { status: 'ok', history: entries.map((h) => [h.session, h.line, output ? [h.input, h.output] : h.input]) };
  }

  /** Shows text in the frontend's pager (an execute_reply payload), as IPython's `?` does. */
  private page(text: unknown): void {
    const cell = this.current;
    if (cell === undefined) throw new Error('page: no cell is running');
    cell.payload.push({ source: 'page', data: { 'text/plain': typeof text === 'string' ? text : inspect(text) }, start: 0 });
  }

  /** Reads one line from the frontend through the stdin channel (a cell's `await prompt('…')`). */
  private requestInput(prompt: string, password: boolean): Promise<string> {
    const cell = this.current;
    if (cell === undefined) return Promise.reject(new Error('prompt: no cell is running'));
    if (!cell.allowStdin) return Promise.reject(new Error('prompt: this frontend does not accept input (allow_stdin is false)'));
    const request = newMessage('input_request', { prompt, password }, { session: this.session, parent: cell.parent });
    return new Promise<string>((resolve, reject) => {
      this.stdinWaiters.set(cell.parent.header.msg_id, resolve);
      cell.abort.signal.addEventListener('abort', () => reject(new InterruptedError()), { once: true });
      void this.stdinSender.send(request);
    });
  }

  /** Stops the running cell: SIGINT already broke synchronous code; this ends its waits and aborts training loops. */
  interrupt(): void {
    const cell = this.current;
    if (!cell || cell.interrupted) return;
    cell.interrupted = true;
    cell.abort.abort();
    // Give code that honours the signal (training stops at its next step) a moment to finish cleanly.
    setTimeout(() => {
      if (this.current === cell) this.executor.interrupt();
    }, 2000).unref();
  }

  private errorContent(err: unknown): { ename: string; evalue: string; traceback: string[] } {
    if (err instanceof CompileError) {
      return {
        ename: 'CompileError',
        evalue: err.diagnostics[0] ?? 'TypeScript error',
        traceback: ['TypeScript compilation failed:', ...err.diagnostics],
      };
    }
    if (err instanceof Error) {
      const stack = (err.stack ?? `${err.name}: ${err.message}`)
        .split('\n')
        .filter((l) => !/node:internal|node:vm|\/kernel\/(executor|kernel)\.[jt]s/.test(l));
      return { ename: err.name || 'Error', evalue: err.message, traceback: stack };
    }
    return { ename: 'Error', evalue: String(err), traceback: [`Thrown: ${String(err)}`] };
  }

  private async execute(msg: JupyterMessage): Promise<void> {
    this.queuedExecutes.delete(msg);
    const c = msg.content;
    const code = String(c.code ?? '');
    const silent = c.silent === true;
    const storeHistory = c.store_history === undefined ? !silent : c.store_history === true;
    if (this.abortedExecutes.delete(msg)) {
      await this.reply('shell', msg, 'execute_reply', { status: 'aborted', execution_count: this.executionCount });
      return;
    }
    if (storeHistory) {
      this.executionCount++;
      this.history.push({ session: 1, line: this.executionCount, input: code, output: null });
    }
    const count = this.executionCount;
    if (!silent) await this.publish('execute_input', { code, execution_count: count }, msg);
    const cell: CurrentCell = {
      parent: msg,
      payload: [],
      abort: new AbortController(),
      allowStdin: c.allow_stdin === true,
      interrupted: false,
      pending: new Set(),
    };
    this.current = cell;
    this.control.postMessage({ type: 'busy', cell: msg.header.msg_id } satisfies ToControlWorker);
    this.lastParent = msg;
    setAmbientSignal(cell.abort.signal);
    let reply: Content;
    try {
      await this.executor.ready();
      const result = await this.executor.execute(code, cell.abort.signal);
      // A promise as the last value (e.g. display.vegalite(…)) is awaited and its result shown.
      let value = result.value;
      if (result.hasValue && typeof (value as PromiseLike<unknown> | null)?.then === 'function') value = await (value as PromiseLike<unknown>);
      while (cell.pending.size > 0) await Promise.all([...cell.pending]);
      if (cell.interrupted) throw new InterruptedError();
      if (result.hasValue && value !== undefined && !isDisplayHandle(value) && !silent) {
        const data = await mimeBundleOf(value);
        await this.streams.flush();
        await this.publish('execute_result', { execution_count: count, data, metadata: {} }, msg);
        const entry = this.history.at(-1);
        if (storeHistory && entry?.line === count) entry.output = String(data['text/plain'] ?? '');
      }
      reply = { status: 'ok', execution_count: count, user_expressions: {}, payload: cell.payload };
    } catch (err) {
      if (err instanceof KernelExit) return; // the process is closing its sockets and ending: no reply, as ipykernel's os._exit
      const error = this.errorContent(cell.interrupted && !(err instanceof CompileError) ? new InterruptedError() : err);
      await this.streams.flush();
      if (!silent) await this.publish('error', error, msg);
      reply = { status: 'error', execution_count: count, ...error };
      if (c.stop_on_error !== false) {
        for (const queued of this.queuedExecutes) this.abortedExecutes.add(queued);
      }
    } finally {
      setAmbientSignal(undefined);
      this.current = undefined;
      this.control.postMessage({ type: 'idle' } satisfies ToControlWorker);
    }
    await this.streams.flush();
    await this.reply('shell', msg, 'execute_reply', reply);
  }

  private async shutdown(channel: 'shell' | 'control', msg: JupyterMessage): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const restart = msg.content.restart === true;
    await this.streams.flush();
    await this.reply(channel, msg, 'shutdown_reply', { status: 'ok', restart });
    await this.publish('status', { execution_state: 'idle' }, msg);
    // Let the control worker send its reply before its socket closes.
    setTimeout(() => void this.closeAndExit(0), 100);
  }

  /**
   * Ends the process with every socket closed first, on both threads: zeromq aborts a process that exits with a
   * socket open (SIGABRT instead of the exit code).
   */
  private async closeAndExit(code: number): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    await this.streams.flush().catch(() => undefined);
    await Promise.race([Promise.all([this.shellSender.flushed(), this.iopubSender.flushed()]), new Promise((r) => setTimeout(r, 1000))]);
    const controlExited = new Promise<void>((resolve) => this.control.once('exit', () => resolve()));
    this.socketsClosed = true;
    this.control.postMessage({ type: 'close' } satisfies ToControlWorker);
    for (const socket of [this.shell, this.stdin, this.iopub]) if (!socket.closed) socket.close();
    await Promise.race([Promise.allSettled([controlExited, this.executor.close()]), new Promise((r) => setTimeout(r, 3000))]);
    setTimeout(() => this.exitProcess(code), 50);
  }
}

/** Thrown by process.exit in a cell, so that the cell stops there while the kernel closes its sockets and exits. */
class KernelExit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
    this.name = 'KernelExit';
  }
}
