/**
 * Running the Python-side checks with Debian's Jupyter tools against the kernel as users install it: a private
 * JUPYTER_DATA_DIR where `mixprec kernel install` writes the kernelspec.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PYTHON = '/usr/bin/python3';

/**
 * Why a Python module is unusable here ('' when it imports). With MIXPREC_TEST_REQUIRE_TOOLS=1 (CI, which installs
 * them) a missing tool is an error instead of a reason to skip.
 */
export function missingPython(module: string, debianPackage: string): string {
  const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  return r.status === 0 ? '' : missingTool(`${module} is not importable (apt-get install ${debianPackage})`);
}

export function missingTool(reason: string): string {
  if (process.env.MIXPREC_TEST_REQUIRE_TOOLS === '1') throw new Error(`required test tool missing: ${reason}`);
  return reason;
}

/** A fresh Jupyter data folder with the mixprec kernelspec installed the way a user installs it. */
export function jupyterWithKernel(): { env: NodeJS.ProcessEnv; dataDir: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-jupyter-'));
  const env = { ...process.env, JUPYTER_DATA_DIR: dataDir, PYDEVD_DISABLE_FILE_VALIDATION: '1', MIXPREC_BACKEND: 'wasm' };
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'mixprec.js'), 'kernel', 'install', '--user'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  return { env, dataDir };
}

/** Runs `python3 -m unittest -v MODULE` in test/e2e and asserts that all `expected` tests ran and passed. */
export function runPythonUnittest(module: string, expected: number, env: NodeJS.ProcessEnv, timeoutMs = 300_000): string {
  const r = spawnSync(PYTHON, ['-m', 'unittest', '-v', module], { encoding: 'utf8', cwd: path.join(ROOT, 'test', 'e2e'), timeout: timeoutMs, env });
  const report = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `${module} failed:\n${report}`);
  const ran = Number(/Ran (\d+) tests?/.exec(report)?.[1]);
  assert.equal(ran, expected, report);
  assert.doesNotMatch(report, /skipped/, report);
  assert.match(report, /\nOK\n?$/);
  return report;
}
