/** The six learnable parametrizations, keyed by family and parametrization, and by the paper's short names. */
import type { Family, ParametrizationEntry, ParametrizationMath } from './family';
import { PARAMETRIZATION_TABLE, type LearnedKind } from './parametrizations';
import { POW2_MATH, pow2Family } from './pow2';
import type { Parametrization, ResolvedSpec, ShortName } from './spec';
import { UNIFORM_MATH, uniformFamily } from './uniform';

const FAMILY: Readonly<Record<LearnedKind, Family>> = { uniform: uniformFamily, pow2: pow2Family };
// Typed by the table's names, so a row without its grid (or a grid without its row) does not compile.
const MATH: Readonly<Record<ShortName, ParametrizationMath>> = { ...UNIFORM_MATH, ...POW2_MATH };

/** Each row of the table with its family's quantizer and its grid, in table order. */
export const PARAMETRIZATIONS: readonly ParametrizationEntry[] = PARAMETRIZATION_TABLE.map(({ kind, param, short }) => ({
  kind,
  param,
  short,
  family: FAMILY[kind],
  ...MATH[short],
}));

const byKey = new Map<string, ParametrizationEntry>(PARAMETRIZATIONS.map((e) => [`${e.kind}/${e.param}`, e]));
const byShort = new Map<ShortName, ParametrizationEntry>(PARAMETRIZATIONS.map((e) => [e.short, e]));

export function parametrizationEntry(kind: LearnedKind, param: Parametrization): ParametrizationEntry {
  const entry = byKey.get(`${kind}/${param}`);
  if (entry === undefined) throw new Error(`mixprec: no ${kind} parametrization ${param}`);
  return entry;
}

export function entryForSpec(spec: ResolvedSpec): ParametrizationEntry | undefined {
  return spec.kind === 'uniform' || spec.kind === 'pow2' ? parametrizationEntry(spec.kind, spec.param!) : undefined;
}

export function entryByShortName(short: ShortName): ParametrizationEntry {
  return byShort.get(short)!;
}
