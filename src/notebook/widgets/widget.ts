/**
 * The kernel side of the Jupyter widget message protocol 2.1 (ipywidgets `packages/schema/messages.md`): every widget
 * is a comm to the `jupyter.widget` target whose comm_open carries `{state, buffer_paths}` and metadata version
 * 2.1.0; `update` goes both ways (binary values as buffers at their paths), a frontend's update is answered with
 * `echo_update`, `request_state` with the whole state, `custom` messages go both ways, and the
 * `jupyter.widget.control` target answers `request_states` with `update_states` so that a reloaded page gets its
 * widgets back. Values from a frontend are validated against their traits; a bad one is refused with a line on the
 * kernel's stderr (and the frontend is sent the value the kernel keeps), never a crash.
 */
import { randomUUID } from 'node:crypto';
import { commManager, onCommManager, type Comm, type CommManager, type CommMessage } from '../comm';
import { MODEL_PREFIX, TraitError, wireName, type Trait } from './traits';

export const WIDGET_PROTOCOL_VERSION = '2.1.0';
export const CONTROL_PROTOCOL_VERSION = '1.0.0';
export const WIDGET_TARGET = 'jupyter.widget';
export const CONTROL_TARGET = 'jupyter.widget.control';
export const BASE_MODULE = '@jupyter-widgets/base';
export const CONTROLS_MODULE = '@jupyter-widgets/controls';
export const OUTPUT_MODULE = '@jupyter-widgets/output';
export const BASE_VERSION = '2.0.0';
export const CONTROLS_VERSION = '2.0.0';
export const OUTPUT_VERSION = '1.0.0';

/** The model and view a widget class stands for, and its traits (by property name). */
export interface WidgetSpec {
  modelName: string;
  modelModule: string;
  modelModuleVersion: string;
  viewName: string | null;
  viewModule: string | null;
  viewModuleVersion: string;
  traits: Record<string, Trait>;
}

interface ResolvedSpec extends WidgetSpec {
  /** wire name → property name */
  byWire: Map<string, string>;
}

/** A trait change, as `observe` callbacks receive it. */
export interface Change<W = Widget, V = unknown> {
  name: string;
  old: V;
  new: V;
  owner: W;
  type: 'change';
}

export type Observer<W = Widget> = (change: Change<W>) => void | Promise<void>;

const specs = new Map<abstract new (...args: never[]) => Widget, ResolvedSpec>();
/** Every open widget, by model id. */
const models = new Map<string, Widget>();

/**
 * Registers a widget class: its model/view names and traits (added to those of the class it extends), with a property
 * on the prototype for each trait that reads the value and, when assigned, validates and syncs it.
 */
export function defineWidget(cls: abstract new (...args: never[]) => Widget, spec: Partial<WidgetSpec> & { traits?: Record<string, Trait> }): void {
  // The nearest registered ancestor (abstract helpers in between, such as Bounded, are not registered).
  let parent: ResolvedSpec | undefined;
  for (
    let c = Object.getPrototypeOf(cls) as abstract new (...args: never[]) => Widget;
    c && parent === undefined;
    c = Object.getPrototypeOf(c) as typeof c
  )
    parent = specs.get(c);
  const traits = { ...(parent?.traits ?? {}), ...(spec.traits ?? {}) };
  const resolved: ResolvedSpec = {
    modelName: spec.modelName ?? parent?.modelName ?? 'WidgetModel',
    modelModule: spec.modelModule ?? parent?.modelModule ?? BASE_MODULE,
    modelModuleVersion: spec.modelModuleVersion ?? parent?.modelModuleVersion ?? BASE_VERSION,
    viewName: spec.viewName !== undefined ? spec.viewName : (parent?.viewName ?? null),
    viewModule: spec.viewModule !== undefined ? spec.viewModule : (parent?.viewModule ?? null),
    viewModuleVersion: spec.viewModuleVersion ?? parent?.viewModuleVersion ?? '',
    traits,
    byWire: new Map(Object.entries(traits).map(([name, t]) => [t.wire ?? wireName(name), name])),
  };
  specs.set(cls, resolved);
  for (const name of Object.keys(spec.traits ?? {})) {
    if (Object.prototype.hasOwnProperty.call(cls.prototype, name)) continue; // a class-defined accessor (Dropdown's value)
    Object.defineProperty(cls.prototype, name, {
      configurable: true,
      get(this: Widget) {
        return this.get(name);
      },
      set(this: Widget, value: unknown) {
        this.set(name, value);
      },
    });
  }
}

