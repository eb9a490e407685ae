/**
 * Host-cost patches of tfjs-backend-webgpu (4.22), installed on its WebGPUBackend prototype when mixprec starts the
 * webgpu backend (backend hooks; node_modules stays as published). What each removes, per steady-state step:
 *
 * - uploads: tfjs writes a tensor's CPU values through a staging buffer it creates and destroys each time (the pool's
 *   buffers are unmapped, so `mappedAtCreation` only helps a new one): one `createBuffer` per upload, 1,677 in a U3
 *   ResNet-20 step. Here the destination comes from the pool and the values go through `queue.writeBuffer` (Dawn
 *   stages them in its own ring).
 * - constants: a step uploads ~1,700 scalars (`tf.mul(x, 0.9)` makes a tensor of 0.9 each time). A one-element
 *   tensor's value is looked up in a cache of small GPU buffers holding that value (by dtype and bits; at most
 *   {@link CONSTANT_CACHE_SIZE}, those no tensor holds evicted first) and shares it; tfjs treats the buffer as
 *   external, so that disposing a tensor does not return it to the pool. No kernel writes into an input.
 * - uniforms: one small uniform buffer and one `writeBuffer` per dispatch. Here a dispatch's uniforms (the same layout
 *   tfjs computes) are looked up by content in slots of persistent uniform buffers ({@link UNIFORM_SLOTS} of 256 bytes,
 *   the least recently used that no unsubmitted command reads replaced first) and written only when new; a step has a
 *   few hundred distinct ones (shapes and strides). Uniforms that do not fit a slot, or arrive when every slot is read
 *   by the unsubmitted commands, go into one slab per submit written when the commands are submitted.
 * - bind groups: tfjs creates one per dispatch (≈20 µs on lavapipe, the largest native cost of a small op). Here they
 *   are kept by pipeline and resources ({@link BIND_GROUP_CACHE_SIZE}, least recently used dropped). For a step to
 *   find them, it must get the same buffers as the step before: tfjs's pool hands out the last one freed, which
 *   scrambles the assignment from step to step (the variables' buffers rotate); here it hands out the oldest free
 *   buffer of the size, so that the assignment settles into a cycle (ResNet-20: 997 bind groups created per step
 *   → 64 after 16 steps, still falling).
 * - submits: tfjs submits every 15 dispatches. Here it submits when a result is read (as before), or when the
 *   buffers waiting for the submit to be released pass {@link PENDING_BYTES_LIMIT}, or every
 *   {@link MAX_DISPATCHES_PER_SUBMIT} dispatches, whichever comes first; memory stays bounded and submits are few.
 *
 * Ordering: `queue.writeBuffer` runs before the commands of the encoder not yet submitted. That is safe for both
 * patches: an upload's destination comes from the free pool, and tfjs returns a buffer there only after the submit
 * of the commands that used it; a uniform slab is written before the submit whose commands read it, and goes back to
 * the pool after that submit.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPUBufferLike, WebGpuBackendInternals } from './webgpu_counters';

/** Bytes of released tensors a command batch may hold back before it is submitted. */
export const PENDING_BYTES_LIMIT = 256 * 2 ** 20;
/** Dispatches in one command batch at most. */
export const MAX_DISPATCHES_PER_SUBMIT = 128;
/** One-element constants kept on the GPU. */
export const CONSTANT_CACHE_SIZE = 512;
/** Bytes of one uniform slab (a batch that needs more starts another). */
const SLAB_BYTES = 256 * 1024;
/** Uniform slots kept by content, 256 bytes each. */
export const UNIFORM_SLOTS = 4096;
const SLOT_BYTES = 256;
const SLOTS_PER_BUFFER = 256;
/** Bind groups kept by pipeline and resources. */
export const BIND_GROUP_CACHE_SIZE = 8192;

const GPU_BUFFER_USAGE = { COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80, COPY_SRC: 0x4 } as const;

interface UniformField {
  type: string;
  data: ArrayLike<number>;
}

