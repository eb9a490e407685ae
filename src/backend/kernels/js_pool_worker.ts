/**
 * A {@link JsPool} helper thread: waits on its control block, runs its range of a task on the shared wasm heap, and
 * reports done. Messages arrive on a port: the heap's SharedArrayBuffer (again after the heap grows), its
 * WebAssembly.Memory and the compiled SIMD programs; they are read synchronously after each wake-up, since this
 * thread never returns to its event loop.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { CTRL, IO, controlViews } from './js_pool_layout';
import { adoptProgram, runTask, useHeapMemory, type TaskId } from './js_pool_tasks';
import type { HeapMemory } from './wasm_asm';

const { control, port } = workerData as { control: SharedArrayBuffer; port: MessagePort };
const { ctrl, io, vecIn, vecOut } = controlViews(control);
let heap: SharedArrayBuffer | undefined;
let seen = 0;

for (;;) {
  Atomics.wait(ctrl, CTRL.request, seen);
  const request = Atomics.load(ctrl, CTRL.request);
  if (request < 0) break;
  seen = request;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const message = m.message as SharedArrayBuffer | { memory: HeapMemory } | { program: { id: number; module: object } };
    if (message instanceof SharedArrayBuffer) heap = message;
    else if ('memory' in message) useHeapMemory(message.memory);
    else adoptProgram(message.program.id, message.program.module);
  }
  try {
    const count = io[IO.arrays]!;
    // Tasks without arrays (the SIMD kernels) work on the heap memory through their own pointers.
    if (count > 0 && heap === undefined) throw new Error('no heap was sent');
    const start = io[IO.start]!;
    const length = io[IO.end]! - start;
    const arrays = Array.from({ length: count }, (_, k) => new Float32Array(heap!, io[IO.offsets + k]! + start * 4, length));
    const [s0, s1] = runTask(io[IO.task] as TaskId, arrays, io.subarray(IO.params), vecIn, vecOut);
    io[IO.sums] = s0;
    io[IO.sums + 1] = s1;
    Atomics.store(ctrl, CTRL.failed, 0);
  } catch (err) {
    port.postMessage(err instanceof Error ? (err.stack ?? err.message) : String(err));
    Atomics.store(ctrl, CTRL.failed, 1);
  }
  Atomics.store(ctrl, CTRL.done, request);
  Atomics.notify(ctrl, CTRL.done);
}
