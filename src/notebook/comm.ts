/**
 * Comms (Jupyter messaging, "Custom messages"): channels between kernel-side objects and their frontend companions,
 * opened from either side by target name. The kernel installs the transport (setCommTransport) and hands every
 * comm_open / comm_msg / comm_close it receives to the manager; widgets (widgets/) are built on top.
 */

/** What the manager needs from the kernel. */
export interface CommTransport {
  /** Publishes comm_open / comm_msg / comm_close on IOPub, after the output written so far, with the current parent. */
  send(
    msgType: 'comm_open' | 'comm_msg' | 'comm_close',
    content: Record<string, unknown>,
    buffers?: readonly Uint8Array[],
    metadata?: Record<string, unknown>,
  ): void;
  /** The msg_id of the request being handled now (a cell's execute_request, a comm message); '' when none. */
  parentMsgId(): string;
  /** Resolves when the output written so far (streams, displays, comm messages) has been sent. */
  flush(): Promise<void>;
  /** A line on the stderr stream of the current cell: how refused frontend messages are reported. */
  warn(text: string): void;
}

/** A message received on a comm. */
export interface CommMessage {
  data: Record<string, unknown>;
  buffers: Uint8Array[];
  /** The msg_id of the message that carried it. */
  msgId: string;
}

export type CommHandler = (message: CommMessage) => void | Promise<void>;

/** One open comm. */
export class Comm {
  private readonly msgHandlers = new Set<CommHandler>();
  private readonly closeHandlers = new Set<CommHandler>();
  private open = true;

  /** @internal Created by {@link CommManager}. */
  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly manager: CommManager,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Sends a comm_msg; a closed comm sends nothing. */
  send(data: Record<string, unknown>, buffers: readonly Uint8Array[] = [], metadata?: Record<string, unknown>): void {
    if (!this.open) return;
    this.manager.transport.send('comm_msg', { comm_id: this.id, data }, buffers, metadata);
  }

  /** Closes the comm on both sides (comm_close); the close handlers run. */
  close(data: Record<string, unknown> = {}): void {
    if (!this.open) return;
    this.manager.transport.send('comm_close', { comm_id: this.id, data });
    this.closed({ data, buffers: [], msgId: '' });
  }

  /** Calls `handler` with every comm_msg from the frontend; returns the function that removes it. */
  onMsg(handler: CommHandler): () => void {
    this.msgHandlers.add(handler);
    return () => this.msgHandlers.delete(handler);
  }

  /** Calls `handler` once the comm is closed, from either side. */
  onClose(handler: CommHandler): () => void {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  /** @internal */
  received(message: CommMessage): Promise<void> {
    return runAll(this.msgHandlers, message);
  }

  /** @internal */
  closed(message: CommMessage): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.open = false;
    this.manager.forget(this.id);
    return runAll(this.closeHandlers, message);
  }
}

/** Runs every handler; one that throws does not keep the others from running, and its error is rethrown after. */
async function runAll(handlers: Iterable<CommHandler>, message: CommMessage): Promise<void> {
  const errors: unknown[] = [];
  for (const h of [...handlers]) {
    try {
      await h(message);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} comm handlers failed`);
}

/** Opens a comm the frontend asked for: receives the new comm and the comm_open's data. */
export type CommTarget = (comm: Comm, open: CommMessage) => void | Promise<void>;

/** The comms of one kernel, and the targets the frontend may open comms to. */
export class CommManager {
  private readonly targets = new Map<string, CommTarget>();
  private readonly comms = new Map<string, Comm>();
  private nextId = 0;
  private readonly prefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;

  constructor(readonly transport: CommTransport) {}

  registerTarget(name: string, target: CommTarget): void {
    this.targets.set(name, target);
  }

  /** Opens a comm from the kernel (comm_open to `targetName` in the frontend). */
  open(
    targetName: string,
    data: Record<string, unknown>,
    options: { metadata?: Record<string, unknown>; buffers?: readonly Uint8Array[]; id?: string } = {},
  ): Comm {
    const id = options.id ?? `${this.prefix}${(this.nextId++).toString(36).padStart(6, '0')}`;
    const comm = new Comm(id, targetName, this);
    this.comms.set(id, comm);
    this.transport.send('comm_open', { comm_id: id, target_name: targetName, data }, options.buffers ?? [], options.metadata);
    return comm;
  }

  get(id: string): Comm | undefined {
    return this.comms.get(id);
  }

  /** The open comms (of one target), as comm_info_reply lists them. */
  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const [id, c] of this.comms) if (!targetName || c.targetName === targetName) out[id] = { target_name: c.targetName };
    return out;
  }

  /**
   * A comm_open from the frontend. False when no such target is registered (the kernel then answers comm_close, as
   * the protocol asks); a target that throws leaves the comm closed and the error is rethrown.
   */
  async handleOpen(content: Record<string, unknown>, buffers: Uint8Array[], msgId: string): Promise<boolean> {
    const id = String(content.comm_id ?? '');
    const targetName = String(content.target_name ?? '');
    const target = this.targets.get(targetName);
    if (id === '' || target === undefined) return false;
    const comm = new Comm(id, targetName, this);
    this.comms.set(id, comm);
    try {
      await target(comm, { data: asObject(content.data), buffers, msgId });
    } catch (err) {
      comm.close();
      throw err;
    }
    return true;
  }

  /** A comm_msg from the frontend; false when the comm is not open here. */
  async handleMsg(content: Record<string, unknown>, buffers: Uint8Array[], msgId: string): Promise<boolean> {
    const comm = this.comms.get(String(content.comm_id ?? ''));
    if (comm === undefined) return false;
    await comm.received({ data: asObject(content.data), buffers, msgId });
    return true;
  }

  /** A comm_close from the frontend; false when the comm is not open here. */
  async handleClose(content: Record<string, unknown>, buffers: Uint8Array[], msgId: string): Promise<boolean> {
    const comm = this.comms.get(String(content.comm_id ?? ''));
    if (comm === undefined) return false;
    await comm.closed({ data: asObject(content.data), buffers, msgId });
    return true;
  }

  /** @internal */
  forget(id: string): void {
    this.comms.delete(id);
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

let manager: CommManager | null = null;
const installers: ((m: CommManager) => void)[] = [];

/** Installs the kernel's transport (null: none); the targets registered with {@link onCommManager} are registered on it. */
export function setCommTransport(transport: CommTransport | null): CommManager | null {
  manager = transport === null ? null : new CommManager(transport);
  if (manager !== null) for (const install of installers) install(manager);
  return manager;
}

/** The running kernel's comm manager, or null outside a kernel. */
export function commManager(): CommManager | null {
  return manager;
}

/** Runs `install` on the current comm manager and on every one installed later (how widgets register their targets). */
export function onCommManager(install: (m: CommManager) => void): void {
  installers.push(install);
  if (manager !== null) install(manager);
}