/** The uniform layout of tfjs's makeUniforms (WGSL alignment rules); returns the packed bytes. */
export function packUniforms(fields: UniformField[]): ArrayBuffer {
  let offset = 0;
  let previousLength = 0;
  let maxAlignment = 1;
  const offsets: number[] = [];
  for (const d of fields) {
    if (d.data.length === 0) d.data = [1];
    const n = d.data.length;
    if (n < 1 || n > 6) throw new Error(`Unsupported ${n}D shape`);
    let alignment = n === 1 ? 4 : n === 2 ? 8 : 16;
    if (previousLength === 5 || previousLength === 6) alignment = 16;
    maxAlignment = Math.max(maxAlignment, alignment);
    offset = Math.ceil(offset / alignment) * alignment;
    previousLength = n;
    offsets.push(offset);
    offset += n * 4;
  }
  offset = Math.ceil(offset / maxAlignment) * maxAlignment;
  const bytes = new ArrayBuffer(offset);
  fields.forEach((d, i) => {
    const View = d.type === 'int32' ? Int32Array : d.type === 'uint32' ? Uint32Array : Float32Array;
    new View(bytes, offsets[i], d.data.length).set(d.data);
  });
  return bytes;
}

interface UniformSlot {
  buffer: GPUBufferLike;
  offset: number;
  /** The submit batch that last read it. */
  batch: number;
}

interface HostState {
  slab: { buffer: GPUBufferLike; mirror: Uint8Array; used: number } | null;
  /** Slabs filled in this batch, to write at submit. */
  full: { buffer: GPUBufferLike; mirror: Uint8Array; used: number }[];
  alignment: number;
  /** Submits so far: the batch the unsubmitted commands belong to. */
  batch: number;
  /** Uniform slots by content (least recently used first), and the buffers that hold them. */
  slots: Map<string, UniformSlot>;
  slotBuffers: GPUBufferLike[];
  bindGroups: Map<string, unknown>;
}

/** A bound resource as tfjs's tensorToBinding and makeUniforms return it. */
interface Binding {
  buffer?: GPUBufferLike;
  offset?: number;
  size?: number;
}

interface Program {
  pipeline: { getBindGroupLayout(i: number): unknown } | Promise<unknown>;
  pixelsOpType?: number | null;
  size?: boolean;
  outputShape: number[];
  outputComponent?: number;
  dispatch: [number, number, number];
}

interface TensorInfoLike {
  dataId: object;
  shape: number[];
}

