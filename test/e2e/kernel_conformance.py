"""Debian's jupyter_kernel_test (the standard kernel conformance suite) against the installed mixprec kernel.

Run by test/e2e/kernel_conformance.test.ts with JUPYTER_DATA_DIR pointing at a folder where `mixprec kernel install`
put the kernelspec.
"""
import unittest

import jupyter_kernel_test as jkt


class MixprecKernelTests(jkt.KernelTests):
    kernel_name = "mixprec"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("some error")'

    completion_samples = [
        {"text": "const abcdefg = 1; abcde", "matches": {"abcdefg"}},
        {"text": "Math.ma", "matches": {"max"}},
    ]
    complete_code_samples = ["1 + 1", "const complete = 1;", "function f() { return 1 }"]
    incomplete_code_samples = ["if (true) {", "function g() {", "const s = [1, 2,"]

    code_page_something = 'page("documentation of something")'
    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"hello" + " world"', "result": "'hello world'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display.markdown("# title")', "mime": "text/markdown"},
        {"code": 'display.table([{ a: 1, b: "x" }])', "mime": "text/html"},
        {
            "code": 'display.vegalite({ data: { values: [{ a: 1 }, { a: 2 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } })',
            "mime": "image/png",
        },
        {
            "code": 'display.vegalite({ data: { values: [{ a: 1 }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" } } })',
            "mime": "application/vnd.vegalite.v5+json",
        },
    ]

    code_history_pattern = "6 * 7*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"
    code_clear_output = "display.clear()"


if __name__ == "__main__":
    unittest.main()
