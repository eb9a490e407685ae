"""Kernel behaviour beyond the conformance suite, through jupyter_client (the reference Jupyter client library).

Run by kernel_protocol.test.ts with JUPYTER_DATA_DIR holding the installed mixprec kernelspec; the kernel runs in a
fresh folder with no node_modules (so nothing above it provides @types/node or the library).
"""
import os
import queue
import tempfile
import time
import unittest

import zmq
from jupyter_client.manager import start_new_kernel

import replies

from replies import TIMEOUT


class KernelProtocolTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cwd = tempfile.mkdtemp(prefix="mixprec-kernel-cwd-")
        cls.km, cls.kc = start_new_kernel(kernel_name="mixprec", startup_timeout=TIMEOUT, cwd=cls.cwd)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def shell_reply(self, msg_id, timeout=TIMEOUT):
        return replies.shell_reply(self.kc, msg_id, timeout)

    def iopub_until(self, msg_id, done, timeout=TIMEOUT):
        return replies.iopub_until(self.kc, msg_id, done, timeout)

    def run_cell(self, code, timeout=TIMEOUT, **kw):
        outputs = []
        reply = self.kc.execute_interactive(code, output_hook=outputs.append, timeout=timeout, **kw)
        return reply["content"], outputs

    def stdout_of(self, outputs):
        return "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    def test_types_and_globals_without_node_modules(self):
        reply, outputs = self.run_cell('console.log(typeof mixprec.createQuantizer, typeof tf.tensor, process.platform)')
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(self.stdout_of(outputs), "function function linux\n")

    def test_library_and_tools_entries_from_a_cell(self):
        code = ('import { runNotebook } from "mixprec/tools"; import type { ComparisonRow } from "mixprec"; '
                'const rows: ComparisonRow[] = []; console.log(typeof runNotebook, "runNotebook" in mixprec, rows.length)')
        reply, outputs = self.run_cell(code)
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(self.stdout_of(outputs), "function false 0\n")

    def test_double_underscore_names(self):
        reply, _ = self.run_cell("const __hidden = 41;")
        self.assertEqual(reply["status"], "ok", reply)
        reply, outputs = self.run_cell("__hidden + 1")
        self.assertEqual(reply["status"], "ok", reply)
        results = [m for m in outputs if m["msg_type"] == "execute_result"]
        self.assertEqual(results[0]["content"]["data"]["text/plain"], "42")

    def test_shorthand_property_of_an_earlier_variable(self):
        self.assertEqual(self.run_cell("const shorthand = [1, 2, 3];")[0]["status"], "ok")
        reply, outputs = self.run_cell("({ shorthand, tf: typeof tf }).shorthand.length")
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual([m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"], ["3"])

    def test_esm_only_package_from_a_cell(self):
        reply, outputs = self.run_cell('import * as vl from "vega-lite"; const compiled = vl.compile({ mark: "point", data: { values: [] } }); console.log(typeof compiled.spec)')
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(self.stdout_of(outputs), "object\n")

    def test_fifty_thousand_lines_arrive_in_order(self):
        reply, outputs = self.run_cell("for (let i = 0; i < 50000; i++) console.log(i)")
        self.assertEqual(reply["status"], "ok")
        lines = self.stdout_of(outputs).splitlines()
        self.assertEqual(lines, [str(i) for i in range(50000)])
        self.assertLess(len([m for m in outputs if m["msg_type"] == "stream"]), 100, "output is batched")

    def test_execute_input_and_counts(self):
        before = self.run_cell("1")[0]["execution_count"]
        reply, outputs = self.run_cell("2")
        self.assertEqual(reply["execution_count"], before + 1)
        inputs = [m for m in outputs if m["msg_type"] == "execute_input"]
        self.assertEqual(inputs[0]["content"]["execution_count"], before + 1)

    def test_error_then_next_cell_runs(self):
        reply, outputs = self.run_cell('throw new TypeError("bad value")')
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "TypeError")
        self.assertEqual(reply["evalue"], "bad value")
        self.assertTrue(any("TypeError: bad value" in line for line in reply["traceback"]))
        # No abort window after an error: the next cell runs at once.
        reply, _ = self.run_cell("1 + 1")
        self.assertEqual(reply["status"], "ok")

    def test_queued_cells_after_an_error_are_aborted(self):
        first = self.kc.execute('throw new Error("first")')
        second = self.kc.execute("console.log('should not run')")
        replies = {}
        for msg_id in (first, second):
            replies[msg_id] = self.shell_reply(msg_id)["content"]["status"]
        self.assertEqual(replies, {first: "error", second: "aborted"})

    def test_stdin_prompt(self):
        msg_id = self.kc.execute('const answer = await prompt("name? "); console.log("got " + answer)', allow_stdin=True)
        request = self.kc.get_stdin_msg(timeout=TIMEOUT)
        self.assertEqual(request["msg_type"], "input_request")
        self.assertEqual(request["content"]["prompt"], "name? ")
        self.kc.input("mixprec")
        reply = self.shell_reply(msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        out = []
        self.iopub_until(msg_id, lambda m: m["msg_type"] == "stream" and (out.append(m["content"]["text"]) or "got mixprec" in "".join(out)))

    def test_prompt_without_stdin_is_an_error(self):
        reply, _ = self.run_cell('await prompt("x")', allow_stdin=False)
        self.assertEqual(reply["status"], "error")
        self.assertIn("allow_stdin is false", reply["evalue"])

    def interrupt_while(self, code, ready=lambda m: m["msg_type"] == "execute_input"):
        """Interrupts the cell once an IOPub message of it satisfies ready (default: it is executing or compiling; an
        interrupt while it compiles stops it before it runs)."""
        msg_id = self.kc.execute(code)
        self.iopub_until(msg_id, ready)
        started = time.time()
        self.km.interrupt_kernel()
        reply = self.shell_reply(msg_id)
        return reply["content"], time.time() - started

    def test_interrupt_synchronous_loop(self):
        reply, took = self.interrupt_while("while (true) {}")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(took, 5)
        reply, _ = self.run_cell("3 * 3")
        self.assertEqual(reply["status"], "ok", reply)

    def test_interrupt_asynchronous_wait(self):
        printed = lambda m: m["msg_type"] == "stream" and "waiting" in m["content"]["text"]
        reply, took = self.interrupt_while('console.log("waiting"); await new Promise(() => {})', printed)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(took, 5)

    def test_interrupt_training_stops_at_a_step_and_keeps_the_model(self):
        code = """
const data = { shape: [8, 8, 1] as const, numClasses: 2, numExamples: 1 << 20,
  async *batches() { for (;;) yield { x: new Float32Array(64 * 16).fill(0.5), y: new Int32Array(16), size: 16 }; } };
const config = mixprec.mergeTrainConfig(mixprec.DEFAULT_TRAIN_CONFIG, { model: 'mnistnet', epochs: 1, batchSize: 16, learningRate: 0.01 });
const run = await mixprec.train({ config, train: data, test: data, outDir: null,
  onEvent: (e) => { if (e.type === 'step' && e.step === 2) console.log('training'); } });
console.log('interrupted', run.interrupted);
"""
        training = lambda m: m["msg_type"] == "stream" and "training" in m["content"]["text"]
        reply, took = self.interrupt_while(code, training)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(took, 5)
        reply, outputs = self.run_cell("run.model.forward(tf.zeros([1, 8, 8, 1]), false).shape")
        self.assertEqual(reply["status"], "ok", reply)
        result = [m for m in outputs if m["msg_type"] == "execute_result"][0]
        self.assertEqual(result["content"]["data"]["text/plain"], "[ 1, 2 ]")

    def test_comms_without_targets(self):
        msg = self.kc.session.msg("comm_info_request", {})
        self.kc.shell_channel.send(msg)
        reply = self.shell_reply(msg["header"]["msg_id"])
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"], {"status": "ok", "comms": {}})
        open_msg = self.kc.session.msg("comm_open", {"comm_id": "c1", "target_name": "nothing", "data": {}})
        self.kc.shell_channel.send(open_msg)
        closes = self.iopub_until(open_msg["header"]["msg_id"], lambda m: m["msg_type"] == "comm_close")
        self.assertEqual(closes[-1]["content"]["comm_id"], "c1")

    def stderr_of_cell(self, code, needle):
        msg_id = self.kc.execute(code)
        self.assertEqual(self.shell_reply(msg_id)["content"]["status"], "ok")
        text = []
        self.iopub_until(msg_id, lambda m: m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
                         and (text.append(m["content"]["text"]) or needle in "".join(text)))
        return "".join(text)

    def test_late_errors_are_reported_and_the_kernel_lives(self):
        text = self.stderr_of_cell("const lost = Promise.reject(new Error('nobody awaits me'))", "nobody awaits me")
        self.assertIn("Unhandled promise rejection: Error: nobody awaits me", text)
        text = self.stderr_of_cell("setTimeout(() => { throw new RangeError('after the cell') }, 100)", "after the cell")
        self.assertIn("Uncaught exception: RangeError: after the cell", text)
        self.assertTrue(self.km.is_alive())
        reply, outputs = self.run_cell("6 * 7")
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual([m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"], ["42"])

    def test_a_replayed_message_is_not_executed_twice(self):
        msg = self.kc.session.msg("execute_request", {"code": "globalThis.replayed = (globalThis.replayed ?? 0) + 1", "silent": False,
                                                      "store_history": False, "user_expressions": {}, "allow_stdin": False})
        # The same signed frames twice: jupyter_client serializes the same header, so the signature repeats.
        self.kc.session.send(self.kc.shell_channel.socket, msg)
        self.kc.session.send(self.kc.shell_channel.socket, msg)
        self.shell_reply(msg["header"]["msg_id"])
        reply, outputs = self.run_cell("globalThis.replayed")
        self.assertEqual([m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"], ["1"])

    def test_heartbeat_answers_while_a_cell_blocks(self):
        msg_id = self.kc.execute("const t0 = Date.now(); while (Date.now() - t0 < 3000) {}")
        # The cell has started (its input is announced just before it runs), not a fixed sleep.
        self.iopub_until(msg_id, lambda m: m["msg_type"] == "execute_input")
        ctx = zmq.Context.instance()
        hb = ctx.socket(zmq.REQ)
        hb.connect(f"tcp://127.0.0.1:{self.km.hb_port}")
        hb.send(b"ping")
        self.assertEqual(hb.poll(2000), zmq.POLLIN, "heartbeat echoed while the main thread is busy")
        self.assertEqual(hb.recv(), b"ping")
        hb.close()
        self.shell_reply(msg_id)

    def test_rejects_a_message_with_a_bad_signature(self):
        # Sign with the wrong key: the kernel must ignore it (no reply), then still answer a good one.
        good_key = self.kc.session.key
        self.kc.session.key = b"not-the-key"
        self.kc.kernel_info()
        with self.assertRaises(queue.Empty):
            self.kc.get_shell_msg(timeout=2)
        self.kc.session.key = good_key
        msg_id = self.kc.kernel_info()
        self.assertEqual(self.shell_reply(msg_id)["msg_type"], "kernel_info_reply")

    def test_update_display_in_place(self):
        reply, outputs = self.run_cell('const h = display.text("first"); h.updateBundle({ "text/plain": "second" });')
        self.assertEqual(reply["status"], "ok")
        kinds = [(m["msg_type"], m["content"].get("transient", {}).get("display_id")) for m in outputs if "display" in m["msg_type"]]
        self.assertEqual([k for k, _ in kinds], ["display_data", "update_display_data"])
        self.assertEqual(kinds[0][1], kinds[1][1])

    def test_zz_restart(self):
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=TIMEOUT)
        reply, outputs = self.run_cell("typeof answer")
        self.assertEqual(reply["status"], "error", "locals are gone after a restart")


class KernelExitTests(unittest.TestCase):
    def test_process_exit_ends_the_kernel_with_its_code(self):
        cwd = tempfile.mkdtemp(prefix="mixprec-kernel-exit-")
        km, kc = start_new_kernel(kernel_name="mixprec", startup_timeout=TIMEOUT, cwd=cwd)
        try:
            kc.execute("process.exit(3)")
            deadline = time.time() + TIMEOUT
            while km.is_alive() and time.time() < deadline:
                time.sleep(0.1)
            self.assertFalse(km.is_alive(), "the kernel is still running after process.exit(3)")
            self.assertEqual(km.provisioner.process.wait(), 3, "exit code 3, not SIGABRT (-6)")
        finally:
            kc.stop_channels()
            if km.is_alive():
                km.shutdown_kernel(now=True)


if __name__ == "__main__":
    unittest.main()