function specOf(w: Widget): ResolvedSpec {
  for (let c = w.constructor as abstract new (...args: never[]) => Widget; c; c = Object.getPrototypeOf(c) as typeof c) {
    const s = specs.get(c);
    if (s !== undefined) return s;
  }
  throw new Error(`${w.constructor.name} is not a registered widget class (defineWidget)`);
}

/** The open widget with this model id. */
export function widgetById(modelId: string): Widget | undefined {
  return models.get(modelId);
}

/** Every open widget. */
export function openWidgets(): Widget[] {
  return [...models.values()];
}

// --- binary buffers in a state (ipywidgets' _remove_buffers / _put_buffers) ------------------------------------------

const isBinary = (v: unknown): v is ArrayBuffer | ArrayBufferView => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const asBytes = (v: ArrayBuffer | ArrayBufferView): Uint8Array =>
  v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** The state without its binary values (removed from objects, null in lists), their paths and the bytes. */
export function removeBuffers(state: Record<string, unknown>): {
  state: Record<string, unknown>;
  bufferPaths: (string | number)[][];
  buffers: Uint8Array[];
} {
  const bufferPaths: (string | number)[][] = [];
  const buffers: Uint8Array[] = [];
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(value)) {
      return value.map((v, i) => {
        if (isBinary(v)) {
          bufferPaths.push([...path, i]);
          buffers.push(asBytes(v));
          return null;
        }
        return walk(v, [...path, i]);
      });
    }
    if (value !== null && typeof value === 'object' && !isBinary(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (isBinary(v)) {
          bufferPaths.push([...path, k]);
          buffers.push(asBytes(v));
        } else out[k] = walk(v, [...path, k]);
      }
      return out;
    }
    return value;
  };
  return { state: walk(state, []) as Record<string, unknown>, bufferPaths, buffers };
}

/** Puts received buffers back at their paths; a path that does not fit the state is refused. */
export function putBuffers(state: Record<string, unknown>, bufferPaths: unknown, buffers: readonly Uint8Array[]): void {
  if (bufferPaths === undefined || bufferPaths === null) return;
  if (!Array.isArray(bufferPaths)) throw new TraitError(`buffer_paths must be a list, got ${JSON.stringify(bufferPaths)}`);
  if (bufferPaths.length !== buffers.length)
    throw new TraitError(`buffer_paths names ${bufferPaths.length} buffers but the message carries ${buffers.length}`);
  bufferPaths.forEach((path, i) => {
    if (!Array.isArray(path) || path.length === 0 || !path.every((p) => typeof p === 'string' || typeof p === 'number'))
      throw new TraitError(`buffer path ${i} is not a list of keys and indices: ${JSON.stringify(path)}`);
    let obj: Record<string | number, unknown> = state;
    for (const key of path.slice(0, -1) as (string | number)[]) {
      const next = obj[key];
      if (next === null || typeof next !== 'object') throw new TraitError(`buffer path ${JSON.stringify(path)} does not fit the state`);
      obj = next as Record<string | number, unknown>;
    }
    obj[path.at(-1) as string | number] = buffers[i];
  });
}

const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true;
  if (isBinary(a) || isBinary(b)) {
    if (!isBinary(a) || !isBinary(b)) return false;
    const x = asBytes(a);
    const y = asBytes(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Widget || b instanceof Widget) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
};

/** Where refused frontend messages and failing callbacks are reported: the kernel's stderr stream of the cell. */
function warn(text: string): void {
  const m = commManager();
  if (m !== null) m.transport.warn(text);
  else process.stderr.write(`${text}\n`);
}

/**
 * The base of every widget: a model with traits synced to the frontends over its own comm. Subclasses are declared
 * with {@link defineWidget}; their traits are properties (`slider.value = 4` validates, stores and sends an update).
 */
export class Widget {
  /** The comm id, which frontends use as the model id. */
  readonly modelId: string;
  private readonly traitValues = new Map<string, unknown>();
  private readonly observers = new Map<string, Set<Observer<never>>>();
  private readonly customHandlers = new Set<(content: unknown, buffers: Uint8Array[]) => void | Promise<void>>();
  private comm: Comm | null = null;
  private closed = false;
  /** Values being applied from a frontend: not sent back unless they change again. */
  private lock: Map<string, unknown> | null = null;
  /** Names changed while holding sync, sent in one update. */
  private held: Set<string> | null = null;

