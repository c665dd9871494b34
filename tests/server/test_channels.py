"""The kernel channels WebSocket of `tejun server` (/api/kernels/ID/channels), driven with Debian's
websocket-client in Jupyter's JSON protocol and its binary subprotocol
v1.kernel.websocket.jupyter.org: requests on shell and control, replies and iopub back, several
clients on one kernel, a large output that arrives whole, interrupt, a client that reconnects and
gets what it missed, the kernel's state and connections in the REST API, a kernel that dies (the
server restarts it and says so; one that cannot start again is dead), idle culling, and the
refusals (no token, another origin, unknown kernel).

Runs as `python3 -m unittest -v test_channels` in this folder with $TEJUN the tejun binary.
"""

import json
import os
import shutil
import signal
import struct
import time
import unittest
import uuid

import websocket

from server_support import TEJUN, TOKEN, ServerTestCase, wait_until

DEADLINE = 30  # seconds for a reply that should take milliseconds
V1 = "v1.kernel.websocket.jupyter.org"
PARTS = ("header", "parent_header", "metadata", "content")


def encode_v1(packet):
    """PACKET in the binary subprotocol: the number of offsets, the offsets (little-endian u64),
    then the channel, the four JSON parts and the buffers, each from its offset to the next."""
    channel = packet["channel"].encode()
    parts = [json.dumps(packet[key]).encode() for key in PARTS] + list(packet.get("buffers", []))
    count = 2 + len(parts)
    offsets = [8 * (1 + count), 8 * (1 + count) + len(channel)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return struct.pack(f"<{1 + count}Q", count, *offsets) + channel + b"".join(parts)


def decode_v1(data):
    (count,) = struct.unpack_from("<Q", data)
    offsets = struct.unpack_from(f"<{count}Q", data, 8)
    assert offsets[0] == 8 * (1 + count) and offsets[-1] == len(data), (count, offsets, len(data))
    parts = [data[offsets[i]:offsets[i + 1]] for i in range(count - 1)]
    packet = {"channel": parts[0].decode()}
    packet.update((key, json.loads(part)) for key, part in zip(PARTS, parts[1:5]))
    packet["buffers"] = parts[5:]
    packet["msg_type"] = packet["header"]["msg_type"]
    return packet


class Client:
    """One WebSocket on a kernel's channels, with a Jupyter session id (its own, or SESSION to
    come back as an earlier client), in the JSON protocol or (PROTOCOL "v1") the binary one."""

    def __init__(self, port, kernel_id, headers=None, session=None, protocol="json"):
        self.session = session or uuid.uuid4().hex
        self.protocol = protocol
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=headers if headers is not None else [f"Authorization: token {TOKEN}"], timeout=DEADLINE,
            subprotocols=[V1] if protocol == "v1" else None)

    def send(self, channel, msg_type, content):
        msg_id = uuid.uuid4().hex
        packet = {"header": {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "test",
                             "date": "2026-01-01T00:00:00.000000Z", "version": "5.3"},
                  "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}
        if self.protocol == "v1":
            self.socket.send_binary(encode_v1(packet))
        else:
            self.socket.send(json.dumps(packet))
        return msg_id

    def recv(self):
        """The next message, decoded; in the binary protocol every frame must be binary."""
        opcode, data = self.socket.recv_data()
        if self.protocol == "v1":
            assert opcode == websocket.ABNF.OPCODE_BINARY, (opcode, data[:200])
            return decode_v1(data)
        assert opcode == websocket.ABNF.OPCODE_TEXT, (opcode, data[:200])
        return json.loads(data)

    def until_reply(self, msg_id, reply_type, deadline=DEADLINE):
        """Every message for MSG_ID until its REPLY_TYPE has come and the kernel is idle again."""
        messages = []
        replied = idle = False
        end = time.monotonic() + deadline
        while not (replied and idle):
            self.socket.settimeout(max(0.1, end - time.monotonic()))
            packet = self.recv()
            if packet["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(packet)
            replied = replied or packet["msg_type"] == reply_type
            idle = idle or (packet["msg_type"] == "status" and packet["content"]["execution_state"] == "idle")
            if time.monotonic() > end:
                raise AssertionError(f"no {reply_type} within {deadline} s: {messages}")
        return messages

    def start(self, code):
        return self.send("shell", "execute_request", {"code": code, "silent": False, "store_history": True,
                                                       "user_expressions": {}, "allow_stdin": False,
                                                       "stop_on_error": True})

    def execute(self, code):
        return self.until_reply(self.start(code), "execute_reply")

    def until_status(self, state, deadline=DEADLINE):
        """Messages until a status STATE that is no reply to a request (the server's own)."""
        seen = []
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            self.socket.settimeout(max(0.1, end - time.monotonic()))
            packet = self.recv()
            seen.append(packet)
            if packet["msg_type"] == "status" and packet["content"]["execution_state"] == state:
                return seen
        raise AssertionError(f"no status {state} within {deadline} s: {seen}")

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

    def kernel_model(self):
        return self.get_json(f"/api/kernels/{self.kernel_id}")

    def kernel_pid(self, client):
        """The kernel's process id: the parent of the bash it runs steps in."""
        return int(stdout_of(client.execute("echo $PPID")))

    def test_the_binary_subprotocol(self):
        """Offered v1.kernel.websocket.jupyter.org (as JupyterLab offers it), the server chooses
        it: every frame is binary both ways, UTF-8 intact."""
        client = self.client(protocol="v1")
        self.assertEqual(client.socket.subprotocol, V1)
        messages = client.until_reply(client.send("shell", "kernel_info_request", {}), "kernel_info_reply")
        info = reply_of(messages, "kernel_info_reply")
        self.assertEqual((info["channel"], info["content"]["status"]), ("shell", "ok"))
        messages = client.execute("printf '%s\\n' 'é — binary'")
        self.assertEqual(stdout_of(messages), "é — binary\n")
        self.assertEqual(reply_of(messages, "execute_reply")["content"]["status"], "ok")
        self.assertTrue(all(m["channel"] in ("shell", "iopub") for m in messages), messages)
        control = client.until_reply(client.send("control", "kernel_info_request", {}), "kernel_info_reply")
        self.assertEqual(reply_of(control, "kernel_info_reply")["channel"], "control")

    def test_a_client_that_comes_back_gets_what_it_missed(self):
        """A client whose connection drops mid-step, and which connects again with the same
        session_id, gets the output and the reply sent meanwhile, in order; another client
        does not."""
        client = self.client()
        msg_id = client.start("echo before; sleep 1.5; echo missed-1; echo missed-2")
        seen = []
        while "before\n" not in stdout_of(seen):
            packet = client.recv()
            if packet["parent_header"].get("msg_id") == msg_id:
                seen.append(packet)
        client.close()
        time.sleep(2)
        # The step ended while nobody was connected; the server saw it end all the same.
        self.assertEqual(wait_until(lambda: self.kernel_model()["execution_state"] == "idle", DEADLINE), True,
                         self.kernel_model())
        back = self.client(session=client.session, protocol="v1")
        rest = back.until_reply(msg_id, "execute_reply")
        self.assertEqual(stdout_of(rest), "missed-1\nmissed-2\n")
        self.assertEqual(reply_of(rest, "execute_reply")["content"]["status"], "ok")
        self.assertEqual(stdout_of(back.execute("echo still-working")), "still-working\n")
        other = self.client()
        mine = other.start("echo mine")
        strays = []
        while True:
            packet = other.recv()
            if packet["parent_header"].get("msg_id") == msg_id:
                strays.append(packet)
            if packet["parent_header"].get("msg_id") == mine and packet["msg_type"] == "execute_reply":
                break
        self.assertEqual(strays, [], "a new client got another client's missed output")

    def test_state_and_connections_in_the_rest_api(self):
        client = self.client()
        client.until_reply(client.send("shell", "kernel_info_request", {}), "kernel_info_reply")
        self.assertEqual(wait_until(lambda: self.kernel_model()["connections"] == 1), True, self.kernel_model())
        self.assertGreaterEqual(self.get_json("/api/status")["connections"], 1)
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r"(?m)^tejun_websocket_clients [1-9]")
        self.assertRegex(metrics, r'(?m)^tejun_websocket_upgrades_total\{code="101"\} [1-9]')
        msg_id = client.start("sleep 2")
        self.assertEqual(wait_until(lambda: self.kernel_model()["execution_state"] == "busy"), True,
                         self.kernel_model())
        client.until_reply(msg_id, "execute_reply")
        self.assertEqual(wait_until(lambda: self.kernel_model()["execution_state"] == "idle"), True,
                         self.kernel_model())
        client.close()
        self.assertEqual(wait_until(lambda: self.kernel_model()["connections"] == 0), True, self.kernel_model())
        self.assertRegex(self.server.stderr(), rf"GET /api/kernels/{self.kernel_id}/channels 101 ")

    def test_a_kernel_that_dies_is_restarted_and_the_client_told(self):
        client = self.client()
        client.execute("export BEFORE_DEATH=yes")
        pid = self.kernel_pid(client)
        os.kill(pid, signal.SIGKILL)
        client.until_status("restarting")
        self.assertEqual(wait_until(lambda: self.kernel_model()["execution_state"] == "idle", DEADLINE), True,
                         self.kernel_model())
        self.assertRegex(self.server.stderr(), rf"kernel {self.kernel_id} died: .*SIGKILL.*; restarting it")
        end = time.monotonic() + DEADLINE
        while True:
            try:
                messages = client.execute('echo "${BEFORE_DEATH:-a new session}"')
                break
            except (AssertionError, websocket.WebSocketTimeoutException):
                if time.monotonic() > end:
                    raise
        self.assertEqual(stdout_of(messages), "a new session\n")
        self.assertNotEqual(self.kernel_pid(client), pid)

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

    def test_a_kernel_that_cannot_start_again_is_dead(self):
        """A kernelspec that starts once and then fails: after its death the server's restart
        fails, the client gets status dead and the REST API says dead; DELETE still works."""
        folder = self.server.folder / "data" / "kernels" / "once"
        folder.mkdir(parents=True, exist_ok=True)
        flag = self.server.folder / "once-started"
        tejun = shutil.which(TEJUN) or os.path.abspath(TEJUN)
        (folder / "kernel.json").write_text(json.dumps({
            "argv": ["sh", "-c", 'test -e "$0" && exit 3; touch "$0"; exec "$1" kernel -f "$2"', str(flag), tejun,
                     "{connection_file}"],
            "display_name": "starts once", "language": "bash"}))
        response = self.request("POST", "/api/kernels", {"name": "once"})
        self.assert_status(response, 201)
        kernel_id = response.json["id"]
        self.addCleanup(self.request, "DELETE", f"/api/kernels/{kernel_id}")
        client = Client(self.server.port, kernel_id)
        self.addCleanup(client.close)
        os.kill(self.kernel_pid(client), signal.SIGKILL)
        seen = client.until_status("dead")
        self.assertIn("restarting", [m["content"].get("execution_state") for m in seen if m["msg_type"] == "status"])
        self.assertEqual(self.get_json(f"/api/kernels/{kernel_id}")["execution_state"], "dead")
        self.assertRegex(self.server.stderr(), rf"kernel {kernel_id} did not start again: ")
        self.assert_status(self.request("DELETE", f"/api/kernels/{kernel_id}"), 204)

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


class CullingTest(ServerTestCase):
    """--cull-idle-timeout: an idle kernel without clients is shut down (and logged); one with a
    client connected is kept (no --cull-connected)."""

    server_args = ("--cull-idle-timeout", "2", "--cull-interval", "1")

    def test_idle_kernels_are_culled(self):
        kept = self.request("POST", "/api/kernels", {"name": "tejun"}).json["id"]
        self.addCleanup(self.request, "DELETE", f"/api/kernels/{kept}")
        client = Client(self.server.port, kept)
        self.addCleanup(client.close)
        client.execute("true")
        idle = self.request("POST", "/api/kernels", {"name": "tejun"}).json["id"]
        gone = wait_until(lambda: self.request("GET", f"/api/kernels/{idle}").status == 404, DEADLINE)
        self.assertTrue(gone, "the idle kernel was not culled")
        self.assertRegex(self.server.stderr(), rf"culled kernel {idle}: idle for \d+ s, 0 connection")
        self.assertEqual(self.request("GET", f"/api/kernels/{kept}").status, 200, "a connected kernel was culled")
        self.assertEqual(stdout_of(client.execute("echo alive")), "alive\n")


if __name__ == "__main__":
    unittest.main()
