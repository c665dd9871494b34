"""What the `tejun server` tests (test_contents.py, test_server_api.py) share: Jupyter Server's
REST API (no WebSocket) over real HTTP.

Each test class starts its own `$TEJUN server --port 0` on a temporary root (Server), reads the URL
it prints on stderr, and stops it with SIGTERM at the end: it must exit 0 and leave no kernel
running (ServerTestCase). Also here: the request helpers and assertions on error bodies and
contents models, the process table of /proc, and a sample notebook validated with Debian's
nbformat.

$TEJUN is the tejun binary (default: `tejun` on PATH). Only the standard library and Debian's
nbformat are used. Nothing is written outside temporary folders: HOME and the Jupyter folders of
the server point into them, so the `tejun` kernel it starts is this $TEJUN (its built-in
kernelspec).
"""

import http.client
import json
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import time
import unittest

import nbformat
from nbformat import v4

TEJUN = os.environ.get("TEJUN", "tejun")
TOKEN = "tejun-test-token-0123456789abcdef"
START_DEADLINE = 20  # seconds for the server to print its URL
STOP_DEADLINE = 30  # seconds for SIGTERM to end it, kernels included
PROCESS_DEADLINE = 15  # seconds for a kernel process to appear or go
HTTP_TIMEOUT = 30
ISO_8601_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
UUID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CONTENTS_KEYS = {"name", "path", "type", "writable", "created", "last_modified", "mimetype", "content", "format"}
KERNEL_KEYS = {"id", "name", "last_activity", "execution_state", "connections"}

RUNBOOK = """---
title: Restart the database
kernel: tejun
parameters:
  environment: staging
---

# Restart the database

Check the replicas first.

```sh {name=check-replicas}
kubectl get pods -l app=postgres
```

A closing prose cell.
"""


# --- processes -----------------------------------------------------------------------------


