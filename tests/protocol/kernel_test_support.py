"""What the kernel's Python tests share: the tejun kernel installed into a throwaway Jupyter
tree (JupyterSandbox) and a fresh kernel per test driven through jupyter_client
(KernelTestCase). For the tests of steps: a kernel of its own environment, working directory
and log (LoggedKernel) whose cells (RecordedCell) are checked for secrets as they come. Nothing
is written outside a temporary folder.
"""

import json
import os
import pathlib
import queue
import subprocess
import tempfile
import time
import unittest

from jupyter_client.manager import start_new_kernel

TEJUN = os.environ.get("TEJUN", "tejun")
TIMEOUT = 30  # seconds; a deadline for things that take milliseconds


def install_kernel(prefix, name=None):
    """`tejun kernel install --prefix PREFIX [--name NAME]`; returns the kernel.json path it wrote."""
    command = [TEJUN, "kernel", "install", "--prefix", str(prefix)]
    if name is not None:
        command += ["--name", name]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr}")
    return pathlib.Path(prefix) / "share" / "jupyter" / "kernels" / (name or "tejun") / "kernel.json"


class JupyterSandbox:
    """A temporary HOME and Jupyter tree with the tejun kernel installed in it. os.environ
    points there (the kernels started by jupyter_client inherit it) until close()."""

    def __init__(self, kernel_name, extra_environment=None):
        self._folder = tempfile.TemporaryDirectory(prefix="tejun-kernel-test-")
        self.root = pathlib.Path(self._folder.name)
        self.kernel_json = install_kernel(self.root / "prefix", kernel_name)
        environment = {
            "HOME": self.root / "home",
            "JUPYTER_PATH": self.root / "prefix" / "share" / "jupyter",
            "JUPYTER_DATA_DIR": self.root / "home" / "jupyter-data",
            "JUPYTER_CONFIG_DIR": self.root / "home" / "jupyter-config",
            "JUPYTER_RUNTIME_DIR": self.root / "home" / "jupyter-runtime",
            "IPYTHONDIR": self.root / "home" / "ipython",
            "XDG_CONFIG_HOME": self.root / "home" / "config",
            "XDG_DATA_HOME": self.root / "home" / "data",
            "XDG_STATE_HOME": self.root / "home" / "state",
            "XDG_CACHE_HOME": self.root / "home" / "cache",
        }
        for folder in environment.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.environment = {name: str(value) for name, value in environment.items()}
        self.environment.update(extra_environment or {})
        self._saved = {name: os.environ.get(name) for name in self.environment}
        os.environ.update(self.environment)

    def close(self):
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._folder.cleanup()


def sandbox_for_runs(kernel_name):
    """A JupyterSandbox with the kernel KERNEL_NAME and, for `tejun run` (which looks the kernel
    `tejun` up), this $TEJUN's kernel under its default name too, not one installed on the machine."""
    sandbox = JupyterSandbox(kernel_name)
    try:
        install_kernel(sandbox.root / "prefix")
    except BaseException:
        sandbox.close()
        raise
    return sandbox


def strings(value):
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


class CellRun:
    """What one execute_request gave: the reply content and the iopub messages for it."""

    def __init__(self, reply, messages):
        self.reply = reply
        self.messages = [m for m in messages if m["msg_type"] not in ("status", "execute_input")]

    def text(self, name):
        return "".join(m["content"]["text"] for m in self.messages
                       if m["msg_type"] == "stream" and m["content"]["name"] == name)

    @property
    def stdout(self):
        return self.text("stdout")

    @property
    def stderr(self):
        return self.text("stderr")

    def of_type(self, msg_type):
        return [m["content"] for m in self.messages if m["msg_type"] == msg_type]


class KernelTestCase(unittest.TestCase):
    """A fresh kernel for each test, through jupyter_client; subclasses name the kernelspec."""

    kernel_name = None

    def setUp(self):
        self.km, self.kc = start_new_kernel(startup_timeout=TIMEOUT, kernel_name=self.kernel_name)
        self.addCleanup(self.km.shutdown_kernel, now=True)
        self.addCleanup(self.kc.stop_channels)
        folder = tempfile.TemporaryDirectory(prefix="tejun-kernel-test-")
        self.addCleanup(folder.cleanup)
        self.folder = pathlib.Path(folder.name).resolve()

    def run_cell(self, code, timeout=TIMEOUT, allow_stdin=False, stdin_hook=None, output_hook=None):
        messages = []

        def on_output(msg):
            messages.append(msg)
            if output_hook:
                output_hook(msg)

        def on_stdin(msg):
            if stdin_hook is None:
                raise AssertionError(f"unexpected stdin request: {msg['content']}")
            stdin_hook(msg)

        reply = self.kc.execute_interactive(code, allow_stdin=allow_stdin, timeout=timeout,
                                            output_hook=on_output, stdin_hook=on_stdin)
        return CellRun(reply["content"], messages)

    def assert_ok(self, cell):
        self.assertEqual(cell.reply["status"], "ok", cell.reply)
        return cell

    def complete(self, text):
        """Every completion of `text`, each applied: the text as it would read after accepting it."""
        self.kc.complete(text)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertEqual(reply["status"], "ok", reply)
        start, end = reply["cursor_start"], reply["cursor_end"]
        return [text[:start] + match + text[end:] for match in reply["matches"]]


