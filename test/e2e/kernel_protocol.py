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

TIMEOUT = 60


class KernelProtocolTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cwd = tempfile.mkdtemp(prefix="mixprec-kernel-cwd-")
        cls.km, cls.kc = start_new_kernel(kernel_name="mixprec", startup_timeout=TIMEOUT, cwd=cls.cwd)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

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
        while len(replies) < 2:
            msg = self.kc.get_shell_msg(timeout=TIMEOUT)
            replies[msg["parent_header"]["msg_id"]] = msg["content"]["status"]
        self.assertEqual(replies, {first: "error", second: "aborted"})

    def test_stdin_prompt(self):
        msg_id = self.kc.execute('const answer = await prompt("name? "); console.log("got " + answer)', allow_stdin=True)
        request = self.kc.get_stdin_msg(timeout=TIMEOUT)
        self.assertEqual(request["msg_type"], "input_request")
        self.assertEqual(request["content"]["prompt"], "name? ")
        self.kc.input("mixprec")
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        out = ""
        deadline = time.time() + 5
        while "got mixprec" not in out and time.time() < deadline:
            try:
                m = self.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if m["msg_type"] == "stream":
                out += m["content"]["text"]
        self.assertIn("got mixprec", out)

    def test_prompt_without_stdin_is_an_error(self):
        reply, _ = self.run_cell('await prompt("x")', allow_stdin=False)
        self.assertEqual(reply["status"], "error")
        self.assertIn("allow_stdin is false", reply["evalue"])

    def interrupt_while(self, code, wait=1.5):
        msg_id = self.kc.execute(code)
        time.sleep(wait)
        started = time.time()
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        return reply["content"], time.time() - started

    def test_interrupt_synchronous_loop(self):
        reply, took = self.interrupt_while("while (true) {}")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(took, 5)
        self.assertEqual(self.run_cell("3 * 3")[0]["status"], "ok")

    def test_interrupt_asynchronous_wait(self):
        reply, took = self.interrupt_while("await new Promise(() => {})")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(took, 5)

    def test_interrupt_training_stops_at_a_step_and_keeps_the_model(self):
        code = """
const data = { shape: [8, 8, 1] as const, numClasses: 2, numExamples: 1 << 20,
  async *batches() { for (;;) yield { x: new Float32Array(64 * 16).fill(0.5), y: new Int32Array(16), size: 16 }; } };
const config = mixprec.mergeTrainConfig(mixprec.DEFAULT_TRAIN_CONFIG, { model: 'mnistnet', epochs: 1, batchSize: 16, learningRate: 0.01 });
const run = await mixprec.train({ config, train: data, test: data, outDir: null });
console.log('interrupted', run.interrupted);
"""
        reply, took = self.interrupt_while(code, wait=4)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertLess(took, 5)
        reply, outputs = self.run_cell("run.model.forward(tf.zeros([1, 8, 8, 1]), false).shape")
        self.assertEqual(reply["status"], "ok", reply)
        result = [m for m in outputs if m["msg_type"] == "execute_result"][0]
        self.assertEqual(result["content"]["data"]["text/plain"], "[ 1, 2 ]")

    def test_comms_without_targets(self):
        msg = self.kc.session.msg("comm_info_request", {})
        self.kc.shell_channel.send(msg)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"], {"status": "ok", "comms": {}})
        open_msg = self.kc.session.msg("comm_open", {"comm_id": "c1", "target_name": "nothing", "data": {}})
        self.kc.shell_channel.send(open_msg)
        deadline = time.time() + 10
        while time.time() < deadline:
            m = self.kc.get_iopub_msg(timeout=TIMEOUT)
            if m["msg_type"] == "comm_close":
                self.assertEqual(m["content"]["comm_id"], "c1")
                break
        else:
            self.fail("no comm_close for an unknown target")

    def test_heartbeat_answers_while_a_cell_blocks(self):
        self.kc.execute("const t0 = Date.now(); while (Date.now() - t0 < 3000) {}")
        time.sleep(0.5)
        ctx = zmq.Context.instance()
        hb = ctx.socket(zmq.REQ)
        hb.connect(f"tcp://127.0.0.1:{self.km.hb_port}")
        hb.send(b"ping")
        self.assertEqual(hb.poll(2000), zmq.POLLIN, "heartbeat echoed while the main thread is busy")
        self.assertEqual(hb.recv(), b"ping")
        hb.close()
        self.kc.get_shell_msg(timeout=TIMEOUT)

    def test_rejects_a_message_with_a_bad_signature(self):
        # Sign with the wrong key: the kernel must ignore it (no reply), then still answer a good one.
        good_key = self.kc.session.key
        self.kc.session.key = b"not-the-key"
        self.kc.kernel_info()
        with self.assertRaises(queue.Empty):
            self.kc.get_shell_msg(timeout=2)
        self.kc.session.key = good_key
        self.kc.kernel_info()
        self.assertEqual(self.kc.get_shell_msg(timeout=TIMEOUT)["msg_type"], "kernel_info_reply")

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


if __name__ == "__main__":
    unittest.main()