def process_table():
    """{pid: (parent pid, state, command line as one string)} of every process now running."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                stat = stat_file.read().decode(errors="replace")
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rfind(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), fields[0], cmdline)
    return table


def alive(pid):
    """Whether PID is running (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read().decode(errors="replace")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def wait_until(condition, deadline=PROCESS_DEADLINE, step=0.05):
    """Polls CONDITION until it is true or DEADLINE seconds have passed; returns its last value."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value or time.monotonic() >= end:
            return value
        time.sleep(step)


def terminate(process, deadline):
    """SIGTERM to PROCESS, then its exit code; SIGKILL after DEADLINE seconds, and then None."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def http_request(port, token, method, target, body=None, headers=None, timeout=HTTP_TIMEOUT):
    """METHOD TARGET on 127.0.0.1:PORT, with TOKEN (if any) in Authorization; BODY is an object
    sent as JSON, or bytes/str sent as they are."""
    all_headers = {"Authorization": f"token {token}"} if token else {}
    all_headers.update(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=all_headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


# --- the server ----------------------------------------------------------------------------


class Response:
    """What came back: status, headers (an http.client.HTTPMessage), body bytes and its JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        if body and (headers.get("Content-Type") or "").startswith("application/json"):
            self.json = json.loads(body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Server:
    """One `tejun server` on a temporary root, with its own HOME and Jupyter folders; ARGS are
    added to its command line."""

    def __init__(self, args=()):
        self._folder = tempfile.TemporaryDirectory(prefix="tejun-server-test-")
        self.folder = pathlib.Path(self._folder.name).resolve()
        self.root = self.folder / "root"
        self.runtime = self.folder / "runtime"
        for folder in (self.root, self.runtime, self.folder / "home", self.folder / "data"):
            folder.mkdir()
        self.log = self.folder / "server.log"
        environment = {name: value for name, value in os.environ.items()
                       if not name.startswith("JUPYTER") and name != "TEJUN_TOKEN"}
        environment.update(HOME=str(self.folder / "home"), JUPYTER_DATA_DIR=str(self.folder / "data"),
                           JUPYTER_RUNTIME_DIR=str(self.runtime), JUPYTER_CONFIG_DIR=str(self.folder / "home"))
        # stderr goes to a file: the kernels inherit it, and a pipe nobody reads would block them.
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [TEJUN, "server", "--port", "0", "--root", str(self.root), "--token", TOKEN, *args],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=environment,
                cwd=self.folder)
        self.exit_code = None
        self.port = None
        end = time.monotonic() + START_DEADLINE
        while self.port is None:
            found = re.search(r"tejun server: serving on http://127\.0\.0\.1:(\d+)/(?:\S*/)?\?token=(\S+)\n", self.stderr())
            if found:
                if found.group(2) != TOKEN:
                    self.stop()
                    message = f"the server printed another token: {self.stderr()}"
                    self.cleanup()
                    raise AssertionError(message)
                self.port = int(found.group(1))
            elif self.process.poll() is not None or time.monotonic() > end:
                self.stop()
                message = f"the server did not start: {self.stderr()}"
                self.cleanup()
                raise AssertionError(message)
            else:
                time.sleep(0.02)

    def stderr(self):
        return self.log.read_text(errors="replace")

    def request(self, method, target, body=None, headers=None, auth=True):
        """METHOD TARGET (sent as it is: nothing is normalised or encoded) with BODY (an object
        sent as JSON, or bytes/str sent as they are); AUTH adds the token header."""
        return http_request(self.port, TOKEN if auth else None, method, target, body, headers)

    def kernel_processes(self):
        """{pid: command line} of the `tejun kernel` processes this server started (their
        connection files are in this server's runtime folder, wherever their parent now is)."""
        return {pid: cmdline for pid, (_, state, cmdline) in process_table().items()
                if str(self.runtime) in cmdline and " kernel " in f" {cmdline} " and state != "Z"}

    def children(self):
        """{pid: command line} of the server's own live child processes."""
        server = self.process.pid
        return {pid: cmdline for pid, (parent, state, cmdline) in process_table().items()
                if parent == server and state != "Z"}

    def stop(self):
        """SIGTERM, then the exit code (SIGKILL after STOP_DEADLINE: then None is returned)."""
        if self.process.poll() is None:
            self.exit_code = terminate(self.process, STOP_DEADLINE)
        elif self.exit_code is None:
            self.exit_code = self.process.returncode
        return self.exit_code

    def cleanup(self):
        # A kernel left behind is killed (by its own pid), so that a failing run leaves nothing.
        for pid in self.kernel_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self._folder.cleanup()


class ServerTestCase(unittest.TestCase):
    """One server for the class; at the end SIGTERM must stop it with exit code 0 and end every
    kernel it started."""

    server = None
    server_args = ()  # added to the server's command line

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.server_args)

    @classmethod
    def tearDownClass(cls):
        server = cls.server
        try:
            children = server.children() if server.process.poll() is None else {}
            exit_code = server.stop()
            if exit_code != 0:
                raise AssertionError(f"SIGTERM: the server exited with {exit_code}, not 0: {server.stderr()}")
            # Its children (the kernels), wherever they were reparented, and any process using
            # this server's runtime folder (a kernel's connection file) must be gone.
            if not wait_until(lambda: not any(alive(pid) for pid in children) and not server.kernel_processes()):
                left = {pid: cmdline for pid, cmdline in children.items() if alive(pid)}
                left.update(server.kernel_processes())
                raise AssertionError(f"processes left running after the server stopped: {left}")
        finally:
            server.cleanup()

    # --- helpers for the tests --------------------------------------------------------------

    def request(self, method, target, body=None, headers=None, auth=True):
        return self.server.request(method, target, body=body, headers=headers, auth=auth)

    def folder(self):
        """A new folder in the root for this test: its API path and its path on disk."""
        name = self.id().rsplit(".", 1)[-1]
        path = self.server.root / name
        path.mkdir()
        return name, path

    def assert_status(self, response, status, what=""):
        self.assertEqual(response.status, status, f"{what}: {response!r}")

    def assert_error(self, response, status, what=""):
        """An error response: STATUS with a JSON body {"message": non-empty, "reason": text}."""
        self.assert_status(response, status, what)
        self.assertIsInstance(response.json, dict, f"{what}: an error body must be JSON: {response!r}")
        self.assertIsInstance(response.json.get("message"), str, what)
        self.assertTrue(response.json["message"].strip(), f"{what}: an empty message")
        self.assertIsInstance(response.json.get("reason"), str, what)
        return response.json["message"]

    def assert_still_serving(self, after=""):
        response = self.request("GET", "/api/status")
        self.assertEqual(response.status, 200, f"the server stopped answering after {after}: {response!r}")

    def assert_iso(self, value, what):
        self.assertIsInstance(value, str, what)
        self.assertRegex(value, ISO_8601_Z, what)

    def assert_contents_model(self, model, name, path, type_, content_expected):
        """The shape of a contents model; CONTENT_EXPECTED: whether content and format are set."""
        self.assertIsInstance(model, dict)
        self.assertLessEqual(CONTENTS_KEYS, set(model), model)
        self.assertEqual(model["name"], name)
        self.assertEqual(model["path"], path)
        self.assertEqual(model["type"], type_)
        self.assertIsInstance(model["writable"], bool)
        self.assert_iso(model["created"], "created")
        self.assert_iso(model["last_modified"], "last_modified")
        if content_expected:
            self.assertIsNotNone(model["content"], model)
            self.assertIsNotNone(model["format"], model)
        else:
            self.assertIsNone(model["content"], model)
            self.assertIsNone(model["format"], model)

    def get_json(self, target, status=200):
        response = self.request("GET", target)
        self.assert_status(response, status, f"GET {target}")
        return response.json

    def assert_deleted(self, target, pid, left_running):
        """DELETE TARGET (a kernel or a session): 204 with an empty body, the kernel process PID
        ends (else LEFT_RUNNING is the failure), then TARGET is gone: 404 to GET and to DELETE."""
        deleted = self.request("DELETE", target)
        self.assert_status(deleted, 204)
        self.assertEqual(deleted.body, b"")
        self.assertTrue(wait_until(lambda: not alive(pid)), left_running)
        self.assert_error(self.request("GET", target), 404)
        self.assert_error(self.request("DELETE", target), 404)


_SAMPLE = None


def sample_notebook():
    """A notebook with every kind of cell and output nbformat 4.5 has, as JSON (a new copy of the
    same notebook each time: same cell ids)."""
    global _SAMPLE
    if _SAMPLE is None:
        _SAMPLE = json.dumps(make_sample_notebook())
    return json.loads(_SAMPLE)


def make_sample_notebook():
    notebook = v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"},
        "language_info": {"name": "bash", "file_extension": ".sh", "mimetype": "text/x-sh"},
        "tejun": {"owner": "team-db"},
    }
    notebook.cells = [
        v4.new_markdown_cell("# Title\n\nSome *prose* with ünïcode — and a ![pic](attachment:p.png)",
                             attachments={"p.png": {"image/png": "iVBORw0KGgo="}}),
        v4.new_code_cell("echo hello\nls -l", execution_count=3, metadata={"tags": ["parameters"]}, outputs=[
            v4.new_output("stream", name="stdout", text="hello\ntotal 0\n"),
            v4.new_output("stream", name="stderr", text="a warning\n"),
            v4.new_output("execute_result", execution_count=3,
                          data={"text/plain": "42", "application/json": {"a": [1, 2.5, None, True]}}),
            v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/html": "<b>x</b>\n<i>y</i>"},
                          metadata={"image/png": {"width": 10}}),
            v4.new_output("error", ename="KeyboardInterrupt", evalue="", traceback=["line 1", "line 2"]),
        ]),
        v4.new_code_cell("", execution_count=None),
        v4.new_raw_cell("raw text\n", metadata={"format": "text/plain"}),
    ]
    nbformat.validate(notebook)
    return notebook


def validate(content, what):
    """Fails unless CONTENT (a notebook as JSON) is valid nbformat 4."""
    try:
        nbformat.validate(nbformat.from_dict(content))
    except nbformat.ValidationError as error:
        raise AssertionError(f"{what} is not a valid notebook: {error}") from None
