/**
 * The control and heartbeat channels on their own thread, so that they answer while a cell keeps the main thread
 * busy: heartbeats are echoed; interrupt_request is answered here and delivered as SIGINT (which stops synchronous
 * code running with breakOnSigint) plus a message to the main thread (which stops asynchronous waits); other control
 * requests go to the main thread, and shutdown_request also ends the process if the main thread cannot.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as zmq from 'zeromq';
import type { ConnectionInfo } from '../jupyter/connection';
import { decodeMessage, MessageError, newMessage, SignatureHistory } from '../jupyter/message';
import { bindChannel, MessageSender } from '../jupyter/socket';

/** `busy`/`idle`: the execute request the main thread runs now (so that an interrupt names the cell it stops). */
export type ToControlWorker = { type: 'send'; frames: Buffer[] } | { type: 'close' } | { type: 'busy'; cell: string } | { type: 'idle' };
export type FromControlWorker =
  | { type: 'control'; frames: Buffer[] }
  /** Stop `cell` (the msg_id of the execute request running when the interrupt came; null: whatever runs). */
  | { type: 'interrupt'; cell: string | null }
  | { type: 'ready' }
  | { type: 'log'; text: string }
  /** The channels could not be opened (a port taken meanwhile): the kernel cannot start. */
  | { type: 'failed'; text: string };

const { info, session } = workerData as { info: ConnectionInfo; session: string };
const post = (m: FromControlWorker) => parentPort!.postMessage(m);
let busy: string | null = null;

async function heartbeat(socket: zmq.Reply): Promise<void> {
  for await (const frames of socket) await socket.send(frames);
}

async function control(socket: zmq.Router, sender: MessageSender): Promise<void> {
  const signatures = new SignatureHistory();
  for await (const frames of socket) {
    let msg;
    try {
      msg = decodeMessage(frames, info.key, signatures);
    } catch (err) {
      if (err instanceof MessageError) post({ type: 'log', text: `control: rejected a message: ${err.message}` });
      continue;
    }
    if (msg.header.msg_type === 'interrupt_request') {
      await sender.send(newMessage('interrupt_reply', { status: 'ok' }, { session, parent: msg }));
      // A cell that ended meanwhile is not the target: the main thread ignores an interrupt for another cell.
      post({ type: 'interrupt', cell: busy });
      process.kill(process.pid, 'SIGINT');
      continue;
    }
    post({ type: 'control', frames: frames.map((f) => Buffer.from(f)) });
    if (msg.header.msg_type === 'shutdown_request') {
      // The main thread replies and exits; if a synchronous cell keeps it from doing so, end the process anyway.
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5000).unref();
    }
  }
}

async function main(): Promise<void> {
  const hb = new zmq.Reply();
  const router = new zmq.Router();
  try {
    await bindChannel(hb, info, 'hb');
    await bindChannel(router, info, 'control');
  } catch (err) {
    post({ type: 'failed', text: (err as Error).message });
    hb.close();
    router.close();
    return;
  }
  const sender = new MessageSender(router, info.key);
  parentPort!.on('message', (m: ToControlWorker) => {
    if (m.type === 'send') void sender.sendFrames(m.frames.map((f) => Buffer.from(f)));
    else if (m.type === 'busy') busy = m.cell;
    else if (m.type === 'idle') busy = null;
    else {
      hb.close();
      router.close();
      setImmediate(() => process.exit(0)); // ends this thread only; zeromq would keep it alive
    }
  });
  post({ type: 'ready' });
  await Promise.all([heartbeat(hb), control(router, sender)]);
}

main().catch((err: Error) => post({ type: 'log', text: `control worker failed: ${err.stack ?? err.message}` }));