  constructor(options: object = {}) {
    const spec = specOf(this);
    this.modelId = randomUUID().replace(/-/g, '');
    for (const [name, t] of Object.entries(spec.traits)) this.traitValues.set(name, t.initial());
    for (const [name, value] of Object.entries(options)) {
      if (value === undefined) continue;
      const t = spec.traits[name];
      if (t === undefined || t.readOnly) {
        const known = Object.keys(spec.traits).filter((k) => !spec.traits[k]!.readOnly);
        throw new TypeError(`${this.constructor.name}: no option '${name}' (options: ${known.join(', ')})`);
      }
      try {
        this.traitValues.set(name, t.validate(value));
      } catch (err) {
        throw err instanceof TraitError ? new TraitError(`${this.constructor.name}.${name}: ${err.message}`) : err;
      }
    }
    // Cross-checks once every option is in place (a log slider's value depends on its base, min and max).
    const given = Object.keys(options).filter((k) => (options as Record<string, unknown>)[k] !== undefined);
    for (const name of given) this.traitValues.set(name, this.checked(name, this.traitValues.get(name), 'kernel'));
    this.initialize(new Set(given));
    models.set(this.modelId, this);
    const manager = commManager();
    if (manager !== null) this.openComm(manager);
  }

  /** Subclasses bring the initial values into agreement (a slider's value into its range). */
  protected initialize(_given: Set<string>): void {}

  /** Stores a value during {@link initialize}, before the comm opens: no update, no observers. */
  protected initValue(name: string, value: unknown): void {
    this.traitValues.set(name, value);
  }

  /**
   * Cross-checks a value for `name` against the other traits before it is stored. `from` says who set it: the
   * kernel's code (a slider clamps, as ipywidgets does) or a frontend (out of range is refused: throw a TraitError).
   */
  protected coerce(_name: string, value: unknown, _from: 'kernel' | 'frontend'): unknown {
    return value;
  }

  /** Called after `name` changed, to keep dependent traits consistent (a slider's value when its max shrinks). */
  protected changed(_name: string): void {}

  private checked(name: string, value: unknown, from: 'kernel' | 'frontend'): unknown {
    const t = specOf(this).traits[name];
    if (t === undefined) throw new TraitError(`no trait '${name}'`);
    try {
      return this.coerce(name, t.validate(value), from);
    } catch (err) {
      if (err instanceof TraitError) throw new TraitError(`${this.constructor.name}.${name}: ${err.message}`);
      throw err;
    }
  }

  /** The current value of a trait. */
  get(name: string): unknown {
    if (!specOf(this).traits[name]) throw new TypeError(`${this.constructor.name} has no trait '${name}'`);
    return this.traitValues.get(name);
  }

  /** Validates, stores and syncs a trait value, and tells the observers (what assigning the property does). */
  set(name: string, value: unknown): void {
    const t = specOf(this).traits[name];
    if (t === undefined || t.readOnly) throw new TypeError(`${this.constructor.name} has no settable trait '${name}'`);
    const pending = this.assign(name, this.checked(name, value, 'kernel'));
    // Errors of observers reach the code that assigned; asynchronous ones are reported.
    for (const p of pending) p.catch((err: unknown) => warn(`${this.constructor.name}.${name} observer: ${(err as Error)?.stack ?? String(err)}`));
  }

  /** Stores a checked value; returns the promises of asynchronous observers. */
  private assign(name: string, value: unknown): Promise<void>[] {
    const old = this.traitValues.get(name);
    if (jsonEqual(old, value)) return [];
    this.traitValues.set(name, value);
    const t = specOf(this).traits[name]!;
    if (t.sync) {
      const locked = this.lock?.has(name) && jsonEqual(this.lock.get(name), value);
      if (!locked) {
        if (this.held !== null) this.held.add(name);
        else this.sendState([name]);
      }
    }
    const pending = this.notify({ name, old, new: value, owner: this, type: 'change' });
    this.changed(name);
    return pending;
  }

  private notify(change: Change): Promise<void>[] {
    const pending: Promise<void>[] = [];
    const errors: unknown[] = [];
    for (const key of [change.name, '*']) {
      for (const cb of [...(this.observers.get(key) ?? [])]) {
        try {
          const r = (cb as Observer)(change);
          if (r && typeof (r as Promise<void>).then === 'function') pending.push(r as Promise<void>);
        } catch (err) {
          errors.push(err);
        }
      }
    }
    if (errors.length > 0) throw errors.length === 1 ? errors[0] : new AggregateError(errors, `${errors.length} observers of ${change.name} failed`);
    return pending;
  }

