/** The shared control block of one {@link JsPool} helper, which the main thread and the helper agree on. */
export const MAX_ARRAYS = 4;
export const MAX_PARAMS = 8;
/** Per-channel vectors a task may take (3) and give back (2) hold at most this many channels each. */
export const MAX_CHANNELS = 4096;

/** Int32 slots: the request sequence number (main → helper; −1 stops it), the done sequence number, an error flag. */
export const CTRL = { request: 0, done: 1, failed: 2 } as const;
const INT32_BYTES = 16;

/** Float64 slots after the Int32 ones: the task, the element range, the arrays' heap byte offsets, parameters, sums. */
export const IO = { task: 0, start: 1, end: 2, arrays: 3, offsets: 4, params: 4 + MAX_ARRAYS, sums: 4 + MAX_ARRAYS + MAX_PARAMS } as const;
const IO_SLOTS = IO.sums + 2;

export const CONTROL_BYTES = INT32_BYTES + (IO_SLOTS + 5 * MAX_CHANNELS) * 8;

export interface ControlViews {
  ctrl: Int32Array;
  io: Float64Array;
  /** Per-channel inputs of the task (up to 3 vectors, back to back). */
  vecIn: Float64Array;
  /** Per-channel partial sums the task writes (up to 2 vectors, back to back). */
  vecOut: Float64Array;
}

export function controlViews(control: SharedArrayBuffer): ControlViews {
  const base = INT32_BYTES + IO_SLOTS * 8;
  return {
    ctrl: new Int32Array(control, 0, INT32_BYTES / 4),
    io: new Float64Array(control, INT32_BYTES, IO_SLOTS),
    vecIn: new Float64Array(control, base, 3 * MAX_CHANNELS),
    vecOut: new Float64Array(control, base + 3 * MAX_CHANNELS * 8, 2 * MAX_CHANNELS),
  };
}
