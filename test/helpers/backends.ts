/**
 * Run a test suite on every backend present, as tfjs-core does: cpu and wasm always; webgpu when an adapter exists
 * (a software one counts for tests: MIXPREC_TEST_WEBGPU=0 skips it, =1 makes its absence a failure).
 */
import { initBackend, type BackendName } from '../../src/backend';

let probed: BackendName[] | undefined;

export async function testBackends(): Promise<BackendName[]> {
  if (probed !== undefined) return probed;
  const names: BackendName[] = ['cpu', 'wasm'];
  const want = process.env.MIXPREC_TEST_WEBGPU;
  if (want !== '0') {
    try {
      await initBackend('webgpu', { allowSoftwareAdapter: true });
      names.push('webgpu');
    } catch (err) {
      if (want === '1') throw err;
    }
  }
  probed = names;
  return names;
}

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name, { allowSoftwareAdapter: true });
}
