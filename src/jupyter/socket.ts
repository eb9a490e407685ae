/**
 * zeromq.js v6 allows one send in flight per socket; every send goes through a queue so that concurrent producers
 * (streams, displays, replies) keep their order and nothing is dropped.
 */
import type * as zmq from 'zeromq';
import { endpoint, type Channel, type ConnectionInfo } from './connection';
import { encodeMessage, type JupyterMessage } from './message';

/** Binds `socket` to `channel` of the connection; a failure (a port taken, say) names the channel and the address. */
export async function bindChannel(socket: zmq.Socket, info: ConnectionInfo, channel: Channel): Promise<void> {
  const address = endpoint(info, channel);
  try {
    await socket.bind(address);
  } catch (err) {
    throw new Error(`cannot open the ${channel} channel at ${address}: ${(err as Error).message}`);
  }
}

export class MessageSender {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: zmq.Writable,
    private readonly key: string,
  ) {}

  /** Queues a message; resolves when it has been handed to ZeroMQ. */
  send(msg: JupyterMessage<unknown>): Promise<void> {
    const frames = encodeMessage(msg, this.key);
    return this.sendFrames(frames);
  }

  sendFrames(frames: Buffer[]): Promise<void> {
    const next = this.chain.then(() => this.socket.send(frames));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Resolves when everything queued so far has been sent. */
  flushed(): Promise<void> {
    return this.chain;
  }
}
