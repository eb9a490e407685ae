/** The six learnable parametrizations, keyed by family and parametrization, and by the paper's short names. */
import type { ParametrizationEntry } from './family';
import { POW2_ENTRIES } from './pow2';
import type { Parametrization, ResolvedSpec, ShortName } from './spec';
import { UNIFORM_ENTRIES } from './uniform';

export const PARAMETRIZATIONS: readonly ParametrizationEntry[] = [...UNIFORM_ENTRIES, ...POW2_ENTRIES];

const byKey = new Map<string, ParametrizationEntry>(PARAMETRIZATIONS.map((e) => [`${e.kind}/${e.param}`, e]));
const byShort = new Map<ShortName, ParametrizationEntry>(PARAMETRIZATIONS.map((e) => [e.short, e]));

export function parametrizationEntry(kind: 'uniform' | 'pow2', param: Parametrization): ParametrizationEntry {
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
