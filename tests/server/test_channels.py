"""The kernel channels WebSocket of `tejun server` (/api/kernels/ID/channels), driven with Debian's
websocket-client in Jupyter's JSON protocol: requests on shell and control, replies and iopub
back, several clients on one kernel, a large output that arrives whole, interrupt, and the
refusals (no token, another origin, unknown kernel).

Runs as `python3 -m unittest -v test_channels` in this folder with $TEJUN the tejun binary.
"""

import json
import time
import unittest
import uuid

import websocket

from server_support import TOKEN, ServerTestCase

DEADLINE = 30  # seconds for a reply that should take milliseconds


class Client:
    """One WebSocket on a kernel's channels, with its own Jupyter session id."""

    def __init__(self, port, kernel_id, headers=None):
        self.session = uuid.uuid4().hex
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=headers if headers is not None else [f"Authorization: token {TOKEN}"], timeout=DEADLINE)

    def send(self, channel, msg_type, content):
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "test",
                       "date": "2026-01-01T00:00:00.000000Z", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}))
        return msg_id

    def until_reply(self, msg_id, reply_type, deadline=DEADLINE):
        """Every message for MSG_ID until its REPLY_TYPE has come and the kernel is idle again."""
        messages = []
        replied = idle = False
        end = time.monotonic() + deadline
        while not (replied and idle):
            self.socket.settimeout(max(0.1, end - time.monotonic()))
            packet = json.loads(self.socket.recv())
            if packet["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(packet)
            replied = replied or packet["msg_type"] == reply_type
            idle = idle or (packet["msg_type"] == "status" and packet["content"]["execution_state"] == "idle")
            if time.monotonic() > end:
                raise AssertionError(f"no {reply_type} within {deadline} s: {messages}")
        return messages

    def execute(self, code):
        msg_id = self.send("shell", "execute_request", {"code": code, "silent": False, "store_history": True,
                                                         "user_expressions": {}, "allow_stdin": False,
                                                         "stop_on_error": True})
        return self.until_reply(msg_id, "execute_reply")

    def close(self):
        self.socket.close()


def stdout_of(messages):
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


def reply_of(messages, reply_type):
    replies = [m for m in messages if m["msg_type"] == reply_type]
    assert len(replies) == 1, messages
    return replies[0]


class ChannelsTest(ServerTestCase):
    def setUp(self):
        response = self.request("POST", "/api/kernels", {"name": "tejun"})
        self.assert_status(response, 201)
        self.kernel_id = response.json["id"]
        self.addCleanup(self.request, "DELETE", f"/api/kernels/{self.kernel_id}")

    def client(self, **kwargs):
        client = Client(self.server.port, self.kernel_id, **kwargs)
        self.addCleanup(client.close)
        return client

    def test_kernel_info_and_execute(self):
        client = self.client()
        messages = client.until_reply(client.send("shell", "kernel_info_request", {}), "kernel_info_reply")
        info = reply_of(messages, "kernel_info_reply")
        self.assertEqual(info["channel"], "shell")
        self.assertEqual(info["content"]["status"], "ok")
        self.assertEqual(info["content"]["protocol_version"][:2], "5.")
        messages = client.execute("echo hello from the bridge")
        self.assertEqual(stdout_of(messages), "hello from the bridge\n")
        self.assertEqual(reply_of(messages, "execute_reply")["content"]["status"], "ok")
        self.assertTrue(all(m["channel"] in ("shell", "iopub") for m in messages), messages)
        self.assertIn("busy", [m["content"].get("execution_state") for m in messages if m["msg_type"] == "status"])

    def test_two_clients_watch_one_kernel(self):
        first = self.client()
        second = self.client()
        # Both ready, as a front end is once its kernel_info_reply is in.
        for client in (first, second):
            client.until_reply(client.send("shell", "kernel_info_request", {}), "kernel_info_reply")
        msg_id = first.send("shell", "execute_request", {"code": "echo seen-by-both", "silent": False,
                                                          "store_history": True, "user_expressions": {},
                                                          "allow_stdin": False, "stop_on_error": True})
        mine = first.until_reply(msg_id, "execute_reply")
        self.assertEqual(stdout_of(mine), "seen-by-both\n")
        # The other client sees the broadcast output, but not the reply: replies go to the
        # socket that asked.
        seen = []
        end = time.monotonic() + DEADLINE
        while "seen-by-both\n" not in stdout_of(seen) and time.monotonic() < end:
            second.socket.settimeout(max(0.1, end - time.monotonic()))
            packet = json.loads(second.socket.recv())
            if packet["parent_header"].get("msg_id") == msg_id:
                seen.append(packet)
        self.assertEqual(stdout_of(seen), "seen-by-both\n")
        self.assertNotIn("execute_reply", [m["msg_type"] for m in seen])

    def test_a_large_output_arrives_whole(self):
        """5 MB of output: every byte reaches the client, in order (backpressure, no dropping)."""
        client = self.client()
        messages = client.execute("head -c 5000000 /dev/zero | tr '\\0' 'x'; echo; echo end")
        text = stdout_of(messages)
        self.assertEqual(len(text), 5_000_000 + len("\nend\n"))
        self.assertTrue(text.endswith("x\nend\n"))
        self.assertEqual(text.count("x"), 5_000_000)

    def test_interrupt_through_the_rest_api(self):
        client = self.client()
        msg_id = client.send("shell", "execute_request", {"code": "sleep 30", "silent": False, "store_history": True,
                                                           "user_expressions": {}, "allow_stdin": False,
                                                           "stop_on_error": True})
        time.sleep(0.5)
        self.assert_status(self.request("POST", f"/api/kernels/{self.kernel_id}/interrupt"), 204)
        reply = reply_of(client.until_reply(msg_id, "execute_reply"), "execute_reply")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(stdout_of(client.execute("echo still here")), "still here\n")

    def test_the_websocket_follows_a_restart(self):
        """After POST …/restart the same WebSocket reaches the new kernel process (new ports)."""
        client = self.client()
        client.execute("export BEFORE_RESTART=yes")
        self.assert_status(self.request("POST", f"/api/kernels/{self.kernel_id}/restart"), 200)
        end = time.monotonic() + DEADLINE
        while True:
            try:
                messages = client.until_reply(client.send("shell", "kernel_info_request", {}), "kernel_info_reply",
                                              deadline=3)
                break
            except (AssertionError, websocket.WebSocketTimeoutException):
                if time.monotonic() > end:
                    raise
        self.assertEqual(reply_of(messages, "kernel_info_reply")["content"]["status"], "ok")
        self.assertEqual(stdout_of(client.execute('echo "${BEFORE_RESTART:-a new session}"')), "a new session\n")

    def test_control_channel(self):
        client = self.client()
        messages = client.until_reply(client.send("control", "kernel_info_request", {}), "kernel_info_reply")
        self.assertEqual(reply_of(messages, "kernel_info_reply")["channel"], "control")

    def test_refusals(self):
        port = self.server.port
        for headers, target, status in (
                ([], f"/api/kernels/{self.kernel_id}/channels", 403),
                ([f"Authorization: token {TOKEN}"], f"/api/kernels/{self.kernel_id}/channels?evil", 403),
                ([f"Authorization: token {TOKEN}"], "/api/kernels/00000000-0000-0000-0000-000000000000/channels", 404),
                ([f"Authorization: token {TOKEN}"], "/api/status", 404)):
            # websocket-client sends an Origin of its own; "?evil" marks the case with another one.
            origin = "http://evil.example.com" if target.endswith("?evil") else f"http://127.0.0.1:{port}"
            with self.assertRaises(websocket.WebSocketBadStatusException, msg=f"{headers} {target}") as caught:
                websocket.create_connection(f"ws://127.0.0.1:{port}{target.removesuffix('?evil')}", header=headers,
                                            origin=origin, timeout=DEADLINE)
            self.assertEqual(caught.exception.status_code, status, f"{headers} {target}")
        # The token in the query, as a browser gives it, and a same-origin page.
        socket = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{self.kernel_id}/channels?token={TOKEN}",
            origin=f"http://127.0.0.1:{port}", timeout=DEADLINE)
        socket.close()
        self.assert_status(self.request("GET", "/api/status"), 200)


if __name__ == "__main__":
    unittest.main()
