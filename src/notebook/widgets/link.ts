/**
 * Keeping traits of two widgets equal: `link` / `dlink` in the kernel (a change on one side is assigned to the other
 * by observe callbacks), `jslink` / `jsdlink` in the frontend (a LinkModel: the browser keeps them equal without a
 * round trip to the kernel, as ipywidgets' jslink does).
 */
import { list, str, wireName } from './traits';
import { CONTROLS_MODULE, CONTROLS_VERSION, defineWidget, modelReference, Widget } from './widget';

/** A widget and the name of one of its traits. */
export type TraitRef = readonly [Widget, string];

export interface Link {
  /** Stops keeping the traits equal. */
  unlink(): void;
}

function checkTrait([w, name]: TraitRef): void {
  w.get(name); // throws, naming the widget class and the trait, when there is no such trait
}

/** Keeps `target` equal to `source` and `source` to `target` (the target takes the source's value now). */
export function link(source: TraitRef, target: TraitRef, transform?: { forward(v: unknown): unknown; backward(v: unknown): unknown }): Link {
  checkTrait(source);
  checkTrait(target);
  let updating = false;
  const copy = (from: TraitRef, to: TraitRef, f: (v: unknown) => unknown) => () => {
    if (updating) return;
    updating = true;
    try {
      to[0].set(to[1], f(from[0].get(from[1])));
    } finally {
      updating = false;
    }
  };
  const forward = copy(source, target, transform?.forward ?? ((v) => v));
  const backward = copy(target, source, transform?.backward ?? ((v) => v));
  forward();
  const stops = [source[0].observe(source[1], forward), target[0].observe(target[1], backward)];
  return { unlink: () => stops.forEach((s) => s()) };
}

/** Keeps `target` equal to `source` (one way), optionally through `transform`. */
export function dlink(source: TraitRef, target: TraitRef, transform: (v: unknown) => unknown = (v) => v): Link {
  checkTrait(source);
  checkTrait(target);
  const copy = () => target[0].set(target[1], transform(source[0].get(source[1])));
  copy();
  const stop = source[0].observe(source[1], copy);
  return { unlink: stop };
}

const wireRef = ([w, name]: TraitRef): [string, string] => [modelReference(w), wireName(name)];

/** A link kept by the frontend: `widgets.jslink([a, 'value'], [b, 'value'])`. */
export class JsLink extends Widget {
  declare source: [string, string];
  declare target: [string, string];
  constructor(source: TraitRef, target: TraitRef) {
    checkTrait(source);
    checkTrait(target);
    super({ source: wireRef(source), target: wireRef(target) });
  }
  unlink(): void {
    this.close();
  }
}
const pair = () => list(str(), () => ['', ''], { length: 2 });
defineWidget(JsLink, {
  modelName: 'LinkModel',
  modelModule: CONTROLS_MODULE,
  modelModuleVersion: CONTROLS_VERSION,
  viewName: null,
  viewModule: CONTROLS_MODULE,
  viewModuleVersion: CONTROLS_VERSION,
  traits: { source: pair(), target: pair() },
});

/** A one-way link kept by the frontend. */
export class JsDirectionalLink extends JsLink {}
defineWidget(JsDirectionalLink, { modelName: 'DirectionalLinkModel' });

export const jslink = (source: TraitRef, target: TraitRef): JsLink => new JsLink(source, target);
export const jsdlink = (source: TraitRef, target: TraitRef): JsDirectionalLink => new JsDirectionalLink(source, target);
