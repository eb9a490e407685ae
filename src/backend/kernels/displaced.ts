/**
 * The backends' own kernels that mixprec's replacements displaced, by backend and kernel name: restored when fast
 * kernels are switched off, and called by a replacement for the cases it does not cover.
 */
import type { KernelConfig } from '@tensorflow/tfjs';

/** `backend/kernel` → the displaced config (undefined: the backend had none). */
export const displaced = new Map<string, KernelConfig | undefined>();

/** The backend's own kernel that a replacement displaced, if any. */
export function displacedKernel(backendName: string, kernelName: string): KernelConfig | undefined {
  return displaced.get(`${backendName}/${kernelName}`);
}
