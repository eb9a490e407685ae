/**
 * `interact(fn, { bits: [2, 8], kind: ['U3', 'P3'] })`: controls built from abbreviations (as ipywidgets reads them),
 * `fn` run with their values into an Output below them now and after every change. Runs do not overlap: changes
 * that arrive during a run are coalesced into one more run with the latest values.
 */
import { display } from '../display';
import { isDisplayHandle, type DisplayHandle } from '../output';
import { Checkbox, DOMWidget, Dropdown, FloatSlider, IntSlider, Text, VBox } from './controls';
import { Output } from './output_widget';
import type { Widget } from './widget';

const FIXED: unique symbol = Symbol('mixprec.widgets.fixed');
/** A value passed to `fn` as it is, with no control. */
export interface Fixed<V> {
  readonly [FIXED]: true;
  readonly value: V;
}
export const fixed = <V>(value: V): Fixed<V> => ({ [FIXED]: true, value });

/**
 * What a control is built from: `[min, max]` or `[min, max, step]` (a slider: integer when all are integers), a list
 * of strings or an object of label → value (a dropdown), a boolean (a checkbox), a string (a text box), a number (a
 * slider around it), a widget with a `value` (used as it is), or `fixed(v)`.
 */
export type Abbreviation =
  | readonly [number, number]
  | readonly [number, number, number]
  | readonly string[]
  | Readonly<Record<string, unknown>>
  | boolean
  | string
  | number
  | (Widget & { value: unknown })
  | Fixed<unknown>;

/** The value `fn` receives for an abbreviation. */
export type ValueOf<A> =
  A extends Fixed<infer V>
    ? V
    : A extends { value: infer V }
      ? V
      : A extends readonly [number, number] | readonly [number, number, number]
        ? number
        : A extends readonly (infer S)[]
          ? S
          : A extends boolean
            ? boolean
            : A extends string
              ? string
              : A extends number
                ? number
                : A extends Readonly<Record<string, infer V>>
                  ? V
                  : unknown;

export type Values<A> = { [K in keyof A]: ValueOf<A[K]> };

const isFixed = (v: unknown): v is Fixed<unknown> => typeof v === 'object' && v !== null && FIXED in v;

/** The control for one abbreviation (null for a fixed value); the error names the argument. */
export function controlFor(name: string, a: unknown): (Widget & { value: unknown }) | null {
  if (isFixed(a)) return null;
  if (a instanceof DOMWidget && 'value' in a) return a as DOMWidget & { value: unknown };
  const description = name;
  if (Array.isArray(a) && (a.length === 2 || a.length === 3) && a.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    const [min, max, step] = a as number[];
    if (min! > max!) throw new RangeError(`interact: ${name}: min ${min} is above max ${max}`);
    if (a.every((x) => Number.isInteger(x)))
      return new IntSlider({ min: min!, max: max!, step: step ?? 1, value: Math.round((min! + max!) / 2), description });
    return new FloatSlider({ min: min!, max: max!, step: step ?? (max! - min!) / 100, value: (min! + max!) / 2, description });
  }
  if (Array.isArray(a)) {
    if (a.length === 0) throw new RangeError(`interact: ${name}: an empty list of options`);
    return new Dropdown({ options: a as unknown[], description });
  }
  if (typeof a === 'boolean') return new Checkbox({ value: a, description });
  if (typeof a === 'string') return new Text({ value: a, description });
  if (typeof a === 'number') {
    if (!Number.isFinite(a)) throw new RangeError(`interact: ${name}: ${a} is not a finite number`);
    const [min, max] = a > 0 ? [-a, 3 * a] : a < 0 ? [3 * a, -a] : [-1, 1];
    return Number.isInteger(a)
      ? new IntSlider({ value: a, min, max, description })
      : new FloatSlider({ value: a, min, max, step: (max - min) / 100, description });
  }
  if (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
    if (Object.keys(a).length === 0) throw new RangeError(`interact: ${name}: an empty object of options`);
    return new Dropdown({ options: a as Record<string, unknown>, description });
  }
  throw new TypeError(
    `interact: ${name}: cannot make a control from ${String(a)} (a [min, max] pair, a list, a boolean, a string, a number, a widget or fixed(v))`,
  );
}

/**
 * `run` made non-overlapping: a call during a run schedules one more run after it (however many calls came), and
 * every call resolves when the run that covers it has finished.
 */
export function coalesced(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await run();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}

/** The controls, the Output below them, and `fn` re-run on every change. */
export class Interactive<A extends Record<string, unknown> = Record<string, unknown>> extends VBox {
  readonly controls: { [K in keyof A]?: Widget & { value: ValueOf<A[K]> } };
  readonly output: Output;
  /** The last value `fn` returned. */
  result: unknown;

  constructor(
    private readonly fn: (values: Values<A>) => unknown,
    private readonly abbreviations: A,
  ) {
    const controls: Record<string, Widget & { value: unknown }> = {};
    for (const [name, a] of Object.entries(abbreviations)) {
      const c = controlFor(name, a);
      if (c !== null) controls[name] = c;
    }
    const output = new Output();
    super([...(Object.values(controls) as unknown as DOMWidget[]), output], { domClasses: ['widget-interact'] });
    this.controls = controls as Interactive<A>['controls'];
    this.output = output;
    for (const c of Object.values(controls)) c.observe('value', () => this.update());
  }

  /** The values `fn` is called with now. */
  values(): Values<A> {
    const out: Record<string, unknown> = {};
    for (const [name, a] of Object.entries(this.abbreviations)) {
      out[name] = isFixed(a) ? a.value : (this.controls as Record<string, { value: unknown }>)[name]!.value;
    }
    return out as Values<A>;
  }

  /** Runs `fn` (after the run in progress, if any); resolves when the output is complete. */
  readonly update = coalesced(() =>
    this.output.capture(async () => {
      display.clear(true);
      try {
        this.result = await this.fn(this.values());
        if (this.result !== undefined && !isDisplayHandle(this.result)) await display(this.result);
      } catch (err) {
        // Shown in the output, where the user looks; the kernel and the controls go on.
        console.error((err as Error)?.stack ?? String(err));
      }
    }),
  );
}

/** The interactive widget, not yet shown (ipywidgets' `interactive`). */
export function interactive<const A extends Record<string, Abbreviation>>(fn: (values: Values<A>) => unknown, abbreviations: A): Interactive<A> {
  return new Interactive(fn, abbreviations);
}

/**
 * Shows the controls and `fn`'s output, runs `fn` once, and resolves with the display handle and the widget (a cell
 * that ends with it shows nothing more).
 */
export async function interact<const A extends Record<string, Abbreviation>>(
  fn: (values: Values<A>) => unknown,
  abbreviations: A,
): Promise<DisplayHandle & { widget: Interactive<A> }> {
  const widget = interactive(fn, abbreviations);
  const handle = await display(widget);
  await widget.update();
  return Object.assign(handle, { widget });
}
