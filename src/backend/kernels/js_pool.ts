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
import type { ChannelPasses } from './batch_norm_math';
import { CONTROL_BYTES, CTRL, IO, MAX_ARRAYS, MAX_CHANNELS, MAX_PARAMS, controlViews, type ControlViews } from './js_pool_layout';
import { TASK, runTask, useHeapMemory, type TaskId } from './js_pool_tasks';
import type { HeapMemory } from './wasm_asm';

/** Below this many elements a task runs inline (a helper's wake-up costs tens of microseconds). */
export const MIN_SPLIT = 1 << 16;
/** How long the main thread waits for a helper before calling it lost. */
const HELPER_TIMEOUT_MS = 60_000;

interface Helper extends ControlViews {
  worker: Worker;
  port: MessagePort;
  heap: SharedArrayBuffer | undefined;
  /** The WebAssembly memory last sent (SIMD kernels instantiate on it). */
  memory: HeapMemory | undefined;
  /** Ids of the generated SIMD programs sent. */
  programs: Set<number>;
  seq: number;
}

/** Per-channel vectors of a batch-norm task: inputs handed to every range, and partial sums given back. */
interface ChannelVectors {
  c: number;
  vecIn: Float64Array;
  /** Length of the partial sums (0: none); the ranges' sums are added in range order into the result. */
  outLength: number;
}

export class JsPool {
  private readonly helpers: Helper[] = [];
  private passes: ChannelPasses | undefined;
  /** Tasks run split among threads so far (the rest ran inline). */
  splitRuns = 0;

  /**
   * `threads` in all, this one included (1: everything inline); `timeoutMs`: how long to wait for a helper's answer
   * before calling it lost.
   */
  constructor(
    readonly threads: number,
    private readonly timeoutMs = HELPER_TIMEOUT_MS,
  ) {
    for (let k = 1; k < threads; k++) {
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const { port1, port2 } = new MessageChannel();
      const worker = startWorker(__filename, 'js_pool_worker', { workerData: { control, port: port2 }, transferList: [port2] });
      worker.unref();
      port1.unref();
      this.helpers.push({ worker, port: port1, ...controlViews(control), heap: undefined, memory: undefined, programs: new Set(), seq: 0 });
    }
  }

  /**
   * Runs `task` over arrays of equal length (views of one shared heap), split into a range per thread, and returns
   * the sums of its two partial sums.
   */
  run(task: TaskId, arrays: Float32Array[], params: readonly number[]): [number, number] {
    return this.split(task, arrays, params, 16, undefined).sums;
  }

  /** A batch-norm task over whole rows of `vectors.c` channels; returns its per-channel sums (added over the ranges). */
  runChannels(task: TaskId, arrays: Float32Array[], vectors: ChannelVectors): Float64Array {
    return this.split(task, arrays, [vectors.c], vectors.c, vectors).vec;
  }

  /** Batch norm's passes on this pool (rows split among the threads); built once, since kernels ask on every call. */
  channelPasses(): ChannelPasses {
    return (this.passes ??= this.makeChannelPasses());
  }

  private makeChannelPasses(): ChannelPasses {
    const sums = (task: TaskId, arrays: Float32Array[], c: number, vecIn: Float64Array, outLength: number) =>
      this.runChannels(task, arrays, { c, vecIn, outLength });
    return {
      sums: (x, c) => sums(TASK.channelSums, [x], c, new Float64Array(0), c),
      squaredDeviations: (x, c, mean) => sums(TASK.squaredDeviations, [x], c, mean, c),
      gradSums: (dy, x, c, mean) => sums(TASK.gradSums, [dy, x], c, mean, 2 * c),
      affine: (u, v, a, b, c0, out) => {
        const c = a.length;
        const vecIn = new Float64Array(3 * c);
        vecIn.set(a, 0);
        vecIn.set(b, c);
        vecIn.set(c0, 2 * c);
        sums(TASK.affine, v === null ? [u, out] : [u, v, out], c, vecIn, 0);
      },
    };
  }

