"""The Jupyter widget message protocol 2.1 of the mixprec kernel, through jupyter_client (the reference client), acting
as a frontend would: comm_open of widgets (layout and style first, references as IPY_MODEL_<id>), update both ways,
echo_update, request_state, the jupyter.widget.control comm, comm_info by target, custom messages, binary buffers,
Output capture, interact, comm messages handled while a cell runs, and malformed or unknown-comm messages that leave
the kernel answering.

Run by widget_protocol.test.ts with JUPYTER_DATA_DIR holding the installed mixprec kernelspec.
"""
import json
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

import replies

from replies import TIMEOUT


class WidgetProtocolTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cwd = tempfile.mkdtemp(prefix="mixprec-widgets-cwd-")
        cls.km, cls.kc = start_new_kernel(kernel_name="mixprec", startup_timeout=TIMEOUT, cwd=cls.cwd)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    # --- helpers -------------------------------------------------------------------------------------------------

    def iopub_until(self, msg_id, done, timeout=TIMEOUT):
        return replies.iopub_until(self.kc, msg_id, done, timeout)

    def until_idle(self, msg_id):
        return self.iopub_until(msg_id, lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle")

    def execute(self, code):
        """Runs a cell; returns (reply content, the IOPub messages of it up to idle)."""
        msg_id = self.kc.execute(code)
        messages = self.until_idle(msg_id)
        reply = self.shell_reply(msg_id)
        return reply["content"], messages

    def shell_reply(self, msg_id, timeout=TIMEOUT):
        return replies.shell_reply(self.kc, msg_id, timeout)

    def ok(self, code):
        reply, messages = self.execute(code)
        self.assertEqual(reply["status"], "ok", f"{code}: {reply}")
        return messages

    def stdout(self, messages, name="stdout"):
        return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == name)

    def value_of(self, expression):
        """The JSON value of a TypeScript expression in the kernel."""
        messages = self.ok(f"console.log(JSON.stringify({expression}))")
        return json.loads(self.stdout(messages))

    def send_comm(self, msg_type, content, buffers=None):
        """Sends a comm message on the shell channel as a frontend does; returns its msg_id."""
        msg = self.kc.session.msg(msg_type, content)
        self.kc.session.send(self.kc.shell_channel.socket, msg, buffers=buffers or [])
        return msg["header"]["msg_id"]

    def comm_msgs(self, messages, comm_id=None, method=None):
        return [
            m
            for m in messages
            if m["msg_type"] == "comm_msg"
            and (comm_id is None or m["content"]["comm_id"] == comm_id)
            and (method is None or m["content"]["data"].get("method") == method)
        ]

    def opens(self, messages):
        return [m for m in messages if m["msg_type"] == "comm_open"]

    def slider(self, name="s", options="{ value: 3, min: 2, max: 8, description: 'bits' }"):
        """Creates an IntSlider in the kernel as the cell's last expression; returns (its comm_open, all opens, messages)."""
        messages = self.ok(f"const {name} = new widgets.IntSlider({options}); {name}")
        opens = self.opens(messages)
        slider = [m for m in opens if m["content"]["data"]["state"]["_model_name"] == "IntSliderModel"][-1]
        return slider, opens, messages

    # --- tests ---------------------------------------------------------------------------------------------------

    def test_a_widget_opens_with_its_layout_and_style_first_and_shows_as_a_view(self):
        slider, opens, messages = self.slider("s1")
        content = slider["content"]
        self.assertEqual(content["target_name"], "jupyter.widget")
        self.assertEqual(slider["metadata"], {"version": "2.1.0"})
        state = content["data"]["state"]
        self.assertEqual(content["data"]["buffer_paths"], [])
        self.assertEqual(
            {k: state[k] for k in ("_model_module", "_model_module_version", "_view_name", "value", "min", "max", "description")},
            {
                "_model_module": "@jupyter-widgets/controls",
                "_model_module_version": "2.0.0",
                "_view_name": "IntSliderView",
                "value": 3,
                "min": 2,
                "max": 8,
                "description": "bits",
            },
        )
        ids = [m["content"]["comm_id"] for m in opens]
        for key, model in (("layout", "LayoutModel"), ("style", "SliderStyleModel")):
            self.assertTrue(state[key].startswith("IPY_MODEL_"), state[key])
            ref = state[key][len("IPY_MODEL_"):]
            self.assertIn(ref, ids)
            self.assertLess(ids.index(ref), ids.index(content["comm_id"]), f"{key} opened before the slider")
            opened = opens[ids.index(ref)]["content"]["data"]["state"]
            self.assertEqual(opened["_model_name"], model)
        results = [m for m in messages if m["msg_type"] == "execute_result"]
        self.assertEqual(len(results), 1)
        view = results[0]["content"]["data"]["application/vnd.jupyter.widget-view+json"]
        self.assertEqual(view, {"version_major": 2, "version_minor": 0, "model_id": content["comm_id"]})
        self.assertIn("IntSlider(", results[0]["content"]["data"]["text/plain"])

    def test_updates_both_ways_with_echo_and_observers(self):
        slider, _, _ = self.slider("s2")
        comm_id = slider["content"]["comm_id"]
        messages = self.ok("const seen2: unknown[] = []; s2.observe('value', (c) => { seen2.push([c.name, c.old, c.new, c.owner === s2]); }); s2.value = 5;")
        updates = self.comm_msgs(messages, comm_id, "update")
        self.assertEqual([u["content"]["data"] for u in updates], [{"method": "update", "state": {"value": 5}, "buffer_paths": []}])

        msg_id = self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"value": 7}, "buffer_paths": []}})
        answered = self.until_idle(msg_id)
        echoes = self.comm_msgs(answered, comm_id, "echo_update")
        self.assertEqual(len(echoes), 1, [m["msg_type"] for m in answered])
        self.assertEqual(echoes[0]["content"]["data"]["state"], {"value": 7})
        self.assertEqual(self.comm_msgs(answered, comm_id, "update"), [], "no update back for a value the frontend sent")
        self.assertEqual(self.value_of("[s2.value, seen2]"), [7, [["value", 3, 5, True], ["value", 5, 7, True]]])

    def test_bad_values_from_a_frontend_are_refused_on_stderr(self):
        slider, _, _ = self.slider("s3")
        comm_id = slider["content"]["comm_id"]
        for bad in (100, "seven", 2.5, None):
            msg_id = self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"value": bad}, "buffer_paths": []}})
            answered = self.until_idle(msg_id)
            stderr = self.stdout(answered, "stderr")
            self.assertIn("refused value = ", stderr, f"{bad!r}: {stderr}")
            # The frontend is told the value the kernel kept.
            back = self.comm_msgs(answered, comm_id, "update")
            self.assertEqual([b["content"]["data"]["state"] for b in back], [{"value": 3}], bad)
        msg_id = self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"no_such_trait": 1, "_model_name": "X"}}})
        stderr = self.stdout(self.until_idle(msg_id), "stderr")
        self.assertIn('"no_such_trait": no such trait', stderr)
        self.assertIn('"_model_name"', stderr)
        self.assertEqual(self.value_of("s3.value"), 3)

    def test_request_state_answers_the_whole_state(self):
        slider, _, _ = self.slider("s4")
        comm_id = slider["content"]["comm_id"]
        self.ok("s4.value = 6")
        msg_id = self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "request_state"}})
        updates = self.comm_msgs(self.until_idle(msg_id), comm_id, "update")
        self.assertEqual(len(updates), 1)
        state = updates[0]["content"]["data"]["state"]
        self.assertEqual(state["value"], 6)
        self.assertEqual(state["_model_name"], "IntSliderModel")
        self.assertEqual(set(slider["content"]["data"]["state"]), set(state))

    def test_control_comm_gives_a_reloaded_page_every_widget(self):
        slider, opens, _ = self.slider("s5")
        msg_id = self.send_comm("comm_open", {"comm_id": "control-1", "target_name": "jupyter.widget.control", "data": {}})
        self.until_idle(msg_id)
        info = self.comm_info("jupyter.widget.control")
        self.assertEqual(info, {"control-1": {"target_name": "jupyter.widget.control"}})
        msg_id = self.send_comm("comm_msg", {"comm_id": "control-1", "data": {"method": "request_states"}})
        replies = self.comm_msgs(self.until_idle(msg_id), "control-1", "update_states")
        self.assertEqual(len(replies), 1)
        states = replies[0]["content"]["data"]["states"]
        for opened in opens:
            model_id = opened["content"]["comm_id"]
            self.assertIn(model_id, states)
            self.assertEqual(states[model_id]["model_name"], opened["content"]["data"]["state"]["_model_name"])
        entry = states[slider["content"]["comm_id"]]
        self.assertEqual((entry["model_module"], entry["model_module_version"], entry["state"]["value"]), ("@jupyter-widgets/controls", "2.0.0", 3))
        # Binary traits (the Blob widget of another test, if it ran first) come as buffers at [model_id, 'state', …].
        paths = replies[0]["content"]["data"]["buffer_paths"]
        self.assertEqual(len(paths), len(replies[0]["buffers"]))
        for path in paths:
            self.assertIn(path[0], states)
            self.assertEqual(path[1], "state")

    def comm_info(self, target=None):
        content = {} if target is None else {"target_name": target}
        msg = self.kc.session.msg("comm_info_request", content)
        self.kc.shell_channel.send(msg)
        reply = self.shell_reply(msg["header"]["msg_id"])
        self.assertEqual(reply["content"]["status"], "ok")
        return reply["content"]["comms"]

    def test_comm_info_lists_widgets_by_target(self):
        slider, opens, _ = self.slider("s6")
        widgets = self.comm_info("jupyter.widget")
        for opened in opens:
            self.assertEqual(widgets[opened["content"]["comm_id"]], {"target_name": "jupyter.widget"})
        self.assertEqual(self.comm_info("no.such.target"), {})
        everything = self.comm_info()
        self.assertTrue(set(widgets) <= set(everything))

    def test_custom_messages_both_ways_with_buffers(self):
        messages = self.ok("const b7 = new widgets.Button({ description: 'go' }); let clicks7 = 0; b7.onClick(() => { clicks7++; console.log('clicked'); }); b7")
        button = [m for m in self.opens(messages) if m["content"]["data"]["state"]["_model_name"] == "ButtonModel"][0]
        comm_id = button["content"]["comm_id"]
        msg_id = self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})
        self.assertEqual(self.stdout(self.until_idle(msg_id)), "clicked\n", "the click handler's output has the click as parent")
        self.assertEqual(self.value_of("clicks7"), 1)
        messages = self.ok("b7.send({ hello: 1 }, [new Uint8Array([1, 2, 3])])")
        custom = self.comm_msgs(messages, comm_id, "custom")
        self.assertEqual(len(custom), 1)
        self.assertEqual(custom[0]["content"]["data"]["content"], {"hello": 1})
        self.assertEqual([bytes(b) for b in custom[0]["buffers"]], [b"\x01\x02\x03"])

    def test_binary_traits_travel_as_buffers(self):
        code = (
            "class Blob extends widgets.Widget { declare data: Uint8Array; declare name: string }\n"
            "widgets.defineWidget(Blob, { modelName: 'BlobModel', modelModule: 'blob-test', modelModuleVersion: '1.0.0',"
            " traits: { data: widgets.traits.bytes(), name: widgets.traits.str('') } });\n"
            "const blob = new Blob({ data: new Uint8Array([9, 8]), name: 'b' });"
        )
        opens = self.opens(self.ok(code))
        self.assertEqual(len(opens), 1)
        content = opens[0]["content"]
        self.assertEqual(content["data"]["buffer_paths"], [["data"]])
        self.assertNotIn("data", content["data"]["state"])
        self.assertEqual([bytes(b) for b in opens[0]["buffers"]], [b"\x09\x08"])
        comm_id = content["comm_id"]
        msg_id = self.send_comm(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"name": "c"}, "buffer_paths": [["data"]]}}, buffers=[b"abc"]
        )
        echo = self.comm_msgs(self.until_idle(msg_id), comm_id, "echo_update")
        self.assertEqual(echo[0]["content"]["data"]["buffer_paths"], [["data"]])
        self.assertEqual([bytes(b) for b in echo[0]["buffers"]], [b"abc"])
        self.assertEqual(self.value_of("[Array.from(blob.data), blob.name]"), [[97, 98, 99], "c"])
        # A buffer path that names more buffers than the message carries is refused; the value stays.
        msg_id = self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {}, "buffer_paths": [["data"], ["x"]]}}, buffers=[b"z"])
        self.assertIn("refused an update", self.stdout(self.until_idle(msg_id), "stderr"))
        self.assertEqual(self.value_of("Array.from(blob.data)"), [97, 98, 99])

    def test_output_widget_captures_by_msg_id(self):
        messages = self.ok("const out8 = new widgets.Output(); out8")
        comm_id = self.opens(messages)[-1]["content"]["comm_id"]
        msg_id = self.kc.execute("await out8.capture(async () => { console.log('inside'); await display.text('shown'); }); console.log('after')")
        messages = self.until_idle(msg_id)
        sequence = []
        for m in messages:
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id:
                sequence.append(("msg_id", m["content"]["data"]["state"]["msg_id"]))
            elif m["msg_type"] in ("stream", "display_data"):
                sequence.append((m["msg_type"], m["content"].get("text") or m["content"]["data"]["text/plain"]))
        self.assertEqual(sequence, [("msg_id", msg_id), ("stream", "inside\n"), ("display_data", "shown"), ("msg_id", ""), ("stream", "after\n")])

    def test_interact_builds_controls_and_reruns_into_its_output(self):
        code = "const h9 = await widgets.interact(({ bits, kind }) => { console.log(kind, bits); }, { bits: [2, 8], kind: ['U3', 'P3'] })"
        msg_id = self.kc.execute(code)
        messages = self.until_idle(msg_id)
        reply = self.shell_reply(msg_id)["content"]
        self.assertEqual(reply["status"], "ok", reply)
        models = {m["content"]["data"]["state"]["_model_name"]: m for m in self.opens(messages)}
        self.assertEqual(models["IntSliderModel"]["content"]["data"]["state"]["value"], 5)
        dropdown = models["DropdownModel"]["content"]["data"]["state"]
        self.assertEqual((dropdown["_options_labels"], dropdown["index"]), (["U3", "P3"], 0))
        box = models["VBoxModel"]
        self.assertEqual(len(box["content"]["data"]["state"]["children"]), 3)
        shown = [m for m in messages if m["msg_type"] == "display_data" and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
        self.assertEqual(shown[0]["content"]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"], box["content"]["comm_id"])
        self.assertEqual(self.stdout(messages), "U3 5\n")
        self.assertEqual([m for m in messages if m["msg_type"] == "execute_result"], [], "the handle shows nothing more")

        slider_id = models["IntSliderModel"]["content"]["comm_id"]
        output_id = models["OutputModel"]["content"]["comm_id"]
        change = self.send_comm("comm_msg", {"comm_id": slider_id, "data": {"method": "update", "state": {"value": 3}, "buffer_paths": []}})
        answered = self.until_idle(change)
        self.assertEqual(self.stdout(answered), "U3 3\n")
        captured = [m["content"]["data"]["state"]["msg_id"] for m in self.comm_msgs(answered, output_id, "update") if "msg_id" in m["content"]["data"]["state"]]
        self.assertEqual(captured, [change, ""], "the rerun is captured by the Output with the change as parent")
        self.assertEqual(self.value_of("[h9.widget.values().bits, h9.widget.values().kind]"), [3, "U3"])

    def test_comm_messages_reach_a_running_cell(self):
        messages = self.ok("const b10 = new widgets.Button({ description: 'stop' }); let stop10 = false; b10.onClick(() => { stop10 = true; }); b10")
        comm_id = [m for m in self.opens(messages) if m["content"]["data"]["state"]["_model_name"] == "ButtonModel"][0]["content"]["comm_id"]
        # The cell waits for the click, which arrives while it runs (queued behind the cell, it would never stop it).
        cell = self.kc.execute("let steps10 = 0;\n"
                               "while (!stop10 && steps10 < 4000) { steps10++; await new Promise((r) => setTimeout(r, 5)); }\n"
                               "console.log('stopped', stop10)")
        self.iopub_until(cell, lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "busy")
        self.send_comm("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})
        messages = self.until_idle(cell)
        self.assertEqual(self.shell_reply(cell)["content"]["status"], "ok")
        self.assertEqual(self.stdout(messages), "stopped true\n")

    def test_close_and_malformed_messages_leave_the_kernel_answering(self):
        slider, _, _ = self.slider("s11")
        comm_id = slider["content"]["comm_id"]
        messages = self.ok("s11.close(); console.log(s11.isClosed)")
        closes = [m for m in messages if m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id]
        self.assertEqual(len(closes), 1)
        self.assertNotIn(comm_id, self.comm_info("jupyter.widget"))
        for content in (
            {"comm_id": comm_id, "data": {"method": "update", "state": {"value": 4}}},  # closed
            {"comm_id": "no-such-comm", "data": {"method": "update", "state": {}}},
            {"data": {"method": "update"}},
            {"comm_id": 17, "data": "not an object"},
        ):
            self.until_idle(self.send_comm("comm_msg", content))
        live, _, _ = self.slider("s12")
        live_id = live["content"]["comm_id"]
        for data in ({"method": "nope"}, {"method": "update", "state": [1, 2]}, {"state": {"value": 4}}, "text"):
            answered = self.until_idle(self.send_comm("comm_msg", {"comm_id": live_id, "data": data}))
            self.assertIn("refused", self.stdout(answered, "stderr"), data)
        # A frontend opening a widget model, and a target that does not exist.
        answered = self.until_idle(self.send_comm("comm_open", {"comm_id": "f1", "target_name": "jupyter.widget", "data": {"state": {"_model_name": "IntSliderModel"}}}))
        self.assertTrue(any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == "f1" for m in answered))
        answered = self.until_idle(self.send_comm("comm_open", {"comm_id": "f2", "target_name": "no.such", "data": {}}))
        self.assertTrue(any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == "f2" for m in answered))
        self.assertEqual(self.value_of("s12.value + 1"), 4)

    def test_quantizer_explorer_redraws_from_the_library(self):
        messages = self.ok("const ex13 = mixprec.quantizerExplorer({ parametrization: 'U3', b: 3 })")
        models = {}
        for m in self.opens(messages):
            models.setdefault(m["content"]["data"]["state"]["_model_name"], []).append(m)
        html = models["HTMLModel"][0]
        bits = [m for m in models["IntSliderModel"] if m["content"]["data"]["state"]["description"] == "bits b"][0]
        # The charts arrive as an update of the HTML model, before the cell ends.
        drawn = [u["content"]["data"]["state"]["value"] for u in self.comm_msgs(messages, html["content"]["comm_id"], "update")]
        self.assertTrue(drawn and '<svg' in drawn[-1] and 'data-b="3"' in drawn[-1], drawn[-1][:200] if drawn else drawn)
        change = self.send_comm("comm_msg", {"comm_id": bits["content"]["comm_id"], "data": {"method": "update", "state": {"value": 5}, "buffer_paths": []}})
        redrawn = [u["content"]["data"]["state"] for u in self.comm_msgs(self.until_idle(change), html["content"]["comm_id"], "update")]
        self.assertTrue(any('data-b="5"' in u.get("value", "") and "<svg" in u["value"] for u in redrawn), redrawn)
        self.assertEqual(self.value_of("[ex13.bits.value, ex13.derived.value]"), [5, "U3: b = 5, d = 0.25, qmax = (2^(b−1) − 1)·d = 3.75"])

    def test_training_dashboard_pause_learning_rate_and_stop_at_step_boundaries(self):
        code = """
const data14 = { shape: [8, 8, 1] as const, numClasses: 2, numExamples: 1 << 20,
  async *batches() { for (;;) yield { x: new Float32Array(64 * 16).fill(0.5), y: new Int32Array(16), size: 16 }; } };
const config14 = mixprec.mergeTrainConfig(mixprec.DEFAULT_TRAIN_CONFIG, { model: 'mnistnet', epochs: 1, batchSize: 16, learningRate: 0.01 });
const dash14 = mixprec.trainingDashboard({ title: 'dash', maxUpdatesPerSecond: 20 });
const seen14: [number, number, boolean][] = [];
const run14 = await mixprec.train({ config: config14, train: data14, test: data14, outDir: null, ...dash14.trainOptions,
  onEvent: (e) => { dash14.trainOptions.onEvent(e); if (e.type === 'step') seen14.push([e.step, e.learningRate, dash14.paused]); } });
console.log(JSON.stringify({ interrupted: run14.interrupted, step: run14.interruptedAt?.step, steps: seen14.length,
  whilePaused: seen14.filter((s) => s[2]).length, rates: [...new Set(seen14.map((s) => s[1]))] }));
"""
        cell = self.kc.execute(code)
        opened = {}
        label = None

        def status(m):
            nonlocal label
            if m["msg_type"] == "comm_open":
                state = m["content"]["data"]["state"]
                opened.setdefault(state["_model_name"], []).append(m["content"]["comm_id"])
                if state["_model_name"] == "LabelModel":
                    label = m["content"]["comm_id"]
            return label is not None and m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == label and "training" in m["content"]["data"].get("state", {}).get("value", "")

        self.iopub_until(cell, status)
        buttons = opened["ButtonModel"]
        stop, pause = buttons[0], buttons[1]
        factor = [c for c in opened["FloatLogSliderModel"]][0]
        label_says = lambda text: (lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == label and text in m["content"]["data"].get("state", {}).get("value", ""))
        click = lambda button: self.send_comm("comm_msg", {"comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}})
        # The comm messages arrive while the cell runs; their output has them as parent.
        self.iopub_until(click(pause), label_says("paused"))
        change = self.send_comm("comm_msg", {"comm_id": factor, "data": {"method": "update", "state": {"value": 0.25}, "buffer_paths": []}})
        self.iopub_until(change, lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "echo_update")
        click(pause)  # Resume
        self.iopub_until(cell, label_says("learning rate 0.00250"))
        self.iopub_until(click(stop), label_says("stopping"))
        messages = self.iopub_until(cell, lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle")
        reply = self.shell_reply(cell)["content"]
        self.assertEqual(reply["status"], "ok", reply)
        summary = json.loads([line for line in self.stdout(messages).splitlines() if line.startswith("{")][-1])
        self.assertTrue(summary["interrupted"], summary)
        self.assertEqual(summary["step"], summary["steps"], "stopped at the step boundary after the last step")
        self.assertEqual(summary["whilePaused"], 0, "no step ran while paused")
        self.assertEqual(summary["rates"], [0.01, 0.0025])
        self.assertEqual(self.value_of("run14.model.forward(tf.zeros([1, 8, 8, 1]), false).shape"), [1, 2])


if __name__ == "__main__":
    unittest.main()
