/** The compute backends mixprec knows, in the order automatic selection tries them. */
export const BACKEND_ORDER = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** A backend name as mixprec spells it (`MIXPREC_BACKEND`, `--backend`). */
export type BackendName = (typeof BACKEND_ORDER)[number];

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(name);
}
