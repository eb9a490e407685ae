/**
 * Where notebook output goes and what it is made of: the sink the kernel installs (display_data,
 * update_display_data and clear_output on IOPub), the MIME bundle of a value, and display handles that update their
 * output in place. `display` (display.ts) and the live training widget (widget.ts) both write through this module,
 * neither through the other.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { isVegaLiteSpec, plotBundle } from '../plot/render';

export type MimeBundle = Record<string, unknown>;

/** Where display messages go (the kernel); `track` keeps a cell open until pending work (rendering) settles. */
export interface DisplaySink {
  publish(msgType: 'display_data' | 'update_display_data' | 'clear_output', content: Record<string, unknown>): void;
  track(work: Promise<unknown>): void;
}

let sink: DisplaySink | null = null;

export function setDisplaySink(s: DisplaySink | null): void {
  sink = s;
}

export function requireSink(): DisplaySink {
  if (sink === null) throw new Error('display: not running in a mixprec kernel');
  return sink;
}

function isTensor(value: unknown): value is { shape: number[]; dtype: string; array(): Promise<unknown> } {
  return (
    typeof value === 'object' && value !== null && 'dataId' in value && 'shape' in value && typeof (value as { array?: unknown }).array === 'function'
  );
}

/** The MIME bundle of any value: its own `toMimeBundle()`, a plot for a Vega-Lite spec, a tensor's values, else text. */
export async function mimeBundleOf(value: unknown): Promise<MimeBundle> {
  if (typeof value === 'object' && value !== null && typeof (value as { toMimeBundle?: unknown }).toMimeBundle === 'function') {
    return await (value as { toMimeBundle(): MimeBundle | Promise<MimeBundle> }).toMimeBundle();
  }
  if (isVegaLiteSpec(value)) return { ...(await plotBundle(value)) };
  if (isTensor(value)) {
    // Tensors are read asynchronously (WebGPU forbids synchronous reads).
    const values = await value.array();
    return {
      'text/plain': `Tensor ${value.dtype} [${value.shape.join(', ')}]\n${inspect(values, { depth: 8, maxArrayLength: 50, breakLength: 100 })}`,
    };
  }
  if (typeof value === 'string') return { 'text/plain': inspect(value) };
  return { 'text/plain': inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100, colors: false }) };
}

/** Marks display handles, which a cell's last expression shows nothing for. */
export const DISPLAY_HANDLE: unique symbol = Symbol.for('mixprec.displayHandle') as never;

export interface DisplayHandle {
  readonly [DISPLAY_HANDLE]: true;
  /** The display_id: updates replace this output in place. */
  readonly id: string;
  /** Replaces the output with the bundle of `value` (as display() builds it). */
  update(value: unknown): Promise<void>;
  /** Replaces the output with a ready bundle. */
  updateBundle(data: MimeBundle, metadata?: Record<string, unknown>): void;
}

function send(id: string, update: boolean, data: MimeBundle, metadata: Record<string, unknown> = {}): void {
  requireSink().publish(update ? 'update_display_data' : 'display_data', { data, metadata, transient: { display_id: id } });
}

export function isDisplayHandle(value: unknown): value is DisplayHandle {
  return typeof value === 'object' && value !== null && DISPLAY_HANDLE in value;
}

function handle(id: string): DisplayHandle {
  return {
    [DISPLAY_HANDLE]: true as const,
    id,
    update: async (value) => send(id, true, await mimeBundleOf(value)),
    updateBundle: (data, metadata) => send(id, true, data, metadata),
  };
}

/** Sends a bundle as a new output (display_data) and returns the handle that updates it in place. */
export function show(data: MimeBundle, metadata?: Record<string, unknown>, id: string = randomUUID()): DisplayHandle {
  send(id, false, data, metadata);
  return handle(id);
}

/** Keeps the running cell open until `work` (rendering, a display update) settles. */
export function track<T>(work: Promise<T>): Promise<T> {
  requireSink().track(work);
  return work;
}

/** {@link track} inside a kernel; outside one (no sink installed) the work just runs. */
export function trackIfInKernel<T>(work: Promise<T>): Promise<T> {
  if (sink !== null) sink.track(work);
  return work;
}
