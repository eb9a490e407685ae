/**
 * Kernel behaviour through jupyter_client (the reference client): types and globals in a folder without
 * node_modules, the `mixprec` and `mixprec/tools` entries imported from a cell, `__` names, shorthand properties of
 * earlier variables, ESM-only packages, 50,000 output lines, errors and aborted queues, stdin, interrupts of
 * synchronous loops, asynchronous waits and training, comms, heartbeat while busy, signature checks, replayed messages,
 * late errors (unhandled rejections, throws in timers) that leave the kernel alive, process.exit codes, display
 * updates, restart.
 */
import { describe, it } from 'node:test';
import { jupyterWithKernel, missingPython, runPythonUnittest } from '../helpers/jupyter';

const missing = missingPython('jupyter_client', 'jupyter-client');

describe('kernel protocol through jupyter_client', { skip: missing || false }, () => {
  it('passes every scenario of kernel_protocol.py', () => {
    runPythonUnittest('kernel_protocol', 22, jupyterWithKernel().env);
  });
});
