/** What a started backend is and where it runs: for banners, the CLI and benchmark records. */
import type { BackendName } from './names';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software rasterisers (lavapipe/llvmpipe, SwiftShader) and Dawn fallback adapters. */
  software: boolean;
}

export interface BackendReport {
  /** mixprec's name for the backend. */
  name: BackendName;
  /** The name tfjs registered it under (`tensorflow` for both tfjs-node flavours). */
  tfjsBackend: string;
  /** Human-readable device: the GPU adapter, or the CPU implementation. */
  device: string;
  /** Package versions: tfjs-core, the backend package, and Node. */
  versions: Record<string, string>;
  /** Worker threads the backend computes with. */
  threads: number;
  /** Whether the backend uses SIMD instructions; null where it cannot be told. */
  simd: boolean | null;
  /** The WebGPU adapter, for the webgpu backend. */
  adapter?: AdapterInfo;
  /** Why backends earlier in the automatic order were passed over (empty when one was requested). */
  skipped: { name: BackendName; reason: string }[];
}

/** One line, e.g. `wasm (WebAssembly CPU, XNNPACK) · 1 thread · SIMD · tfjs 4.22.0`. */
export function formatBackendReport(report: BackendReport): string {
  const parts = [`${report.name} (${report.device})`];
  parts.push(`${report.threads} thread${report.threads === 1 ? '' : 's'}`);
  if (report.simd !== null) parts.push(report.simd ? 'SIMD' : 'no SIMD');
  parts.push(`tfjs ${report.versions['tfjs-core'] ?? '?'}`);
  return parts.join(' · ');
}
