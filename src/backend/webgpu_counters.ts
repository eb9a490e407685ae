/**
 * Host-side counters of the tfjs WebGPU backend: programs dispatched, GPU buffers created, queue submits, writeBuffer
 * calls and bytes, bytes uploaded from tensors' CPU values. These do not depend on the adapter (lavapipe counts what
 * an H100 would), so they are the figure of merit for the host cost of a step.
 */
import * as tf from '@tensorflow/tfjs';

/** What the counters see of tfjs-backend-webgpu's WebGPUBackend (tfjs 4.22); checked when counting starts. */
export interface WebGpuBackendInternals {
  device: GPUDeviceLike;
  queue: GPUQueueLike;
  tensorMap: { get(dataId: object): { values: ArrayLike<number> | null; resource: unknown; dtype: string; shape: number[] } | undefined };
  runWebGPUProgram(...args: unknown[]): unknown;
  uploadToGPU(dataId: object): void;
  submitQueue(): void;
  makeUniforms(uniforms: { type: string; data: ArrayLike<number> }[]): { offset: number; size: number; buffer: unknown };
  recordAndSubmit(...args: unknown[]): void;
  bufferManager: {
    acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBufferLike;
    releaseBuffer(buffer: GPUBufferLike, reuse?: boolean): void;
  };
  uniformPendingDisposal: GPUBufferLike[];
  commandEncoder: unknown;
  dispatchCountInPass: number;
}

export interface GPUBufferLike {
  size: number;
  usage: number;
  mapState?: string;
  destroy(): void;
}

export interface GPUQueueLike {
  submit(buffers: unknown[]): void;
  writeBuffer(buffer: GPUBufferLike, offset: number, data: ArrayBufferView | ArrayBuffer, dataOffset?: number, size?: number): void;
  onSubmittedWorkDone(): Promise<void>;
}

export interface GPUDeviceLike {
  createBuffer(descriptor: { size: number; usage: number; mappedAtCreation?: boolean }): GPUBufferLike;
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipeline(descriptor: unknown): { getBindGroupLayout(i: number): unknown };
  createBindGroup(descriptor: unknown): unknown;
  createCommandEncoder(): {
    beginComputePass(d?: unknown): {
      setPipeline(p: unknown): void;
      setBindGroup(i: number, g: unknown): void;
      dispatchWorkgroups(x: number, y?: number, z?: number): void;
      end(): void;
    };
    finish(): unknown;
  };
  queue: GPUQueueLike;
  limits: { minUniformBufferOffsetAlignment: number; maxUniformBufferBindingSize: number };
}

/** The running WebGPU backend's internals; throws when the backend is not webgpu or its shape is not the known one. */
export function webgpuInternals(): WebGpuBackendInternals {
  if (tf.getBackend() !== 'webgpu') throw new Error(`the WebGPU counters need the webgpu backend (the backend is ${tf.getBackend()})`);
  const b = tf.backend() as unknown as Partial<WebGpuBackendInternals>;
  for (const key of ['device', 'queue', 'tensorMap', 'bufferManager'] as const) {
    if (b[key] === undefined) throw new Error(`tfjs-backend-webgpu has no ${key}: this version is not the one mixprec patches (4.22)`);
  }
  for (const key of ['runWebGPUProgram', 'uploadToGPU', 'submitQueue', 'makeUniforms', 'recordAndSubmit'] as const) {
    if (typeof b[key] !== 'function') throw new Error(`tfjs-backend-webgpu has no ${key}(): this version is not the one mixprec patches (4.22)`);
  }
  return b as WebGpuBackendInternals;
}

/** Counts of host work, from {@link countWebGpuWork}. */
export interface WebGpuCounts {
  /** GPU programs recorded (compute dispatches). */
  dispatches: number;
  /** GPUDevice.createBuffer calls. */
  buffersCreated: number;
  /** GPUDevice.createBindGroup calls. */
  bindGroupsCreated: number;
  /** GPUQueue.submit calls. */
  submits: number;
  /** GPUQueue.writeBuffer calls, and their bytes. */
  writeBuffers: number;
  writeBufferBytes: number;
  /** Tensors whose CPU values were uploaded, and their bytes. */
  uploads: number;
  uploadBytes: number;
}

/**
 * Runs `work` with the backend's device, queue and program entry wrapped, and returns what it did. The wrappers are
 * removed afterwards, also when work throws.
 */
export async function countWebGpuWork<T>(work: () => Promise<T>): Promise<{ value: T; counts: WebGpuCounts }> {
  const b = webgpuInternals();
  const counts: WebGpuCounts = {
    dispatches: 0,
    buffersCreated: 0,
    bindGroupsCreated: 0,
    submits: 0,
    writeBuffers: 0,
    writeBufferBytes: 0,
    uploads: 0,
    uploadBytes: 0,
  };
  const device = b.device;
  const queue = b.queue;
  const restore: (() => void)[] = [];
  const wrap = <O extends object, K extends keyof O>(owner: O, key: K, make: (original: O[K]) => O[K]) => {
    const own = Object.prototype.hasOwnProperty.call(owner, key);
    const original = owner[key];
    Object.defineProperty(owner, key, { value: make(original), configurable: true, writable: true });
    restore.push(() => {
      if (own) Object.defineProperty(owner, key, { value: original, configurable: true, writable: true });
      else delete owner[key];
    });
  };
  wrap(
    device,
    'createBuffer',
    (f) =>
      function (this: GPUDeviceLike, d: Parameters<GPUDeviceLike['createBuffer']>[0]) {
        counts.buffersCreated++;
        return f.call(this, d);
      },
  );
  wrap(
    device,
    'createBindGroup',
    (f) =>
      function (this: GPUDeviceLike, d: unknown) {
        counts.bindGroupsCreated++;
        return f.call(this, d);
      },
  );
  wrap(
    queue,
    'submit',
    (f) =>
      function (this: GPUQueueLike, buffers: unknown[]) {
        counts.submits++;
        return f.call(this, buffers);
      },
  );
  wrap(
    queue,
    'writeBuffer',
    (f) =>
      function (this: GPUQueueLike, ...args: Parameters<GPUQueueLike['writeBuffer']>) {
        counts.writeBuffers++;
        const [, , data, , size] = args;
        // A typed array's size counts elements, an ArrayBuffer's bytes.
        const perElement = (data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
        counts.writeBufferBytes += size !== undefined ? size * perElement : (data as ArrayBufferView).byteLength;
        return f.apply(this, args);
      },
  );
  wrap(
    b,
    'recordAndSubmit',
    (f) =>
      function (this: WebGpuBackendInternals, ...args: unknown[]) {
        counts.dispatches++;
        return f.apply(this, args);
      },
  );
  wrap(
    b,
    'uploadToGPU',
    (f) =>
      function (this: WebGpuBackendInternals, dataId: object) {
        const data = this.tensorMap.get(dataId);
        if (data !== undefined && data.resource == null && data.values != null) {
          counts.uploads++;
          counts.uploadBytes += 4 * data.values.length;
        }
        return f.call(this, dataId);
      },
  );
  try {
    const value = await work();
    return { value, counts };
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}
