/**
 * The prefetch worker of a loader: opens the split itself and assembles the batches the loader asks for, one at a
 * time in request order, handing the buffers over (transferred, not copied). Runs the same BatchAssembler as the
 * in-thread path, so both produce identical batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openImageDataset } from './arrow_reader';
import { BatchAssembler, type BatchRequest } from './batches';
import { serializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker_protocol';

const port = parentPort;
if (port === null) throw new Error('loader_worker runs as a worker thread of a loader');
const init = workerData as WorkerInit;
const assembler = openImageDataset(init.file).then((dataset) => new BatchAssembler(dataset, init.config));
assembler.catch(() => undefined); // reported to each request below

const queue: { id: number; request: BatchRequest }[] = [];
let running = false;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  while (queue.length > 0) {
    const { id, request } = queue.shift()!;
    try {
      const { x, y, size } = await (await assembler).batch(request);
      post({ type: 'batch', id, x, y, size }, [x.buffer as ArrayBuffer, y.buffer as ArrayBuffer]);
    } catch (err) {
      post({ type: 'error', id, error: serializeError(err) });
    }
  }
  running = false;
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'batch') {
    queue.push({ id: message.id, request: message.request });
    void drain();
  } else if (message.type === 'cancel') {
    const at = queue.findIndex((item) => item.id === message.id);
    if (at >= 0) queue.splice(at, 1);
  }
});