class RecordedCell(CellRun):
    """A CellRun with its code, every message (status and execute_input too, for the secrets
    check) and how long it took; shown (str) with SECRETS (tejun_test_support.Secrets) redacted."""

    def __init__(self, code, reply, messages, seconds, secrets):
        super().__init__(reply, messages)
        self.code = code
        self.all_messages = messages
        self.seconds = seconds
        self.secrets = secrets

    @property
    def status(self):
        return self.reply["status"]

    @property
    def evalue(self):
        return self.reply.get("evalue", "")

    def displays(self):
        """The MIME bundles of its display_data and execute_result messages, in order."""
        return [m["content"]["data"] for m in self.messages if m["msg_type"] in ("display_data", "execute_result")]

    def display(self):
        displays = self.displays()
        if len(displays) != 1:
            raise AssertionError(f"expected one display, got {len(displays)}: {self}")
        return displays[0]

    def assert_no_secrets(self, secrets=None):
        """No secret (SECRETS, else the cell's own) in its reply nor in any message but
        execute_input (the code as the user typed it)."""
        secrets = self.secrets if secrets is None else secrets
        for message in self.all_messages:
            if message["msg_type"] == "execute_input":
                continue
            for text in strings(message["content"]):
                secrets.assert_absent(text, lambda: f"a {message['msg_type']} message of {self}")
        secrets.assert_absent(json.dumps(self.reply), lambda: f"the reply of {self}")

    def __str__(self):
        shown = [{"msg_type": m["msg_type"], "content": m["content"]} for m in self.messages]
        return self.secrets.redacted(f"cell {self.code!r}\nreply: {json.dumps(self.reply)[:3000]}\n"
                                     f"messages: {json.dumps(shown)[:6000]}")


class LoggedKernel:
    """A kernel started for one test in ENVIRONMENT and the folder CWD, its log (debug level)
    written to LOG_PATH. Every cell (cell_class, a RecordedCell) is checked for SECRETS
    (tejun_test_support.Secrets) as it comes, and close() checks the log."""

    cell_class = RecordedCell

    def __init__(self, kernel_name, environment, cwd, log_path, secrets):
        self.secrets = secrets
        self.log_path = pathlib.Path(log_path)
        self._log = open(self.log_path, "w", encoding="utf-8")
        try:
            self.km, self.kc = start_new_kernel(startup_timeout=TIMEOUT, kernel_name=kernel_name, env=environment,
                                                cwd=str(cwd), stdout=self._log, stderr=self._log,
                                                extra_arguments=["--log-level", "debug"])
        except BaseException:
            self._log.close()
            raise
        self.alive = True

    def shutdown(self, now=True):
        """Stops the kernel: at once (NOW), else by a shutdown_request and a kill after
        jupyter_client's wait, which lets the kernel remove its files."""
        if not self.alive:
            return
        self.alive = False
        with self._log:  # closed however the shutdown ends
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=now)

    def close(self):
        """Shuts the kernel down and checks its log for secrets."""
        self.shutdown()
        self.secrets.assert_absent(self.log(), "the kernel's log")

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def execute(self, code):
        return self.kc.execute(code, allow_stdin=False, stop_on_error=False)

    def collect(self, msg_id, code="", timeout=TIMEOUT, started=None):
        """The cell of MSG_ID: its iopub messages up to its idle status and its execute_reply,
        within TIMEOUT seconds of STARTED (default: now); checked for secrets."""
        started = time.monotonic() if started is None else started
        deadline = started + timeout
        messages = []
        try:
            while True:
                message = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
                if message["parent_header"].get("msg_id") != msg_id:
                    continue
                if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    break
                messages.append(message)
            while True:
                reply = self.kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except queue.Empty:
            shown = [(m["msg_type"], m["content"]) for m in messages]
            raise AssertionError(self.secrets.redacted(
                f"cell not finished within {timeout} s: {code!r}; so far: {shown}")) from None
        cell = self.cell_class(code, reply["content"], messages, time.monotonic() - started, self.secrets)
        cell.assert_no_secrets()
        return cell

    def run(self, code, timeout=TIMEOUT):
        started = time.monotonic()
        return self.collect(self.execute(code), code, timeout, started)

    def ok(self, code, timeout=TIMEOUT):
        cell = self.run(code, timeout)
        if cell.status != "ok":
            raise AssertionError(f"the cell failed: {cell}")
        return cell

    def fail(self, code, ename=None, timeout=TIMEOUT):
        """A cell that must fail (with ENAME): one error message, the same as the reply's."""
        cell = self.run(code, timeout)
        if cell.status != "error":
            raise AssertionError(f"the cell did not fail: {cell}")
        if ename is not None and cell.reply["ename"] != ename:
            raise AssertionError(f"expected {ename}, got {cell.reply['ename']}: {cell}")
        errors = cell.of_type("error")
        if [(e["ename"], e["evalue"]) for e in errors] != [(cell.reply["ename"], cell.reply["evalue"])]:
            raise AssertionError(f"not one error message matching the reply: {cell}")
        return cell