interface ComputePassLike {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

interface ConstantBuffer {
  buffer: GPUBufferLike;
  /** Tensors that hold it now. */
  holders: number;
}

type Backend = WebGpuBackendInternals & {
  releaseResource(dataId: object): void;
  mixprecConstants?: Map<string, ConstantBuffer>;
  tensorDataPendingDisposal: object[];
  endComputePassEncoder(): void;
  ensureCommandEncoderReady(): void;
  tensorToBinding(t: TensorInfoLike): Binding | null;
  commandQueueOwnedIds: WeakSet<object>;
  computePassEncoder: ComputePassLike | null;
  commandEncoder: { beginComputePass(d: object): ComputePassLike } | null;
  activeTimers: unknown[] | null;
  mixprecHost?: HostState;
};

/** tfjs-backend-webgpu's PixelsOpType.DRAW: such a program is submitted at once. */
const PIXELS_OP_DRAW = 1;

let installed = false;
let enabled = false;
const TFJS_SUBMIT_BATCH = 15;

/** Whether the patches are on (MIXPREC_WEBGPU_HOST_PATCHES=0 leaves tfjs-backend-webgpu as it is, for comparison). */
export function webgpuHostPatchesWanted(): boolean {
  return process.env.MIXPREC_WEBGPU_HOST_PATCHES !== '0';
}

/** Installs the patches on tfjs-backend-webgpu's WebGPUBackend prototype (once). */
export function installWebGpuHostPatches(WebGPUBackend: { prototype: object }): void {
  if (installed) return;
  const proto = WebGPUBackend.prototype as Backend;
  for (const key of ['uploadToGPU', 'makeUniforms', 'submitQueue', 'recordAndSubmit', 'endComputePassEncoder'] as const) {
    if (typeof proto[key] !== 'function')
      throw new Error(`tfjs-backend-webgpu's WebGPUBackend has no ${key}(): not the version mixprec patches (4.22)`);
  }
  installed = true;
  enabled = true;
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', MAX_DISPATCHES_PER_SUBMIT);
  const originals = { uploadToGPU: proto.uploadToGPU, makeUniforms: proto.makeUniforms, releaseResource: proto.releaseResource };
  /** The tensors (by tensorMap entry) that share a cached constant. */
  const sharing = new WeakMap<object, ConstantBuffer>();

  const state = (b: Backend): HostState => b.mixprecHost ?? start(b);
  const start = (b: Backend): HostState => {
    orderFreeBuffers(b.bufferManager as unknown as BufferManager, idOf);
    return (b.mixprecHost = {
      slab: null,
      full: [],
      alignment: Math.max(SLOT_BYTES, b.device.limits.minUniformBufferOffsetAlignment),
      batch: 0,
      slots: new Map(),
      slotBuffers: [],
      bindGroups: new Map(),
    });
  };
  const ids = new WeakMap<object, number>();
  let nextId = 0;
  const idOf = (o: object): number => {
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = nextId++));
    return id;
  };
  const layouts = new WeakMap<object, unknown>();

  proto.uploadToGPU = function (this: Backend, dataId: object) {
    if (!enabled) return originals.uploadToGPU.call(this, dataId);
    const data = this.tensorMap.get(dataId)!;
    if (data.resource != null) return;
    const size = 4 * data.shape.reduce((a, b) => a * b, 1);
    const usage = GPU_BUFFER_USAGE.STORAGE | GPU_BUFFER_USAGE.COPY_SRC | GPU_BUFFER_USAGE.COPY_DST;
    if (size === 4 && data.values != null) {
      const constant = cachedConstant(this, data.dtype, data.values);
      constant.holders++;
      sharing.set(data, constant);
      (data as { values: unknown }).values = null;
      (data as { resource: unknown }).resource = constant.buffer;
      (data as { external?: boolean }).external = true;
      return;
    }
    const buffer = this.bufferManager.acquireBuffer(size, usage);
    if (data.values != null && size > 0) {
      const View = data.dtype === 'int32' || data.dtype === 'bool' ? Int32Array : Float32Array;
      const values = data.values instanceof View ? data.values : View.from(data.values as ArrayLike<number>);
      // A typed array's offset and size count elements.
      this.queue.writeBuffer(buffer, 0, values as ArrayBufferView, 0, size / 4);
    }
    // Once uploaded, the values are not kept on the CPU (as tfjs does).
    (data as { values: unknown }).values = null;
    (data as { resource: unknown }).resource = buffer;
  };

  proto.releaseResource = function (this: Backend, dataId: object) {
    const data = this.tensorMap.get(dataId);
    const constant = data === undefined ? undefined : sharing.get(data);
    if (data !== undefined && constant !== undefined) {
      constant.holders--;
      sharing.delete(data);
    }
    originals.releaseResource.call(this, dataId);
  };

  proto.makeUniforms = function (this: Backend, fields: UniformField[]) {
    if (!enabled) return originals.makeUniforms.call(this, fields);
    const s = state(this);
    const bytes = packUniforms(fields);
    const size = bytes.byteLength;
    const slot = size <= SLOT_BYTES && s.alignment === SLOT_BYTES ? uniformSlot(this, s, bytes) : null;
    if (slot !== null) return { offset: slot.offset, size, buffer: slot.buffer };
    const start = s.slab === null ? 0 : Math.ceil(s.slab.used / s.alignment) * s.alignment;
    if (s.slab === null || start + size > SLAB_BYTES) {
      if (s.slab !== null) s.full.push(s.slab);
      const buffer = this.bufferManager.acquireBuffer(SLAB_BYTES, GPU_BUFFER_USAGE.COPY_DST | GPU_BUFFER_USAGE.UNIFORM);
      s.slab = { buffer, mirror: new Uint8Array(SLAB_BYTES), used: 0 };
      return placeUniforms(s.slab, 0, bytes);
    }
    return placeUniforms(s.slab, start, bytes);
  };

  const submitQueue = proto.submitQueue;
  proto.submitQueue = function (this: Backend) {
    const s = this.mixprecHost;
    if (s !== undefined) {
      if (s.slab !== null) s.full.push(s.slab);
      for (const slab of s.full) {
        this.queue.writeBuffer(slab.buffer, 0, slab.mirror, 0, Math.ceil(slab.used / 4) * 4);
        // Back to the pool after this submit, with tfjs's own uniform buffers.
        this.uniformPendingDisposal.push(slab.buffer);
      }
      s.full = [];
      s.slab = null;
      s.batch++;
    }
    submitQueue.call(this);
  };

  const recordAndSubmit = proto.recordAndSubmit;
  proto.recordAndSubmit = function (this: Backend, ...args: unknown[]) {
    const [program, output, inputs, programDefinedUniform] = args as [Program, TensorInfoLike, TensorInfoLike[], UniformField[] | undefined];
    if (!enabled || program.pipeline instanceof Promise || this.activeTimers != null) return recordAndSubmit.apply(this, args);
    // tfjs's recordAndSubmit (4.22), with the bind group taken from the cache.
    const fields: UniformField[] = [];
    if (program.pixelsOpType == null) {
      fields.push({ type: 'float32', data: [NaN] }, { type: 'float32', data: [Infinity] });
      for (const t of inputs) fields.push({ type: 'int32', data: t.shape }, { type: 'int32', data: tf.util.computeStrides(t.shape) });
      fields.push({ type: 'int32', data: output.shape }, { type: 'int32', data: tf.util.computeStrides(output.shape) });
    } else {
      fields.push({ type: 'int32', data: tf.util.computeStrides(output.shape) });
    }
    if (program.size) {
      const size = tf.util.sizeFromShape(program.outputShape);
      fields.push({ type: 'int32', data: [program.outputComponent ? size / program.outputComponent : size] });
    }
    if (programDefinedUniform) fields.push(...programDefinedUniform);
    const bindings: (Binding | null)[] = [this.tensorToBinding(output)];
    for (const t of inputs) bindings.push(this.tensorToBinding(t));
    bindings.push(this.makeUniforms(fields) as Binding);
    for (const t of inputs) this.commandQueueOwnedIds.add(t.dataId);
    this.commandQueueOwnedIds.add(output.dataId);

    const pipeline = program.pipeline;
    let key = String(idOf(pipeline));
    let cacheable = true;
    for (const b of bindings) {
      // Textures and external textures (pixel programs) are bound fresh, as tfjs does.
      if (b === null || b.buffer === undefined) cacheable = false;
      else key += `,${idOf(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1}`;
    }
    const s = state(this);
    let bindGroup = cacheable ? s.bindGroups.get(key) : undefined;
    if (bindGroup !== undefined) {
      s.bindGroups.delete(key);
      s.bindGroups.set(key, bindGroup);
    } else {
      let layout = layouts.get(pipeline);
      if (layout === undefined) layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
      bindGroup = this.device.createBindGroup({ layout, entries: bindings.map((resource, binding) => ({ binding, resource })) });
      if (cacheable) {
        if (s.bindGroups.size >= BIND_GROUP_CACHE_SIZE) s.bindGroups.delete(s.bindGroups.keys().next().value as string);
        s.bindGroups.set(key, bindGroup);
      }
    }
    this.ensureCommandEncoderReady();
    const pass = (this.computePassEncoder ??= this.commandEncoder!.beginComputePass({}));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(program.dispatch[0], program.dispatch[1], program.dispatch[2]);
    this.dispatchCountInPass++;
    if (tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') <= this.dispatchCountInPass || program.pixelsOpType === PIXELS_OP_DRAW) {
      this.endComputePassEncoder();
      this.submitQueue();
      return;
    }
    // Not yet worth a submit: check the held-back bytes every 16 dispatches.
    if (this.dispatchCountInPass % 16 !== 0) return;
    let pending = 0;
    for (const id of this.tensorDataPendingDisposal) {
      const resource = this.tensorMap.get(id)?.resource as GPUBufferLike | null | undefined;
      if (resource != null && typeof resource.size === 'number') pending += resource.size;
    }
    if (pending > PENDING_BYTES_LIMIT) {
      this.endComputePassEncoder();
      this.submitQueue();
    }
  };
}

