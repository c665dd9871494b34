"""The control channel and the kernel's lifecycle, through jupyter_client: interrupt_request
(not only SIGINT), the whole process tree stopped, queued steps aborted after an error
(stop_on_error), restart, and the kernelspec as `jupyter kernelspec list` sees it.

Runs as `python3 -m unittest test_kernel_control` with $TEJUN the tejun binary.
"""

import json
import os
import subprocess
import time
import unittest

import kernel_test_support as support

KERNEL_NAME = "tejun-control"
SANDBOX = None


def setUpModule():
    global SANDBOX
    SANDBOX = support.JupyterSandbox(KERNEL_NAME)


def tearDownModule():
    SANDBOX.close()


class ControlChannel(support.KernelTestCase):
    kernel_name = KERNEL_NAME

    def wait_for_stream(self, msg_id, text):
        deadline = time.monotonic() + support.TIMEOUT
        while time.monotonic() < deadline:
            msg = self.kc.get_iopub_msg(timeout=support.TIMEOUT)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                    and text in msg["content"]["text"]):
                return
        self.fail(f"no output {text!r} before the deadline")

    def reply_to(self, msg_id):
        while True:
            reply = self.kc.get_shell_msg(timeout=support.TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def test_interrupt_request_on_the_control_channel_stops_the_whole_tree(self):
        self.assert_ok(self.run_cell("KEPT=yes"))
        # A child that ignores SIGINT and SIGTERM: only the SIGKILL step of the escalation ends it.
        msg_id = self.kc.execute(
            "bash -c \"trap '' INT TERM; echo started; exec sleep 31\" & wait; echo not interrupted")
        self.wait_for_stream(msg_id, "started")
        request = self.kc.session.msg("interrupt_request", {})
        self.kc.control_channel.send(request)
        control_reply = self.kc.get_control_msg(timeout=support.TIMEOUT)
        self.assertEqual(control_reply["msg_type"], "interrupt_reply")
        self.assertEqual(control_reply["content"]["status"], "ok")
        reply = self.reply_to(msg_id)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        cell = self.assert_ok(self.run_cell("echo $KEPT; pgrep -f 'sleep 31' || echo none left"))
        self.assertEqual(cell.stdout, "yes\nnone left\n")

    def test_interrupt_leaves_background_jobs_of_earlier_steps_alone(self):
        self.assert_ok(self.run_cell("sleep 32 & BACKGROUND=$!"))
        msg_id = self.kc.execute("echo started; sleep 30")
        self.wait_for_stream(msg_id, "started")
        self.km.interrupt_kernel()
        self.assertEqual(self.reply_to(msg_id)["ename"], "KeyboardInterrupt")
        cell = self.assert_ok(self.run_cell("kill -0 $BACKGROUND && echo alive; kill $BACKGROUND"))
        self.assertEqual(cell.stdout, "alive\n")

    def test_an_answer_longer_than_the_pipe_does_not_block_the_kernel(self):
        answer = "x" * 200000
        cell = self.assert_ok(self.run_cell("read -r -n 5 FIRST; echo \"got $FIRST\"", allow_stdin=True,
                                            stdin_hook=lambda msg: self.kc.input(answer)))
        self.assertEqual(cell.stdout, "got xxxxx\n")
        # What the step did not read is not the next step's input.
        cell = self.assert_ok(self.run_cell("read -r -t 0.1 LINE || echo nothing left"))
        self.assertEqual(cell.stdout, "nothing left\n")

    def test_an_unanswered_question_ends_with_the_step(self):
        asked = []
        cell = self.assert_ok(self.run_cell("timeout 1 cat; echo ended", allow_stdin=True,
                                            stdin_hook=lambda msg: asked.append(msg)))
        self.assertEqual(len(asked), 1)
        self.assertEqual(cell.stdout, "ended\n")
        self.assert_ok(self.run_cell("%timeout 1"))
        cell = self.run_cell("cat", allow_stdin=True, stdin_hook=lambda msg: None)
        self.assertEqual(cell.reply["ename"], "TimeoutError")

    def test_shell_requests_on_control_while_a_step_runs_get_a_busy_error(self):
        msg_id = self.kc.execute("echo started; sleep 1; echo done")
        self.wait_for_stream(msg_id, "started")
        self.kc.control_channel.send(self.kc.session.msg("execute_request", {"code": "echo sneaky", "silent": False}))
        reply = self.kc.get_control_msg(timeout=support.TIMEOUT)
        self.assertEqual(reply["msg_type"], "execute_reply")
        self.assertEqual(reply["content"]["ename"], "KernelBusy")
        self.assertEqual(self.reply_to(msg_id)["status"], "ok")

    def test_an_error_aborts_the_steps_queued_behind_it(self):
        first = self.kc.execute("sleep 0.3; false")
        second = self.kc.execute("echo should not run")
        self.assertEqual(self.reply_to(first)["status"], "error")
        self.assertEqual(self.reply_to(second)["status"], "aborted")
        # Without stop_on_error the next one runs.
        third = self.kc.execute("sleep 0.3; false", stop_on_error=False)
        fourth = self.kc.execute("echo runs")
        self.assertEqual(self.reply_to(third)["status"], "error")
        self.assertEqual(self.reply_to(fourth)["status"], "ok")

    def test_restart_gives_a_fresh_session(self):
        self.assert_ok(self.run_cell("export BEFORE=1"))
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=support.TIMEOUT)
        cell = self.assert_ok(self.run_cell("echo ${BEFORE-fresh}"))
        self.assertEqual(cell.stdout, "fresh\n")

    def test_kernel_info_is_answered_on_control_while_a_step_runs(self):
        msg_id = self.kc.execute("echo started; sleep 2")
        self.wait_for_stream(msg_id, "started")
        self.kc.control_channel.send(self.kc.session.msg("kernel_info_request", {}))
        reply = self.kc.get_control_msg(timeout=1.5)
        self.assertEqual(reply["msg_type"], "kernel_info_reply")
        self.assertEqual(self.reply_to(msg_id)["status"], "ok")


class KernelSpecList(unittest.TestCase):
    def test_jupyter_lists_the_kernel(self):
        listing = subprocess.run(["jupyter", "kernelspec", "list", "--json"], capture_output=True,
                                 text=True, timeout=60, check=True)
        specs = json.loads(listing.stdout)["kernelspecs"]
        self.assertIn(KERNEL_NAME, specs)
        spec = specs[KERNEL_NAME]["spec"]
        self.assertEqual(spec["display_name"], "Runbook (tejun)")
        self.assertEqual(spec["argv"][1:], ["kernel", "-f", "{connection_file}"])
        self.assertTrue(os.path.isabs(spec["argv"][0]))


if __name__ == "__main__":
    unittest.main()
