/**
 * The Jupyter messaging protocol's wire format (jupyter-client docs, "Messaging in Jupyter", v5.3): a message on a
 * ZeroMQ socket is [routing identities…, "<IDS|MSG>", HMAC-SHA256 signature, header, parent_header, metadata,
 * content, buffers…], the signature computed with the connection file's key over the four JSON frames.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';
export const DELIMITER = '<IDS|MSG>';

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  /** ZeroMQ routing identities (ROUTER sockets) or the topic (IOPub). */
  identities: Buffer[];
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** A message that cannot be accepted: bad signature, missing delimiter, malformed JSON. */
export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageError';
  }
}

/** The hex HMAC-SHA256 of the frames, or '' when the key is empty (signing disabled). */
export function sign(key: string, frames: readonly (Buffer | string)[]): string {
  if (key === '') return '';
  const hmac = createHmac('sha256', key);
  for (const f of frames) hmac.update(f);
  return hmac.digest('hex');
}

export function encodeMessage(msg: JupyterMessage<unknown>, key: string): Buffer[] {
  const frames = [msg.header, msg.parent_header, msg.metadata, msg.content].map((part) => Buffer.from(JSON.stringify(part), 'utf8'));
  return [...msg.identities, Buffer.from(DELIMITER), Buffer.from(sign(key, frames)), ...frames, ...msg.buffers];
}

function parseFrame(frame: Buffer, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(frame.toString('utf8')) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new MessageError(`the ${what} frame is not a JSON object (${(err as Error).message})`);
  }
}

/**
 * The signatures of recently accepted messages, so that a captured message sent again is refused, as jupyter_client's
 * Session does with its digest history. Bounded: when full, the older half is forgotten.
 */
export class SignatureHistory {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 1 << 16) {}

  /** Records a signature; false when it was seen before (a replay). */
  accept(signature: string): boolean {
    if (this.seen.has(signature)) return false;
    if (this.seen.size >= this.capacity) {
      let drop = this.seen.size >> 1;
      for (const old of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(old);
      }
    }
    this.seen.add(signature);
    return true;
  }
}

/**
 * Parses and verifies a multipart message; throws {@link MessageError} for anything that does not verify, and, given
 * a {@link SignatureHistory}, for a signed message that was already accepted once.
 */
export function decodeMessage<C = Record<string, unknown>>(frames: readonly Buffer[], key: string, history?: SignatureHistory): JupyterMessage<C> {
  const at = frames.findIndex((f) => f.length === DELIMITER.length && f.toString() === DELIMITER);
  if (at < 0) throw new MessageError('no <IDS|MSG> delimiter');
  if (frames.length < at + 6)
    throw new MessageError(`expected signature and four JSON frames after the delimiter, got ${frames.length - at - 1} frames`);
  const signature = frames[at + 1]!.toString();
  const parts = frames.slice(at + 2, at + 6);
  if (key !== '') {
    const expected = Buffer.from(sign(key, parts));
    const got = Buffer.from(signature);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new MessageError('invalid signature');
    if (history && !history.accept(signature)) throw new MessageError('duplicate signature: a replayed message');
  }
  const header = parseFrame(parts[0]!, 'header') as unknown as MessageHeader;
  if (typeof header.msg_type !== 'string' || typeof header.msg_id !== 'string') throw new MessageError('the header lacks msg_id or msg_type');
  return {
    identities: frames.slice(0, at),
    header,
    parent_header: parseFrame(parts[1]!, 'parent_header'),
    metadata: parseFrame(parts[2]!, 'metadata'),
    content: parseFrame(parts[3]!, 'content') as C,
    buffers: frames.slice(at + 6),
  };
}

export interface NewMessageOptions {
  session: string;
  username?: string;
  parent?: JupyterMessage<unknown>;
  identities?: Buffer[];
  metadata?: Record<string, unknown>;
  buffers?: Buffer[];
}

export function newMessage<C>(msgType: string, content: C, o: NewMessageOptions): JupyterMessage<C> {
  return {
    identities: o.identities ?? o.parent?.identities ?? [],
    header: {
      msg_id: randomUUID(),
      session: o.session,
      username: o.username ?? 'mixprec',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: o.parent ? o.parent.header : {},
    metadata: o.metadata ?? {},
    content,
    buffers: o.buffers ?? [],
  };
}
