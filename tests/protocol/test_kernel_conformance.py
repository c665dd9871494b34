"""The tejun kernel speaks Jupyter's messaging protocol (5.3).

jupyter_kernel_test's conformance suite runs against a kernel installed with
`tejun kernel install` into a fresh prefix, then tests of what a runbook needs from the
kernel: one persistent bash session, output that streams while a step runs, interrupt,
input and secrets through the stdin channel, valid UTF-8 on the wire, and signatures checked.

Runs as `python3 -m unittest test_kernel_conformance` with $TEJUN the tejun binary. Nothing is
written outside a temporary folder: HOME, the Jupyter and XDG folders all point into it.
"""

import datetime
import hashlib
import hmac
import json
import os
import pathlib
import queue
import shlex
import shutil
import tempfile
import time
import unittest
import uuid

import jupyter_kernel_test  # not `from ... import KernelTests`: unittest would run the base class too
import zmq

import kernel_test_support as support
from kernel_test_support import TEJUN, TIMEOUT, JupyterSandbox, install_kernel

KERNEL_NAME = "tejun-conformance"
CONFORMANCE_VALUE = "conformance value"  # in the kernel's environment as TEJUN_CONFORMANCE


SANDBOX = None


def setUpModule():
    global SANDBOX
    SANDBOX = JupyterSandbox(KERNEL_NAME, {"TEJUN_CONFORMANCE": CONFORMANCE_VALUE})


def tearDownModule():
    SANDBOX.close()


class KernelInstall(unittest.TestCase):
    def test_kernel_json(self):
        spec = json.loads(SANDBOX.kernel_json.read_text(encoding="utf-8"))
        argv = spec["argv"]
        self.assertEqual(argv[1:], ["kernel", "-f", "{connection_file}"])
        self.assertTrue(os.path.isabs(argv[0]), argv[0])
        self.assertTrue(os.path.samefile(argv[0], shutil.which(TEJUN) or TEJUN), argv[0])
        self.assertEqual(spec["display_name"], "Runbook (tejun)")
        self.assertEqual(spec["language"], "bash")
        self.assertEqual(spec["interrupt_mode"], "signal")

    def test_default_name_is_tejun(self):
        with tempfile.TemporaryDirectory(prefix="tejun-kernel-test-") as prefix:
            written = install_kernel(prefix)
            self.assertTrue(written.is_file())
            kernels = pathlib.Path(prefix) / "share" / "jupyter" / "kernels"
            self.assertEqual([p.name for p in kernels.iterdir()], ["tejun"])


class TejunKernelConformance(jupyter_kernel_test.KernelTests):
    """jupyter_kernel_test's suite. All its tests share one kernel, in order of name."""

    kernel_name = KERNEL_NAME
    language_name = "bash"
    file_extension = ".sh"

    code_hello_world = 'echo "hello, world"'
    code_stderr = 'echo "to stderr" >&2'
    code_generate_error = "false"  # exactly one output message: the error, no stream
    code_clear_output = "%clear"
    code_inspect_sample = "%env"
    code_display_data = [
        {"code": "%%html\n<b>x</b>", "mime": "text/html"},
        {"code": "%%markdown\n# Title\n\nSome *prose*.", "mime": "text/markdown"},
    ]
    # test_history runs these again and again (tail, range, then a search with n=3, which needs
    # three matches: by then there are six). The search pattern is a glob, as in IPython, and
    # matches only this code, so `unique` gives exactly one entry.
    code_execute_result = [{"code": "%env TEJUN_CONFORMANCE", "result": CONFORMANCE_VALUE}]
    code_history_pattern = "%env TEJUN_CONF*"
    supported_history_operations = ("tail", "range", "search")

    completion_samples = [
        {"text": "%ls", "matches": {"%lsmagic"}},
        {"text": "%load_e", "matches": {"%load_env"}},
        {"text": "echo $TEJUN_CONFORM"},  # a valid reply; what the matches look like: SessionBehaviour
    ]
    complete_code_samples = [
        "echo hello",
        'echo "two\nlines"',
        "if true; then echo yes; fi",
        "for i in 1 2; do echo $i; done",
        "while false; do :; done",
        "case x in x) echo x;; esac",
        "f() { echo f; }",
        "cat <<EOF\nline\nEOF",
        "echo a \\\n  b",
        "%env TEJUN_X=1",
        "%lsmagic",
    ]
    incomplete_code_samples = [
        'echo "open',
        "echo 'open",
        "if true; then",
        "if true; then echo yes",
        "for i in 1 2; do",
        "while true; do",
        "case x in",
        "f() {",
        "{ echo",
        "echo \\",
        "cat <<EOF\nline",
    ]
    invalid_code_samples = ["fi", "done"]

    def test_language_info(self):
        self.flush_channels()
        self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        content = reply["content"]
        self.assertEqual(content["status"], "ok")
        self.assertEqual(content["protocol_version"], "5.3")
        info = content["language_info"]
        self.assertEqual(info["name"], "bash")
        self.assertEqual(info["file_extension"], ".sh")
        self.assertEqual(info["mimetype"], "text/x-sh")
        self.assertEqual(info["pygments_lexer"], "bash")
        self.assertEqual(info["codemirror_mode"], "shell")


