"""Data-driven kernel tests: Markdown runbooks whose expected outputs are written in them.

Each file in tests/cases/kernel/ is a runbook. Every ```sh (or bash) block is a step, run in
one tejun kernel per file through jupyter_client, in order. The blocks right after a step say
what it must produce:

  ```output      its stdout, exactly (one final newline is not significant)
  ```stderr      its stderr, exactly
  ```result      the text/plain of its execute_result or display_data
  ```error       first line: the ename; further lines: text the evalue must contain
  ```output-re   a Python regular expression its stdout must match in full

A step with no error block must succeed. Step attributes: stdin="a|b" answers the step's
input requests in order (allow_stdin is true only when it is given, or with stdin=none);
name=... labels the step in failure messages.

Usage: run_cases.py [CASE.md ...]   (default: every case; TEJUN names the binary)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

HERE = os.path.dirname(os.path.abspath(__file__))
TEJUN = os.environ.get("TEJUN", "tejun")
EXPECTATIONS = ("output", "stderr", "result", "error", "output-re")


def load_steps(path, scratch):
    """The steps of a case file, read by tejun's own Markdown reader."""
    notebook_path = os.path.join(scratch, os.path.basename(path) + ".ipynb")
    subprocess.run([TEJUN, "convert", path, notebook_path], check=True)
    with open(notebook_path, encoding="utf-8") as file:
        cells = json.load(file)["cells"]
    steps = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tejun = cell.get("metadata", {}).get("tejun", {})
        language = tejun.get("language", "sh")
        if language in EXPECTATIONS:
            if not steps:
                raise ValueError(f"{path}: a ```{language} block before any step")
            if language in steps[-1]["expect"]:
                raise ValueError(f"{path}: step {steps[-1]['name']} has two ```{language} blocks")
            steps[-1]["expect"][language] = source
            continue
        attributes = tejun.get("attributes", {})
        steps.append({
            "name": attributes.get("name", f"#{len(steps) + 1}"),
            "code": source,
            "stdin": attributes.get("stdin"),
            "expect": {},
        })
    return steps


def run_step(client, step):
    seen = {"stdout": "", "stderr": "", "result": [], "error": None}
    answers = None if step["stdin"] in (None, "none") else step["stdin"].split("|")

    def on_output(message):
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            seen[content["name"]] += content["text"]
        elif kind in ("execute_result", "display_data"):
            seen["result"].append(content["data"].get("text/plain", ""))
        elif kind == "error":
            seen["error"] = (content["ename"], content["evalue"])

    def on_input(message):
        if not answers:
            raise AssertionError(f"step {step['name']} asked for input more times than stdin= answers")
        client.input(answers.pop(0))

    reply = client.execute_interactive(
        step["code"], output_hook=on_output, stdin_hook=on_input,
        allow_stdin=step["stdin"] is not None, timeout=30)
    return reply["content"], seen


def normalise(text):
    return text[:-1] if text.endswith("\n") else text


def check_step(test, path, step, reply, seen):
    where = f"{os.path.basename(path)}: step {step['name']}"
    expect = step["expect"]
    if "error" in expect:
        lines = expect["error"].split("\n")
        test.assertEqual(reply["status"], "error", f"{where}: expected an error")
        test.assertEqual(reply["ename"], lines[0], f"{where}: ename")
        for line in lines[1:]:
            test.assertIn(line, reply["evalue"], f"{where}: evalue")
        test.assertEqual(seen["error"], (reply["ename"], reply["evalue"]), f"{where}: iopub error")
    else:
        test.assertEqual(reply["status"], "ok", f"{where}: failed: {reply.get('ename')}: {reply.get('evalue')}")
    if "output" in expect:
        test.assertEqual(normalise(seen["stdout"]), normalise(expect["output"]), f"{where}: stdout")
    if "output-re" in expect:
        test.assertRegex(seen["stdout"], "^(?:" + expect["output-re"] + ")$", f"{where}: stdout")
    if "stderr" in expect:
        test.assertEqual(normalise(seen["stderr"]), normalise(expect["stderr"]), f"{where}: stderr")
    if "result" in expect:
        test.assertEqual([normalise(r) for r in seen["result"]], [normalise(expect["result"])],
                         f"{where}: result")


class KernelCases(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.TemporaryDirectory()
        prefix = cls.scratch.name
        subprocess.run([TEJUN, "kernel", "install", "--prefix", prefix, "--name", "tejun-cases"],
                       check=True, stdout=subprocess.DEVNULL)
        os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def run_case(self, path):
        steps = load_steps(path, self.scratch.name)
        self.assertTrue(steps, f"{path} has no steps")
        workdir = tempfile.mkdtemp(dir=self.scratch.name)
        manager, client = start_new_kernel(kernel_name="tejun-cases", cwd=workdir,
                                           env=dict(os.environ, CASE_DIR=os.path.dirname(path)))
        try:
            for step in steps:
                reply, seen = run_step(client, step)
                check_step(self, path, step, reply, seen)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)


def case_files(arguments):
    if arguments:
        return [os.path.abspath(a) for a in arguments]
    folder = os.path.join(HERE, "kernel")
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".md"))


def main():
    for path in case_files(sys.argv[1:]):
        name = "test_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        setattr(KernelCases, name, lambda self, p=path: self.run_case(p))
    runner = unittest.TextTestRunner(verbosity=2)
    result = runner.run(unittest.defaultTestLoader.loadTestsFromTestCase(KernelCases))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
