/**
 * WebGPU in Node through Dawn (npm `webgpu`). tfjs-backend-webgpu registers itself only when `navigator.gpu` exists
 * at import time, so the GPU object is installed first; the adapter is inspected before tfjs sees it so that a
 * software adapter is reported as such instead of silently used.
 */
import type { AdapterInfo } from './report';

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i;

interface DawnAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<DawnAdapter | null>;
}

let gpu: GpuLike | undefined;

/** Creates Dawn's GPU object once and publishes it as `navigator.gpu` (Node 20 has no navigator). */
export async function installNavigatorGpu(): Promise<GpuLike> {
  if (gpu !== undefined) return gpu;
  let mod: { create(flags: string[]): unknown; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (err) {
    throw new Error(`the npm package "webgpu" (Dawn) could not be loaded: ${(err as Error).message}`);
  }
  const g = globalThis as unknown as Record<string, unknown> & { navigator?: Record<string, unknown> };
  for (const [key, value] of Object.entries(mod.globals)) if (!(key in g)) g[key] = value;
  const created = mod.create([]) as GpuLike;
  if (g.navigator === undefined) {
    Object.defineProperty(g, 'navigator', { value: {}, configurable: true, writable: true });
  }
  Object.defineProperty(g.navigator!, 'gpu', { value: created, configurable: true });
  gpu = created;
  return created;
}

/** Requests the high-performance adapter and describes it; throws with the reason when there is none. */
export async function probeWebGpuAdapter(): Promise<AdapterInfo> {
  const g = await installNavigatorGpu();
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new Error('no WebGPU adapter: Dawn found no Vulkan driver with a usable GPU (is libvulkan1 and a GPU driver installed?)');
  }
  const info = adapter.info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter) || SOFTWARE_ADAPTER.test(text),
  };
}

export function describeAdapter(a: AdapterInfo): string {
  const name = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
  return a.software ? `${name} (software adapter)` : name;
}