class KernelTestCase(support.KernelTestCase):
    kernel_name = KERNEL_NAME


class SessionBehaviour(KernelTestCase):
    def test_one_session_across_cells(self):
        other = self.folder / "elsewhere"
        other.mkdir()
        self.assert_ok(self.run_cell(
            f'export TEJUN_X=persisted; PLAIN=also; cd {shlex.quote(str(self.folder))}\n'
            'greet() { echo "hello $1"; }'))
        cell = self.assert_ok(self.run_cell('echo "$TEJUN_X $PLAIN"; pwd -P; greet there; printenv TEJUN_X'))
        self.assertEqual(cell.stdout, f"persisted also\n{self.folder}\nhello there\npersisted\n")
        self.assert_ok(self.run_cell(f"%cd {other}"))
        self.assertEqual(self.assert_ok(self.run_cell("pwd -P")).stdout, f"{other}\n")

    def test_env_magic(self):
        self.assert_ok(self.run_cell("%env TEJUN_A=alpha"))
        set_with_reference = self.assert_ok(self.run_cell("%env TEJUN_B={TEJUN_A}-beta"))
        self.assertEqual(set_with_reference.messages, [])
        self.assertEqual(self.run_cell('echo "$TEJUN_B"; printenv TEJUN_B').stdout, "alpha-beta\nalpha-beta\n")
        self.assert_ok(self.run_cell("export TEJUN_C=gamma"))
        self.assertEqual(self.assert_ok(self.run_cell("%env TEJUN_C")).of_type("execute_result")[0]["data"],
                         {"text/plain": "gamma"})
        listing = self.assert_ok(self.run_cell("%env")).of_type("execute_result")
        self.assertEqual(len(listing), 1)
        lines = listing[0]["data"]["text/plain"].splitlines()
        for line in ("TEJUN_A=alpha", "TEJUN_B=alpha-beta", "TEJUN_C=gamma", f"TEJUN_CONFORMANCE={CONFORMANCE_VALUE}"):
            self.assertIn(line, lines)

    def test_load_env(self):
        env_file = self.folder / "runbook.env"
        env_file.write_text("TEJUN_LOADED=from-file\nTEJUN_LOADED_TOO=second\n", encoding="utf-8")
        self.assert_ok(self.run_cell(f"%load_env {env_file}"))
        self.assertEqual(self.run_cell('echo "$TEJUN_LOADED $TEJUN_LOADED_TOO"').stdout, "from-file second\n")

    def test_lsmagic_and_inspect(self):
        listing = self.assert_ok(self.run_cell("%lsmagic")).of_type("execute_result")
        self.assertEqual(len(listing), 1)
        text = listing[0]["data"]["text/plain"]
        for magic in ("%env", "%cd", "%timeout", "%load_env", "%secret", "%confirm", "%clear", "%lsmagic",
                      "%%bash", "%%sh", "%%time", "%%markdown", "%%html"):
            self.assertIn(magic, text)
        self.kc.inspect("%load_env", cursor_pos=len("%load_env"))
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertTrue(reply["found"])
        self.assertIn("load_env", reply["data"]["text/plain"])

    def test_cell_magics(self):
        markdown = self.assert_ok(self.run_cell("%%markdown\n# Restart\n\nThen *check*."))
        self.assertEqual([d["data"]["text/markdown"].strip() for d in markdown.of_type("display_data")],
                         ["# Restart\n\nThen *check*."])
        html = self.assert_ok(self.run_cell("%%html\n<b>x</b>"))
        self.assertEqual([d["data"]["text/html"].strip() for d in html.of_type("display_data")], ["<b>x</b>"])
        self.assertEqual(self.assert_ok(self.run_cell("%%bash\necho from bash")).stdout, "from bash\n")
        self.assertEqual(self.assert_ok(self.run_cell("%%sh\necho from sh")).stdout, "from sh\n")
        clear = self.assert_ok(self.run_cell("%clear"))
        self.assertEqual([m["msg_type"] for m in clear.messages], ["clear_output"])

    def test_exit_status_is_the_error(self):
        cell = self.run_cell("echo before; (exit 3)")
        self.assertEqual(cell.reply["status"], "error")
        self.assertEqual(cell.reply["ename"], "exit status 3")
        self.assertEqual(cell.stdout, "before\n")
        errors = cell.of_type("error")
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["ename"], "exit status 3")
        self.assertEqual(self.assert_ok(self.run_cell("echo after")).stdout, "after\n")

    def test_completion_of_variables_and_paths(self):
        self.assert_ok(self.run_cell("export TEJUN_COMPLETE_ME=1"))
        self.assertIn("echo $TEJUN_COMPLETE_ME", self.complete("echo $TEJUN_COMPLETE_"))
        (self.folder / "unique-file-name.txt").write_text("x", encoding="utf-8")
        self.assertIn(f"cat {self.folder}/unique-file-name.txt", self.complete(f"cat {self.folder}/unique-fi"))

    def test_output_streams_while_the_step_runs(self):
        # The step prints `first`, then waits (at most 30 s) for a file that this test creates only
        # once it has received `first`: `second` can only follow if `first` arrived while the step
        # was still running. A kernel that held output until the end prints `gave up` instead.
        go = shlex.quote(str(self.folder / "go"))
        seen_first = []

        def on_output(msg):
            if msg["msg_type"] == "stream" and "first" in msg["content"]["text"] and not seen_first:
                seen_first.append(msg["content"]["text"])
                (self.folder / "go").touch()

        cell = self.run_cell(f"echo first; for i in $(seq 600); do [ -e {go} ] && break; sleep 0.05; done\n"
                             f"if [ -e {go} ]; then echo second; else echo gave up; fi",
                             timeout=60, output_hook=on_output)
        self.assert_ok(cell)
        self.assertEqual(seen_first, ["first\n"])
        self.assertEqual(cell.stdout, "first\nsecond\n")

    def test_interrupt_stops_the_step_and_keeps_the_session(self):
        self.assert_ok(self.run_cell("export KEPT=still-here"))
        interrupted = []

        def on_output(msg):
            if msg["msg_type"] == "stream" and "started" in msg["content"]["text"] and not interrupted:
                interrupted.append(True)
                self.km.interrupt_kernel()

        # Without the interrupt, the step would outlast the 20 s deadline (TimeoutError).
        cell = self.run_cell("echo started; sleep 30; echo not interrupted", timeout=20, output_hook=on_output)
        self.assertEqual(interrupted, [True])
        self.assertEqual(cell.reply["status"], "error", cell.reply)
        self.assertIn("Interrupt", cell.reply["ename"])
        self.assertNotIn("not interrupted", cell.stdout)
        self.assertTrue(self.km.is_alive())
        self.assertEqual(self.assert_ok(self.run_cell('echo "$KEPT"')).stdout, "still-here\n")

    def test_input_through_the_stdin_channel(self):
        requests = []

        def answer(msg):
            requests.append(msg)
            self.kc.input("Ada")

        cell = self.run_cell('read -p "Name? " NAME; echo "hi $NAME"', allow_stdin=True, stdin_hook=answer)
        self.assert_ok(cell)
        self.assertEqual([r["msg_type"] for r in requests], ["input_request"])
        self.assertFalse(requests[0]["content"]["password"])
        self.assertIn("hi Ada\n", cell.stdout)
        self.assertEqual(self.run_cell('echo "$NAME"').stdout, "Ada\n")

    def test_input_without_allow_stdin_is_an_error_not_a_hang(self):
        cell = self.run_cell('read -p "Name? " NAME; echo "hi $NAME"', allow_stdin=False)
        self.assertEqual(cell.reply["status"], "error", cell.reply)
        with self.assertRaises(queue.Empty):
            self.kc.get_stdin_msg(timeout=0.5)
        self.assertEqual(self.assert_ok(self.run_cell("echo alive")).stdout, "alive\n")

    def test_secret_is_read_as_a_password_and_masked(self):
        secret = "s3cr3t-V4lue"
        requests = []

        def answer(msg):
            requests.append(msg)
            self.kc.input(secret)

        self.assert_ok(self.run_cell("%secret TOKEN", allow_stdin=True, stdin_hook=answer))
        self.assertEqual([r["msg_type"] for r in requests], ["input_request"])
        self.assertTrue(requests[0]["content"]["password"])
        shown = self.assert_ok(self.run_cell(f'echo "token=$TOKEN"; echo "$TOKEN" >&2\n'
                                             f'[ "$TOKEN" = {secret} ] && echo matches'))
        self.assertEqual(shown.stdout, "token=[MASKED]\nmatches\n")
        self.assertIn("[MASKED]", shown.stderr)
        listed = self.assert_ok(self.run_cell("%env TOKEN"))
        for cell in (shown, listed):
            self.assertNotIn(secret, json.dumps([m["content"] for m in cell.messages]))
        self.assertIn("[MASKED]", json.dumps(listed.of_type("execute_result")))


