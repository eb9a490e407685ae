/**
 * Traits: the typed, validated attributes of a widget model. Each knows its default, how to check a value (set in
 * TypeScript or received from a frontend), and how it goes to and from the wire (JSON; widget references as
 * `IPY_MODEL_<id>`; binary values as buffers). Property names are camelCase; the wire name is their snake_case
 * (`continuousUpdate` ↔ `continuous_update`) unless a trait names its own.
 */

/** A value that does not fit its trait; the message says what was expected. */
export class TraitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraitError';
  }
}

/** What a trait needs to resolve widget references from the wire. */
export interface ModelLookup {
  (modelId: string): object | undefined;
}

export interface Trait<T = unknown> {
  /** A fresh default value. */
  initial(): T;
  /** The value to store, or a TraitError. */
  validate(value: unknown): T;
  /** The JSON (or binary) form sent to frontends. */
  toJson(value: T): unknown;
  /** The value from its wire form (before `validate`). */
  fromJson(json: unknown, lookup: ModelLookup): unknown;
  /** Whether it is part of the model state synced with frontends (false: kernel-side only). */
  sync: boolean;
  /** The wire name, when it is not the snake_case of the property. */
  wire?: string;
  /** Refused from frontends (the model and view names). */
  readOnly?: boolean;
  /** For error messages: what the trait accepts. */
  describe: string;
}

type Base<T> = Omit<Trait<T>, 'toJson' | 'fromJson' | 'sync'> & Partial<Pick<Trait<T>, 'toJson' | 'fromJson' | 'sync'>>;

function trait<T>(t: Base<T>): Trait<T> {
  return { toJson: (v) => v, fromJson: (j) => j, sync: true, ...t };
}

/** Options every trait factory takes. */
export interface TraitOptions {
  sync?: boolean;
  wire?: string;
  readOnly?: boolean;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

const fail = (describe: string, value: unknown): never => {
  throw new TraitError(`expected ${describe}, got ${show(value)}`);
};

export function int(initial = 0, o: TraitOptions = {}): Trait<number> {
  return trait({
    initial: () => initial,
    describe: 'an integer',
    validate: (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : fail('an integer', v)),
    ...o,
  });
}

export function float(initial = 0, o: TraitOptions = {}): Trait<number> {
  return trait({
    initial: () => initial,
    describe: 'a finite number',
    validate: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : fail('a finite number', v)),
    ...o,
  });
}

export function bool(initial = false, o: TraitOptions = {}): Trait<boolean> {
  return trait({ initial: () => initial, describe: 'a boolean', validate: (v) => (typeof v === 'boolean' ? v : fail('a boolean', v)), ...o });
}

export function str(initial = '', o: TraitOptions = {}): Trait<string> {
  return trait({ initial: () => initial, describe: 'a string', validate: (v) => (typeof v === 'string' ? v : fail('a string', v)), ...o });
}

/** The same trait, or null. */
export function nullable<T>(inner: Trait<T>, initial: T | null = null): Trait<T | null> {
  return {
    ...inner,
    initial: () => initial,
    describe: `${inner.describe} or null`,
    validate: (v) => (v === null ? null : inner.validate(v)),
    toJson: (v) => (v === null ? null : inner.toJson(v)),
    fromJson: (j, lookup) => (j === null ? null : inner.fromJson(j, lookup)),
  };
}

/** One of a list of strings. */
export function oneOf<const V extends string>(values: readonly V[], initial: V, o: TraitOptions = {}): Trait<V> {
  const describe = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return trait({ initial: () => initial, describe, validate: (v) => (values.includes(v as V) ? (v as V) : fail(describe, v)), ...o });
}

/** A list of values of one trait. */
export function list<T>(item: Trait<T>, initial: () => T[] = () => [], o: TraitOptions & { length?: number } = {}): Trait<T[]> {
  const describe = o.length === undefined ? `a list of ${item.describe}` : `a list of ${o.length} × ${item.describe}`;
  return trait({
    initial,
    describe,
    validate: (v) => {
      if (!Array.isArray(v) || (o.length !== undefined && v.length !== o.length)) return fail(describe, v);
      return v.map((x, i) => {
        try {
          return item.validate(x);
        } catch (err) {
          throw new TraitError(`item ${i}: ${(err as Error).message}`);
        }
      });
    },
    toJson: (v) => v.map((x) => item.toJson(x)),
    fromJson: (j, lookup) => (Array.isArray(j) ? j.map((x) => item.fromJson(x, lookup)) : j),
    sync: o.sync ?? true,
    ...(o.wire === undefined ? {} : { wire: o.wire }),
  });
}

/** Any JSON value (kept as given). */
export function json<T = unknown>(initial: () => T, o: TraitOptions = {}): Trait<T> {
  return trait({ initial, describe: 'a JSON value', validate: (v) => v as T, ...o });
}

/** Bytes (a buffer on the wire). */
export function bytes(o: TraitOptions = {}): Trait<Uint8Array> {
  return trait({
    initial: () => new Uint8Array(0),
    describe: 'bytes (Uint8Array)',
    validate: (v) => {
      if (v instanceof Uint8Array) return v;
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      return fail('bytes (Uint8Array)', v);
    },
    ...o,
  });
}

export const MODEL_PREFIX = 'IPY_MODEL_';

/** A reference to another widget model (an instance of `cls`), `IPY_MODEL_<id>` on the wire. */
export function ref<W extends { modelId: string }>(
  cls: abstract new (...args: never[]) => W,
  initial: (() => W) | null,
  o: TraitOptions & { nullable?: boolean } = {},
): Trait<W | null> {
  const { nullable: allowNull = initial === null, ...rest } = o;
  const describe = `a ${cls.name} widget${allowNull ? ' or null' : ''}`;
  return trait({
    initial: () => (initial === null ? null : initial()),
    describe,
    validate: (v) => (v === null && allowNull ? null : v instanceof cls ? v : fail(describe, v)),
    toJson: (v) => (v === null ? null : `${MODEL_PREFIX}${v.modelId}`),
    fromJson: (j, lookup) => fromReference(j, lookup),
    ...rest,
  });
}

/** Resolves `IPY_MODEL_<id>` to the widget; other values are returned as they are (and fail validation). */
export function fromReference(j: unknown, lookup: ModelLookup): unknown {
  if (typeof j !== 'string' || !j.startsWith(MODEL_PREFIX)) return j;
  const id = j.slice(MODEL_PREFIX.length);
  const w = lookup(id);
  if (w === undefined) throw new TraitError(`no widget model ${id} in this kernel`);
  return w;
}

/** camelCase → snake_case. */
export function wireName(property: string): string {
  return property.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
