/**
 * More cores for mixprec's JavaScript kernels on the threaded wasm backend. XNNPACK's convolutions use every thread,
 * but the fused quantizer loops ran on the main thread alone while the other cores idled (a third of a ResNet-20 QAT
 * step). The threaded build's heap is a SharedArrayBuffer, so helper threads can run ranges of the same loop on the
 * same tensors: the main thread posts a range to each helper's control block (Atomics.notify), runs the first range
 * itself, and waits for theirs (Atomics.wait: kernels are synchronous). Elementwise results are the same bits as one
 * thread's; float64 partial sums are added in range order, so results depend on the thread count only through that
 * order, and a given count is deterministic.
 *
 * Without a shared heap (cpu backend, single-threaded wasm) or for small tensors, tasks run inline.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../../util/worker';
import { CONTROL_BYTES, CTRL, IO, MAX_ARRAYS, MAX_PARAMS, controlViews } from './js_pool_layout';
import { runTask, type TaskId } from './js_pool_tasks';

/** Below this many elements a task runs inline (a helper's wake-up costs tens of microseconds). */
const MIN_SPLIT = 1 << 16;
/** How long the main thread waits for a helper before calling it lost. */
const HELPER_TIMEOUT_MS = 60_000;

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  io: Float64Array;
  heap: SharedArrayBuffer | undefined;
  seq: number;
}

export class JsPool {
  private readonly helpers: Helper[] = [];
  /** Tasks run split among threads so far (the rest ran inline). */
  splitRuns = 0;

  /** `threads` in all, this one included (1: everything inline). */
  constructor(readonly threads: number) {
    for (let k = 1; k < threads; k++) {
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const { port1, port2 } = new MessageChannel();
      const worker = startWorker(__filename, 'js_pool_worker', { workerData: { control, port: port2 }, transferList: [port2] });
      worker.unref();
      port1.unref();
      this.helpers.push({ worker, port: port1, ...controlViews(control), heap: undefined, seq: 0 });
    }
  }

  /**
   * Runs `task` over arrays of equal length (views of one shared heap), split into a range per thread, and returns
   * the sums of its two partial sums.
   */
  run(task: TaskId, arrays: Float32Array[], params: readonly number[]): [number, number] {
    const n = arrays[0]!.length;
    const heap = arrays[0]!.buffer;
    if (
      this.helpers.length === 0 ||
      n < MIN_SPLIT ||
      !(heap instanceof SharedArrayBuffer) ||
      arrays.some((a) => a.buffer !== heap || a.length !== n)
    ) {
      return runTask(task, arrays, params);
    }
    if (arrays.length > MAX_ARRAYS || params.length > MAX_PARAMS) throw new Error(`mixprec: JavaScript kernel task ${task} has too many arguments`);
    this.splitRuns++;
    const parts = this.helpers.length + 1;
    // Ranges of whole cache lines (16 floats), the first one the main thread's.
    const chunk = Math.ceil(n / parts / 16) * 16;
    const used: Helper[] = [];
    this.helpers.forEach((h, k) => {
      const start = chunk * (k + 1);
      if (start >= n) return;
      if (h.heap !== heap) {
        h.port.postMessage(heap);
        h.heap = heap;
      }
      h.io[IO.task] = task;
      h.io[IO.start] = start;
      h.io[IO.end] = Math.min(n, start + chunk);
      h.io[IO.arrays] = arrays.length;
      arrays.forEach((a, i) => (h.io[IO.offsets + i] = a.byteOffset));
      params.forEach((p, i) => (h.io[IO.params + i] = p));
      h.seq = (h.seq + 1) % 0x7fffffff;
      Atomics.store(h.ctrl, CTRL.request, h.seq);
      Atomics.notify(h.ctrl, CTRL.request);
      used.push(h);
    });
    let [s0, s1] = runTask(
      task,
      arrays.map((a) => a.subarray(0, Math.min(n, chunk))),
      params,
    );
    const failures: string[] = [];
    for (const h of used) {
      const deadline = performance.now() + HELPER_TIMEOUT_MS;
      while (Atomics.load(h.ctrl, CTRL.done) !== h.seq) {
        const left = deadline - performance.now();
        if (left <= 0)
          throw new Error(`mixprec: a JavaScript kernel helper thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s (task ${task})`);
        Atomics.wait(h.ctrl, CTRL.done, Atomics.load(h.ctrl, CTRL.done), left);
      }
      if (Atomics.load(h.ctrl, CTRL.failed) === 1) failures.push(String(receiveMessageOnPort(h.port)?.message ?? 'no message'));
      s0 += h.io[IO.sums]!;
      s1 += h.io[IO.sums + 1]!;
    }
    if (failures.length > 0) throw new Error(`mixprec: a JavaScript kernel helper thread failed (task ${task}): ${failures[0]}`);
    return [s0, s1];
  }

  /** Stops the helpers. */
  async close(): Promise<void> {
    for (const h of this.helpers) {
      Atomics.store(h.ctrl, CTRL.request, -1);
      Atomics.notify(h.ctrl, CTRL.request);
    }
    await Promise.all(this.helpers.map((h) => h.worker.terminate()));
    this.helpers.length = 0;
  }
}

let shared: JsPool | undefined;

/** The process's pool, started on first use with `threads` threads in all. */
export function jsPool(threads: number): JsPool {
  if (shared === undefined || shared.threads !== threads) {
    void shared?.close();
    shared = new JsPool(threads);
  }
  return shared;
}
