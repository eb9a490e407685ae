/**
 * The widget message protocol 2.1 of the kernel through jupyter_client acting as a frontend (widget_protocol.py):
 * comm_open order and references, update both ways, echo_update, request_state, the control comm, comm_info by target,
 * custom messages, buffers, Output capture, interact, comm messages during a running cell, malformed messages.
 */
import { describe, it } from 'node:test';
import { jupyterWithKernel, missingPython, runPythonUnittest } from '../helpers/jupyter';

const missing = missingPython('jupyter_client', 'jupyter-client');

describe('widget protocol through jupyter_client', { skip: missing || false }, () => {
  it('passes every scenario of widget_protocol.py', () => {
    runPythonUnittest('widget_protocol', 14, jupyterWithKernel().env);
  });
});