  private split(
    task: TaskId,
    arrays: Float32Array[],
    params: readonly number[],
    align: number,
    vectors: ChannelVectors | undefined,
  ): { sums: [number, number]; vec: Float64Array } {
    const n = arrays[0]!.length;
    const heap = arrays[0]!.buffer;
    const vec = new Float64Array(vectors?.outLength ?? 0);
    const inline =
      this.helpers.length === 0 ||
      n < MIN_SPLIT ||
      !(heap instanceof SharedArrayBuffer) ||
      arrays.some((a) => a.buffer !== heap || a.length !== n) ||
      (vectors !== undefined && vectors.c > MAX_CHANNELS);
    if (inline) return { sums: runTask(task, arrays, params, vectors?.vecIn, vec), vec };
    if (arrays.length > MAX_ARRAYS) throw new Error(`mixprec: JavaScript kernel task ${task} has too many arguments`);
    this.splitRuns++;
    const parts = this.helpers.length + 1;
    // Ranges of whole rows (batch norm) or cache lines (16 floats), the first one the main thread's.
    const chunk = Math.ceil(n / parts / align) * align;
    const used: Helper[] = [];
    this.helpers.forEach((h, k) => {
      const start = chunk * (k + 1);
      if (start >= n) return;
      this.sendHeap(h, heap);
      h.io[IO.start] = start;
      h.io[IO.end] = Math.min(n, start + chunk);
      h.io[IO.arrays] = arrays.length;
      arrays.forEach((a, i) => (h.io[IO.offsets + i] = a.byteOffset));
      if (vectors !== undefined) h.vecIn.set(vectors.vecIn);
      this.request(h, task, params);
      used.push(h);
    });
    const own = Math.min(n, chunk);
    let [s0, s1] = runTask(
      task,
      arrays.map((a) => a.subarray(0, own)),
      params,
      vectors?.vecIn,
      vec,
    );
    this.collect(used, task, (h) => {
      s0 += h.io[IO.sums]!;
      s1 += h.io[IO.sums + 1]!;
      for (let k = 0; k < vec.length; k++) vec[k]! += h.vecOut[k]!;
    });
    return { sums: [s0, s1], vec };
  }

  /**
   * Runs a task that works on the heap through its own pointers (a SIMD kernel) once per part: part k covers units
   * [start, end) of [0, n) and gets `paramsFor(k, start, end)`. Part 0 runs here; at most `threads` parts.
   * Returns how many parts there were.
   */
  runParts(
    task: TaskId,
    memory: HeapMemory,
    n: number,
    paramsFor: (part: number, start: number, end: number) => number[],
    program?: { id: number; module: object },
    minPerPart = 1,
  ): number {
    const parts = this.partsFor(memory, n, minPerPart);
    const chunk = Math.ceil(n / parts);
    useHeapMemory(memory);
    const used: Helper[] = [];
    for (let k = 1; k < parts; k++) {
      const h = this.helpers[k - 1]!;
      if (h.memory !== memory) {
        h.port.postMessage({ memory });
        h.memory = memory;
      }
      if (program !== undefined && !h.programs.has(program.id)) {
        h.port.postMessage({ program });
        h.programs.add(program.id);
      }
      h.io[IO.arrays] = 0;
      this.request(h, task, paramsFor(k, chunk * k, Math.min(n, chunk * (k + 1))));
      used.push(h);
    }
    if (parts > 1) this.splitRuns++;
    runTask(task, [], paramsFor(0, 0, Math.min(n, chunk)));
    this.collect(used, task, () => undefined);
    return parts;
  }

  /**
   * How many parts {@link runParts} makes of n units on `memory`: one where the heap is not shared, else up to one per
   * thread with at least `minPerPart` units each (a helper's wake-up costs tens of microseconds).
   */
  partsFor(memory: HeapMemory, n: number, minPerPart = 1): number {
    return memory.buffer instanceof SharedArrayBuffer ? Math.max(1, Math.min(this.threads, Math.floor(n / minPerPart))) : 1;
  }

  private sendHeap(h: Helper, heap: SharedArrayBuffer): void {
    if (h.heap !== heap) {
      h.port.postMessage(heap);
      h.heap = heap;
    }
  }

  private request(h: Helper, task: TaskId, params: readonly number[]): void {
    if (params.length > MAX_PARAMS) throw new Error(`mixprec: JavaScript kernel task ${task} has too many parameters`);
    h.io[IO.task] = task;
    params.forEach((p, i) => (h.io[IO.params + i] = p));
    h.seq = (h.seq + 1) % 0x7fffffff;
    Atomics.store(h.ctrl, CTRL.request, h.seq);
    Atomics.notify(h.ctrl, CTRL.request);
  }

  /** Waits for each helper's answer and hands the ones that succeeded to `take`; then throws the first failure. */
  private collect(used: Helper[], task: TaskId, take: (h: Helper) => void): void {
    const failures: string[] = [];
    for (const h of used) {
      const deadline = performance.now() + this.timeoutMs;
      // Wait on the value just compared: reading `done` a second time for the wait could see the helper's answer,
      // whose notify has then already gone, and sleep until the deadline.
      for (let done = Atomics.load(h.ctrl, CTRL.done); done !== h.seq; done = Atomics.load(h.ctrl, CTRL.done)) {
        const left = deadline - performance.now();
        if (left <= 0 || Atomics.wait(h.ctrl, CTRL.done, done, left) === 'timed-out')
          throw new Error(`mixprec: a JavaScript kernel helper thread did not answer within ${this.timeoutMs / 1000} s (task ${task})`);
      }
      if (Atomics.load(h.ctrl, CTRL.failed) === 1) {
        failures.push(String(receiveMessageOnPort(h.port)?.message ?? 'no message'));
        continue;
      }
      take(h);
    }
    if (failures.length > 0) throw new Error(`mixprec: a JavaScript kernel helper thread failed (task ${task}): ${failures[0]}`);
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