class RawConnection:
    """A shell DEALER and an iopub SUB on a running kernel, with no jupyter_client in between:
    it signs (or mis-signs) what it sends, checks the signature of what it receives, and decodes
    every frame as strict UTF-8."""

    def __init__(self, connection_file):
        info = json.loads(pathlib.Path(connection_file).read_text(encoding="utf-8"))
        if info["signature_scheme"] != "hmac-sha256" or not info["key"]:
            raise AssertionError(f"unexpected signing: {info['signature_scheme']!r}, key {bool(info['key'])}")
        self.key = info["key"].encode()
        self.session = uuid.uuid4().hex
        self.context = zmq.Context()
        address = f"{info['transport']}://{info['ip']}:"
        self.shell = self.context.socket(zmq.DEALER)
        self.shell.linger = 0
        self.shell.connect(address + str(info["shell_port"]))
        self.iopub = self.context.socket(zmq.SUB)
        self.iopub.linger = 0
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(address + str(info["iopub_port"]))

    def close(self):
        self.shell.close()
        self.iopub.close()
        self.context.term()

    def sign(self, parts, key=None):
        mac = hmac.new(key or self.key, digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode()

    def send(self, msg_type, content, key=None):
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": self.session,
                  "username": "test", "version": "5.3",
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        parts = [json.dumps(part).encode() for part in (header, {}, {}, content)]
        self.shell.send_multipart([b"<IDS|MSG>", self.sign(parts, key), *parts])
        return header["msg_id"]

    def receive(self, socket, timeout):
        """The next message on `socket` within `timeout` seconds, or None."""
        if not socket.poll(int(timeout * 1000)):
            return None
        frames = socket.recv_multipart()
        delimiter = frames.index(b"<IDS|MSG>")
        signature, parts = frames[delimiter + 1], frames[delimiter + 2:delimiter + 6]
        if not hmac.compare_digest(signature, self.sign(parts)):
            raise AssertionError(f"bad signature from the kernel on {parts[0]!r}")
        try:
            header, parent, metadata, content = (json.loads(part.decode("utf-8")) for part in parts)
            json.dumps(content, ensure_ascii=False).encode("utf-8")  # no lone surrogates from \u escapes either
        except UnicodeError as error:
            raise AssertionError(f"a message from the kernel that is not valid UTF-8: {error}: {parts}") from None
        return {"header": header, "parent_header": parent, "metadata": metadata, "content": content,
                "msg_type": header["msg_type"]}

    def reply_to(self, msg_id, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self.receive(self.shell, remaining)
            if msg and msg["parent_header"].get("msg_id") == msg_id:
                return msg
        raise AssertionError(f"no reply to {msg_id} within {timeout} s")

    def wait_until_subscribed(self):
        """A SUB socket misses what is published before its subscription reaches the kernel:
        ask for kernel_info until its status messages come through."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            msg_id = self.send("kernel_info_request", {})
            self.reply_to(msg_id)
            settle = time.monotonic() + 0.5
            while (remaining := settle - time.monotonic()) > 0:
                msg = self.receive(self.iopub, remaining)
                if msg and msg["parent_header"].get("msg_id") == msg_id:
                    return
        raise AssertionError("iopub never delivered a status message")

    def execute(self, code):
        """(reply, iopub messages up to idle) of one execute_request."""
        msg_id = self.send("execute_request", {"code": code, "silent": False, "store_history": True,
                                               "user_expressions": {}, "allow_stdin": False,
                                               "stop_on_error": True})
        messages = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            msg = self.receive(self.iopub, remaining) if remaining > 0 else None
            if msg is None:
                raise AssertionError(f"no idle status for {code!r} within {TIMEOUT} s")
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            messages.append(msg)
        return self.reply_to(msg_id), messages


class WireLevel(KernelTestCase):
    def setUp(self):
        super().setUp()
        self.raw = RawConnection(self.km.connection_file)
        self.addCleanup(self.raw.close)

    def test_invalid_utf8_output_arrives_as_replacement_characters(self):
        self.raw.wait_until_subscribed()
        reply, messages = self.raw.execute(r"printf '\xff\xfeok\n'")
        self.assertEqual(reply["content"]["status"], "ok")
        text = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
        self.assertIn("\N{REPLACEMENT CHARACTER}", text)
        self.assertTrue(text.endswith("ok\n"), repr(text))

    def test_message_with_a_bad_signature_is_dropped(self):
        marker = self.folder / "executed"
        self.raw.send("execute_request",
                      {"code": f"touch {shlex.quote(str(marker))}", "silent": False, "store_history": True,
                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                      key=b"not the key")
        self.assertIsNone(self.raw.receive(self.raw.shell, 1.0), "the kernel answered a mis-signed request")
        self.raw.shell.send_multipart([b"<IDS|MSG>", b"0" * 64, b"{not json", b"{}"])  # garbage, too
        self.assertIsNone(self.raw.receive(self.raw.shell, 0.2))
        info = self.raw.reply_to(self.raw.send("kernel_info_request", {}))
        self.assertEqual(info["msg_type"], "kernel_info_reply")
        # Requests on one shell connection are handled in order: had the mis-signed one run,
        # the marker would exist by the time this one has.
        reply = self.raw.reply_to(self.raw.send("execute_request", {
            "code": "true", "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True}))
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertFalse(marker.exists())
        self.assertTrue(self.km.is_alive())


if __name__ == "__main__":
    unittest.main()
