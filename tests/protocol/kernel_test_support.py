"""What the kernel's Python tests share: the tejun kernel installed into a throwaway Jupyter
tree (JupyterSandbox) and a fresh kernel per test driven through jupyter_client
(KernelTestCase). Nothing is written outside a temporary folder.
"""

import os
import pathlib
import subprocess
import tempfile
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