  /**
   * Calls `callback` with `{ name, old, new, owner, type }` whenever one of the traits changes (from the kernel or a
   * frontend); `'*'` observes all. Returns the function that stops it.
   */
  observe<W extends Widget>(this: W, names: string | readonly string[], callback: Observer<W>): () => void {
    const list = typeof names === 'string' ? [names] : [...names];
    const traits = specOf(this).traits;
    for (const n of list) if (n !== '*' && !traits[n]) throw new TypeError(`${this.constructor.name} has no trait '${n}' to observe`);
    for (const n of list) {
      let set = this.observers.get(n);
      if (set === undefined) this.observers.set(n, (set = new Set()));
      set.add(callback as Observer<never>);
    }
    return () => {
      for (const n of list) this.observers.get(n)?.delete(callback as Observer<never>);
    };
  }

  /** Runs `fn` with the updates it makes sent as one message at the end. */
  holdSync(fn: () => void): void {
    if (this.held !== null) return fn();
    this.held = new Set();
    try {
      fn();
    } finally {
      const names = [...this.held];
      this.held = null;
      if (names.length > 0) this.sendState(names);
    }
  }

  /** The wire state of the synced traits (all, or the named ones). */
  state(names?: readonly string[]): Record<string, unknown> {
    const spec = specOf(this);
    const out: Record<string, unknown> = {
      _model_name: spec.modelName,
      _model_module: spec.modelModule,
      _model_module_version: spec.modelModuleVersion,
      _view_name: spec.viewName,
      _view_module: spec.viewModule,
      _view_module_version: spec.viewModuleVersion,
    };
    if (names !== undefined) for (const k of Object.keys(out)) delete out[k];
    for (const name of names ?? Object.keys(spec.traits)) {
      const t = spec.traits[name]!;
      if (t.sync) out[t.wire ?? wireName(name)] = t.toJson(this.traitValues.get(name));
    }
    return out;
  }

  /** Model name, module and version, and the state (for `update_states` and the saved widget state). */
  embedState(): { model_name: string; model_module: string; model_module_version: string; state: Record<string, unknown> } {
    const spec = specOf(this);
    return { model_name: spec.modelName, model_module: spec.modelModule, model_module_version: spec.modelModuleVersion, state: this.state() };
  }

  private sendState(names?: readonly string[]): void {
    if (this.comm === null) return;
    const { state, bufferPaths, buffers } = removeBuffers(this.state(names));
    this.comm.send({ method: 'update', state, buffer_paths: bufferPaths }, buffers);
  }

  private openComm(manager: CommManager): void {
    const { state, bufferPaths, buffers } = removeBuffers(this.state());
    this.comm = manager.open(
      WIDGET_TARGET,
      { state, buffer_paths: bufferPaths },
      { id: this.modelId, buffers, metadata: { version: WIDGET_PROTOCOL_VERSION } },
    );
    this.comm.onMsg((m) => this.received(m));
    this.comm.onClose(() => {
      this.comm = null;
      this.closed = true;
      models.delete(this.modelId);
    });
  }

  /** Sends a custom message to the frontend model (`{method: 'custom', content}`). */
  send(content: unknown, buffers: readonly Uint8Array[] = []): void {
    this.comm?.send({ method: 'custom', content }, buffers);
  }

  /** Calls `handler` with the content of every custom message from a frontend; returns the function that stops it. */
  onCustomMessage(handler: (content: unknown, buffers: Uint8Array[]) => void | Promise<void>): () => void {
    this.customHandlers.add(handler);
    return () => this.customHandlers.delete(handler);
  }

