/**
 * The standard kernel conformance suite (Debian's python3-jupyter-kernel-test) against the kernel as Jupyter starts
 * it: the kernelspec written by `mixprec kernel install`, found by jupyter_client on JUPYTER_DATA_DIR.
 */
import { describe, it } from 'node:test';
import { jupyterWithKernel, missingPython, runPythonUnittest } from '../helpers/jupyter';

const missing = missingPython('jupyter_kernel_test', 'python3-jupyter-kernel-test');

describe('jupyter_kernel_test conformance', { skip: missing || false }, () => {
  it('passes every test of KernelTests (stdout, stderr, completion, is_complete, pager, error, execute_result, display_data, history, inspect, clear_output)', () => {
    runPythonUnittest('kernel_conformance', 12, jupyterWithKernel().env);
  });
});
