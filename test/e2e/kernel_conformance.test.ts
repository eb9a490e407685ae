/**
 * The standard kernel conformance suite (Debian's python3-jupyter-kernel-test) against the kernel as Jupyter starts
 * it: the kernelspec written by `mixprec kernel install`, found by jupyter_client on JUPYTER_DATA_DIR.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const python = '/usr/bin/python3';
const available = spawnSync(python, ['-c', 'import jupyter_kernel_test'], { encoding: 'utf8' }).status === 0;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-jupyter-'));

describe('jupyter_kernel_test conformance', { skip: available ? false : 'python3-jupyter-kernel-test is not installed (apt-get install python3-jupyter-kernel-test)' }, () => {
  before(() => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'mixprec.js'), 'kernel', 'install', '--user'], {
      encoding: 'utf8', env: { ...process.env, JUPYTER_DATA_DIR: dataDir },
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('passes every test of KernelTests (stdout, stderr, completion, is_complete, pager, error, execute_result, display_data, history, inspect, clear_output)', () => {
    const r = spawnSync(python, ['-m', 'unittest', '-v', 'kernel_conformance'], {
      encoding: 'utf8', cwd: __dirname, timeout: 300_000,
      env: { ...process.env, JUPYTER_DATA_DIR: dataDir, PYDEVD_DISABLE_FILE_VALIDATION: '1', MIXPREC_BACKEND: 'wasm' },
    });
    const report = r.stderr;
    assert.equal(r.status, 0, `conformance suite failed:\n${report}`);
    assert.match(report, /Ran (\d+) tests/);
    const ran = Number(/Ran (\d+) tests/.exec(report)![1]);
    assert.equal(ran, 12, report);
    assert.doesNotMatch(report, /skipped/, 'no test of the suite is skipped');
    assert.match(report, /\nOK\n?$/);
  });
});