  /** Runs the custom-message handlers, as a message from a frontend does; a failing handler is reported on stderr. */
  async dispatchCustom(content: unknown, buffers: Uint8Array[] = []): Promise<void> {
    for (const h of [...this.customHandlers]) {
      try {
        await h(content, buffers);
      } catch (err) {
        warn(`${this.constructor.name} ${this.modelId}: custom message handler: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
  }

  /** Closes the widget: its comm (every view of it disappears) and its place among the open widgets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    models.delete(this.modelId);
    this.comm?.close();
    this.comm = null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** How a cell shows the widget: a view of the model, with text for frontends without widgets. */
  toMimeBundle(): Record<string, unknown> {
    return {
      'application/vnd.jupyter.widget-view+json': { version_major: 2, version_minor: 0, model_id: this.modelId },
      'text/plain': this.toString(),
    };
  }

  toString(): string {
    const spec = specOf(this);
    const shown = ['value', 'min', 'max', 'index', 'description']
      .filter((n) => spec.traits[n] !== undefined)
      .map((n) => `${n}=${JSON.stringify(spec.traits[n]!.toJson(this.traitValues.get(n)))}`);
    return `${this.constructor.name}(${shown.join(', ')})`;
  }

  /** A message from a frontend on this widget's comm. */
  private async received(m: CommMessage): Promise<void> {
    const method = m.data.method;
    const label = `${this.constructor.name} ${this.modelId}`;
    if (method === 'update') {
      const state = m.data.state;
      if (state === null || typeof state !== 'object' || Array.isArray(state)) return warn(`${label}: refused an update without a state object`);
      try {
        putBuffers(state as Record<string, unknown>, m.data.buffer_paths, m.buffers);
      } catch (err) {
        return warn(`${label}: refused an update: ${(err as Error).message}`);
      }
      await this.applyFromFrontend(state as Record<string, unknown>, label);
    } else if (method === 'request_state') {
      this.sendState();
    } else if (method === 'custom') {
      await this.dispatchCustom(m.data.content, m.buffers);
    } else {
      warn(`${label}: refused a message with unknown method ${JSON.stringify(method)}`);
    }
  }

  private async applyFromFrontend(state: Record<string, unknown>, label: string): Promise<void> {
    const spec = specOf(this);
    const accepted = new Map<string, unknown>();
    const refused: string[] = [];
    for (const [wire, json] of Object.entries(state)) {
      const name = spec.byWire.get(wire);
      const t = name === undefined ? undefined : spec.traits[name];
      if (name === undefined || t === undefined || !t.sync || t.readOnly) {
        warn(`${label}: refused an update of ${JSON.stringify(wire)}: ${name === undefined ? 'no such trait' : 'not settable from a frontend'}`);
        continue;
      }
      try {
        accepted.set(
          name,
          this.checked(
            name,
            t.fromJson(json, (id) => models.get(id)),
            'frontend',
          ),
        );
      } catch (err) {
        warn(`${label}: refused ${wire} = ${JSON.stringify(json)} from the frontend: ${(err as Error).message}`);
        refused.push(name);
      }
    }
    if (accepted.size > 0 && this.comm !== null) {
      // Protocol 2.1: the accepted values go back to every frontend (the sender uses it as an acknowledgement).
      const raw: Record<string, unknown> = {};
      for (const [name, value] of accepted) raw[spec.traits[name]!.wire ?? wireName(name)] = spec.traits[name]!.toJson(value);
      const { state: echo, bufferPaths, buffers } = removeBuffers(raw);
      this.comm.send({ method: 'echo_update', state: echo, buffer_paths: bufferPaths }, buffers);
    }
    const pending: Promise<void>[] = [];
    this.lock = new Map(accepted);
    try {
      for (const [name, value] of accepted) {
        try {
          pending.push(...this.assign(name, value));
        } catch (err) {
          warn(`${label}: observer of ${name}: ${(err as Error)?.stack ?? String(err)}`);
        }
      }
    } finally {
      this.lock = null;
    }
    // The frontend shows what it sent: tell it the value the kernel kept.
    if (refused.length > 0) this.sendState(refused);
    for (const r of await Promise.allSettled(pending)) {
      if (r.status === 'rejected') warn(`${label}: observer: ${(r.reason as Error)?.stack ?? String(r.reason)}`);
    }
  }
}
defineWidget(Widget, {});

/** Opens a widget that a frontend created (comm_open to jupyter.widget): not supported; the comm is closed. */
onCommManager((manager) => {
  manager.registerTarget(WIDGET_TARGET, (comm, open) => {
    const state = open.data.state as Record<string, unknown> | undefined;
    warn(`widgets: a frontend opened a ${String(state?._model_name ?? 'widget')} model; mixprec creates widgets in the kernel only (closed)`);
    comm.close();
  });
  manager.registerTarget(CONTROL_TARGET, (comm) => {
    comm.onMsg((m) => {
      if (m.data.method !== 'request_states') return warn(`widgets: unknown control message ${JSON.stringify(m.data.method)}`);
      const states: Record<string, unknown> = {};
      for (const w of models.values()) states[w.modelId] = w.embedState();
      const { state, bufferPaths, buffers } = removeBuffers(states);
      comm.send({ method: 'update_states', states: state, buffer_paths: bufferPaths }, buffers);
    });
  });
});

/** `IPY_MODEL_<id>` of a widget. */
export const modelReference = (w: Widget): string => `${MODEL_PREFIX}${w.modelId}`;