/**
 * Turns the installed patches off (tfjs-backend-webgpu's own paths, submit every 15 dispatches) or on again, after
 * submitting what the current path has recorded; for measuring both in one run. A no-op before installation.
 */
export function setWebGpuHostPatches(on: boolean): void {
  if (!installed || on === enabled) return;
  if (tf.getBackend() === 'webgpu') {
    const b = tf.backend() as unknown as Backend;
    if (b.commandEncoder != null) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
  }
  enabled = on;
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', on ? MAX_DISPATCHES_PER_SUBMIT : TFJS_SUBMIT_BATCH);
}

/** The cached buffer that holds a one-element constant, written when first seen; evicts unheld ones past the cap. */
function cachedConstant(b: Backend, dtype: string, values: ArrayLike<number>): ConstantBuffer {
  const cache = (b.mixprecConstants ??= new Map());
  const integer = dtype === 'int32' || dtype === 'bool';
  const word = integer ? Int32Array.of(values[0]!) : Float32Array.of(values[0]!);
  const key = `${integer ? 'i' : 'f'}${new Uint32Array(word.buffer)[0]}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Most recently used last, so that eviction takes the oldest first.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  if (cache.size >= CONSTANT_CACHE_SIZE) {
    for (const [k, c] of cache) {
      if (cache.size < CONSTANT_CACHE_SIZE) break;
      // A buffer that a tensor holds stays (its commands may not be submitted yet); destroy() waits for submitted work.
      if (c.holders === 0) {
        cache.delete(k);
        c.buffer.destroy();
      }
    }
  }
  const usage = GPU_BUFFER_USAGE.STORAGE | GPU_BUFFER_USAGE.COPY_SRC | GPU_BUFFER_USAGE.COPY_DST;
  const buffer = b.device.createBuffer({ size: 4, usage });
  b.queue.writeBuffer(buffer, 0, word, 0, 1);
  const constant = { buffer, holders: 0 };
  cache.set(key, constant);
  return constant;
}

interface BufferManager {
  releaseBuffer(buffer: GPUBufferLike, reuse?: boolean): void;
  freeBuffers: Map<string, GPUBufferLike[]>;
  mixprecOrdered?: true;
}

/**
 * Keeps each free list of the pool sorted by first sight, oldest last, so that `acquireBuffer` (which pops) hands out
 * the oldest free buffer. Any free buffer of the size would do; a stable choice lets bind groups be reused.
 */
function orderFreeBuffers(manager: BufferManager, idOf: (o: object) => number): void {
  if (manager.mixprecOrdered) return;
  manager.mixprecOrdered = true;
  const release = manager.releaseBuffer;
  manager.releaseBuffer = function (this: BufferManager, buffer: GPUBufferLike, reuse = true) {
    release.call(this, buffer, reuse);
    const list = this.freeBuffers.get(`${buffer.size}_${buffer.usage}`);
    if (!enabled || !reuse || list === undefined || list[list.length - 1] !== buffer) return;
    list.pop();
    const id = idOf(buffer);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (idOf(list[mid]!) > id) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buffer);
  };
}

/**
 * The slot that holds these uniform bytes, written when new; null when every slot is read by unsubmitted commands.
 * A replaced slot was last read by a submitted batch, and `writeBuffer` is ordered after that submit.
 */
function uniformSlot(b: Backend, s: HostState, bytes: ArrayBuffer): UniformSlot | null {
  // The bytes as a string key: two bytes per char, cheap to build and hash.
  const key = String.fromCharCode.apply(null, new Uint16Array(bytes) as unknown as number[]);
  const hit = s.slots.get(key);
  if (hit !== undefined) {
    s.slots.delete(key);
    s.slots.set(key, hit);
    hit.batch = s.batch;
    return hit;
  }
  let slot: UniformSlot;
  if (s.slots.size < UNIFORM_SLOTS) {
    const index = s.slots.size;
    if (index % SLOTS_PER_BUFFER === 0)
      s.slotBuffers.push(b.device.createBuffer({ size: SLOT_BYTES * SLOTS_PER_BUFFER, usage: GPU_BUFFER_USAGE.COPY_DST | GPU_BUFFER_USAGE.UNIFORM }));
    slot = { buffer: s.slotBuffers[s.slotBuffers.length - 1]!, offset: (index % SLOTS_PER_BUFFER) * SLOT_BYTES, batch: s.batch };
  } else {
    const [oldestKey, oldest] = s.slots.entries().next().value as [string, UniformSlot];
    if (oldest.batch === s.batch) return null;
    s.slots.delete(oldestKey);
    slot = oldest;
    slot.batch = s.batch;
  }
  s.slots.set(key, slot);
  b.queue.writeBuffer(slot.buffer, slot.offset, bytes, 0, bytes.byteLength);
  return slot;
}

function placeUniforms(slab: { buffer: GPUBufferLike; mirror: Uint8Array; used: number }, offset: number, bytes: ArrayBuffer) {
  slab.mirror.set(new Uint8Array(bytes), offset);
  slab.used = offset + bytes.byteLength;
  return { offset, size: bytes.byteLength, buffer: slab.buffer };
}
