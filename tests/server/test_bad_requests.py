"""`tejun server` against bad and abusive clients, mostly over raw sockets (server and helpers:
server_support.py). Malformed JSON on every route, unknown routes, wrong methods and a first
request that is not HTTP are in test_server_api.py; '..', absolute paths, NUL and bad
percent-encoding in /api/contents in test_contents.py. This file has the rest:

- what a malformed body's message says, bodies nested deep, invalid UTF-8 in JSON bodies and
  in paths (a 4xx that says so, an error body that is itself UTF-8, nothing written);
- bodies over the 100 MiB limit, by Content-Length and by chunks: 413, and the connection is
  closed without reading the rest; headers over 64 KiB: 431;
- requests that are not HTTP/1.1 (TLS, binary, HTTP/0.9 and /2, bad framing, an unknown
  Transfer-Encoding): one 400 with Connection: close, then the connection is closed;
- unknown kernel ids on every kernel route and on the channels WebSocket: 404 "Kernel does not
  exist"; session and kernel paths that leave the root keep the kernel in the root;
- clients that stall mid-request, trickle a header a byte a second or idle on keep-alive: the
  others are served meanwhile, and each is dropped after the server's read timeout;
- a WebSocket client that does not read while its kernel prints 20 MB: other requests and
  another kernel's WebSocket go on, and once it reads, every byte arrives;
- WebSocket frames that are not JSON, not messages, not UTF-8, or over the message limit (1009);
- SIGTERM with all of these connected: exit code 0.

After each case the server must still answer GET /api/status; at the end of each class SIGTERM
must stop it with exit code 0 (ServerTestCase).

Runs as `python3 -m unittest -v test_bad_requests` in tests/server with $TEJUN the tejun binary
(about 90 s: the slow clients wait out the server's 60 s read timeout). Only the standard
library and Debian's websocket-client are used.
"""

import http.client
import json
import os
import re
import select
import socket
import struct
import time
import unittest
import uuid

import websocket
from websocket import ABNF

from server_support import HTTP_TIMEOUT, STOP_DEADLINE, TOKEN, ServerTestCase, alive, wait_until

# The server's limits (net::ServerOptions in src/net/http_server.hpp).
BODY_LIMIT = 100 << 20
HEADER_LIMIT = 64 << 10
READ_TIMEOUT = 60  # seconds for a request to arrive whole
WEBSOCKET_MESSAGE_LIMIT = 64 << 20
MARGIN = 30  # seconds granted beyond the read timeout
DEADLINE = 30  # seconds for an answer that should take milliseconds
MIB = 1 << 20
AUTHORIZATION = f"Authorization: token {TOKEN}"


# --- raw HTTP ------------------------------------------------------------------------------


class Reply:
    """One HTTP response: status, headers (names in lower case) and body bytes, unparsed."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request_head(method, target, *lines, auth=True):
    """A request's head: METHOD TARGET HTTP/1.1, Host, the token (AUTH), LINES, the blank line."""
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *([AUTHORIZATION] if auth else []), *lines]
    return ("\r\n".join(head) + "\r\n\r\n").encode()


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)


def send_all(connection, data):
    """Sends DATA; False when the server closed the connection first."""
    try:
        connection.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def read_until_closed(connection, deadline=DEADLINE):
    """Everything the server sends until it closes CONNECTION, and whether it did so within
    DEADLINE seconds (a reset counts as closed)."""
    data = b""
    end = time.monotonic() + deadline
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            return data, False
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(65536)
        except ConnectionResetError:
            return data, True
        except socket.timeout:
            return data, False
        if not chunk:
            return data, True
        data += chunk


def parse_replies(data):
    """The HTTP responses in DATA (bytes from a raw connection), and what is left unparsed."""
    replies = []
    while data:
        end = data.find(b"\r\n\r\n")
        found = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
        if end < 0 or not found:
            break
        headers = {}
        for line in data[:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
        length = int(headers.get("content-length", "0"))
        body = data[end + 4:end + 4 + length]
        if len(body) < length:
            break
        replies.append(Reply(int(found.group(1)), headers, body))
        data = data[end + 4 + length:]
    return replies, data


# --- raw WebSocket -------------------------------------------------------------------------


def client_frame(opcode, payload, fin=True, length=None):
    """A masked client frame; LENGTH, when given, is the payload length the header announces
    (more than PAYLOAD: the rest is never sent)."""
    size = len(payload) if length is None else length
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        header = bytes([first, 0x80 | size])
    elif size < 1 << 16:
        header = bytes([first, 0x80 | 126]) + struct.pack("!H", size)
    else:
        header = bytes([first, 0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    keys = (mask * (len(payload) // 4 + 1))[:len(payload)]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(len(payload), "big")
    return header + mask + masked


def close_code(data):
    """The status code of the first close frame in DATA (frames from the server); None when
    there is none, 1005 when it has no code."""
    at = 0
    while at + 2 <= len(data):
        opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if size == 126:
            size = struct.unpack("!H", data[at:at + 2])[0]
            at += 2
        elif size == 127:
            size = struct.unpack("!Q", data[at:at + 8])[0]
            at += 8
        payload = data[at:at + size]
        at += size
        if opcode == ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
    return None


class Channels:
    """One WebSocket on a kernel's channels (websocket-client), in Jupyter's JSON protocol."""

    def __init__(self, port, kernel_id, **options):
        self.session = uuid.uuid4().hex
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=[AUTHORIZATION], timeout=DEADLINE, **options)

    def send(self, channel, msg_type, content):
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "test",
                       "date": "2026-01-01T00:00:00.000000Z", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}))
        return msg_id

    def send_execute(self, code):
        return self.send("shell", "execute_request", {"code": code, "silent": False, "store_history": True,
                                                       "user_expressions": {}, "allow_stdin": False,
                                                       "stop_on_error": True})

    def until_idle(self, msg_id, deadline=DEADLINE):
        """Every message for MSG_ID until its execute_reply has come and the kernel is idle."""
        messages = []
        replied = idle = False
        end = time.monotonic() + deadline
        while not (replied and idle):
            if time.monotonic() > end:
                raise AssertionError(f"no execute_reply and idle within {deadline} s: {messages[-5:]}")
            self.socket.settimeout(max(0.1, end - time.monotonic()))
            packet = json.loads(self.socket.recv())
            if packet["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(packet)
            replied = replied or packet["msg_type"] == "execute_reply"
            idle = idle or (packet["msg_type"] == "status" and packet["content"]["execution_state"] == "idle")
        return messages

    def execute(self, code, deadline=DEADLINE):
        """CODE's stdout, once it has run."""
        return stdout_of(self.until_idle(self.send_execute(code), deadline))

    def execute_or_closed(self, code):
        """("ran", CODE's stdout), or ("closed", the close code: None when the connection ended
        without a close frame) when the server closes the WebSocket instead."""
        try:
            msg_id = self.send_execute(code)
        except (OSError, websocket.WebSocketException):
            msg_id = None  # closed already: its close frame may still be there to read
        out = ""
        parts = []
        replied = idle = False
        end = time.monotonic() + DEADLINE
        try:
            while not (replied and idle):
                if time.monotonic() > end:
                    raise AssertionError(f"neither an execute_reply nor a close within {DEADLINE} s")
                self.socket.settimeout(max(0.1, end - time.monotonic()))
                # Frame by frame: recv_data would answer a close frame, and fail if the server
                # has gone meanwhile, losing the code.
                frame = self.socket.recv_frame()
                if frame.opcode == ABNF.OPCODE_CLOSE:
                    return "closed", struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else 1005
                if frame.opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
                    parts = [frame.opcode, frame.data]
                elif frame.opcode == ABNF.OPCODE_CONT:
                    parts.append(frame.data)
                if frame.opcode not in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY, ABNF.OPCODE_CONT) or not frame.fin:
                    continue
                if parts[0] != ABNF.OPCODE_TEXT:
                    continue
                packet = json.loads(b"".join(parts[1:]))
                if msg_id is None or packet["parent_header"].get("msg_id") != msg_id:
                    continue
                if packet["msg_type"] == "stream" and packet["content"]["name"] == "stdout":
                    out += packet["content"]["text"]
                replied = replied or packet["msg_type"] == "execute_reply"
                idle = idle or (packet["msg_type"] == "status" and packet["content"]["execution_state"] == "idle")
        except (OSError, websocket.WebSocketConnectionClosedException, websocket.WebSocketProtocolException):
            return "closed", None
        return "ran", out

    def close(self):
        self.socket.close()


def stdout_of(messages):
    return "".join(m["content"]["text"] for m in messages
                   if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


# --- the test case -------------------------------------------------------------------------


class AbuseTestCase(ServerTestCase):
    """ServerTestCase with raw requests and their assertions."""

    def assert_still_serving(self, after=""):
        self.assertIsNone(self.server.process.poll(),
                          f"the server ended after {after}: {self.server.stderr()[-2000:]}")
        super().assert_still_serving(after)

    def request_bytes(self, method, target, body=b"", headers=None):
        """METHOD TARGET with BODY (bytes, sent as they are) and the token: a Reply, whose body
        is left unparsed (it may not be JSON, nor UTF-8)."""
        all_headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        try:
            connection.request(method, target, body=body, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, {name.lower(): value for name, value in response.getheaders()},
                         response.read())
        finally:
            connection.close()

    def exchange(self, data, deadline=DEADLINE):
        """DATA sent on a new connection (the server may close it before all is sent): what
        came back until the server closed it, and whether it did within DEADLINE seconds."""
        with connect(self.server.port) as connection:
            send_all(connection, data)
            return read_until_closed(connection, deadline)

    def assert_json_error(self, reply, what):
        """REPLY's body is an error in UTF-8 JSON: {"message": non-empty, "reason": text};
        returns the message."""
        self.assertTrue(reply.headers.get("content-type", "").startswith("application/json"),
                        f"{what}: an error body must be JSON: {reply.headers} {reply!r}")
        try:
            body = json.loads(reply.body.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise AssertionError(f"{what}: the error body is not UTF-8 ({error}), so not JSON: {reply!r}") from None
        except ValueError as error:
            raise AssertionError(f"{what}: the error body is not JSON ({error}): {reply!r}") from None
        self.assertIsInstance(body, dict, f"{what}: {reply!r}")
        self.assertIsInstance(body.get("message"), str, f"{what}: no message: {reply!r}")
        self.assertTrue(body["message"].strip(), f"{what}: an empty message: {reply!r}")
        self.assertIsInstance(body.get("reason"), str, f"{what}: no reason: {reply!r}")
        return body["message"]

    def assert_refused_and_closed(self, data, closed, status, what):
        """DATA (all a raw connection received) is one STATUS response with a JSON error and
        Connection: close, and the server closed the connection; returns the message."""
        replies, rest = parse_replies(data)
        self.assertTrue(replies, f"{what}: no HTTP response, but {data[:300]!r}")
        self.assertEqual(replies[0].status, status, f"{what}: {replies[0]!r}")
        message = self.assert_json_error(replies[0], what)
        self.assertEqual(replies[0].headers.get("connection", "").lower(), "close",
                         f"{what}: no Connection: close: {replies[0].headers}")
        self.assertEqual(len(replies), 1, f"{what}: more than one response: {replies}")
        self.assertEqual(rest, b"", f"{what}: more after the response: {rest[:300]!r}")
        self.assertTrue(closed, f"{what}: the server did not close the connection within {DEADLINE} s")
        return message

    def start_kernel(self):
        response = self.request("POST", "/api/kernels", {"name": "tejun"})
        self.assert_status(response, 201, "POST /api/kernels")
        kernel_id = response.json["id"]
        self.addCleanup(self.request, "DELETE", f"/api/kernels/{kernel_id}")
        return kernel_id

    def channels(self, kernel_id, **options):
        client = Channels(self.server.port, kernel_id, **options)
        self.addCleanup(client.close)
        return client


# --- bodies and headers --------------------------------------------------------------------


class BodyTest(AbuseTestCase):
    """Malformed and non-UTF-8 bodies, and bodies and headers over the server's limits."""

    def test_a_malformed_body_is_told_what_is_wrong(self):
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        session = self.request("POST", "/api/sessions", {"path": f"{api}/s.ipynb", "name": "s.ipynb",
                                                         "type": "notebook", "kernel": {"name": "tejun"}})
        self.assert_status(session, 201, "POST /api/sessions")
        self.addCleanup(self.request, "DELETE", f"/api/sessions/{session.json['id']}")
        for method, target in (("PUT", f"/api/contents/{api}/x.ipynb"), ("POST", "/api/kernels"),
                               ("POST", "/api/sessions"), ("PATCH", f"/api/sessions/{session.json['id']}"),
                               ("PATCH", f"/api/contents/{api}/a.txt")):
            for body in (b'{"type": "notebook", "content": ', b"{'single': 'quotes'}", b'{"a": 1,}', b"\x00",
                         b"null", b"[]", b"[" * 100_000, b'{"a": ' * 100_000):
                what = f"{method} {target} {body[:40]!r}"
                reply = self.request_bytes(method, target, body)
                self.assertEqual(reply.status, 400, f"{what}: {reply!r}")
                message = self.assert_json_error(reply, what)
                self.assertRegex(message, r"JSON|body", f"{what}: the message does not say the body is wrong")
                self.assert_still_serving(what)
        self.assertEqual(sorted(os.listdir(path)), ["a.txt"])
        got = self.get_json(f"/api/sessions/{session.json['id']}")
        self.assertEqual(got["path"], f"{api}/s.ipynb")
        self.assertEqual(got["kernel"]["id"], session.json["kernel"]["id"])
        self.assertEqual([kernel["id"] for kernel in self.get_json("/api/kernels")], [session.json["kernel"]["id"]])

    def test_invalid_utf8_in_a_json_body(self):
        """Raw bytes that are not UTF-8 inside a JSON string: 400 saying so (never a 500), and
        nothing is written nor started."""
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        notebook = json.dumps({"cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": "MARK"}],
                               "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
        bad = b"\xff\xfe"
        for method, target, body in (
                ("PUT", f"/api/contents/{api}/x.txt", b'{"type": "file", "format": "text", "content": "a\xffb"}'),
                ("PUT", f"/api/contents/{api}/x.ipynb", b'{"type": "notebook", "format": "json", "content": '
                 + notebook.replace(b"MARK", bad) + b"}"),
                ("PUT", f"/api/contents/{api}/y.txt",  # an overlong '.', and a UTF-16 surrogate
                 b'{"type": "file", "format": "text", "content": "\xc0\xae\xed\xa0\x80"}'),
                ("POST", f"/api/contents/{api}", b'{"type": "file", "ext": ".t\xffxt"}'),
                ("PATCH", f"/api/contents/{api}/a.txt", b'{"path": "' + api.encode() + b'/b\xff.txt"}'),
                ("POST", "/api/kernels", b'{"name": "tejun\xff"}'),
                ("POST", "/api/sessions", b'{"path": "s\xff.ipynb", "type": "notebook", "kernel": {"name": "tejun"}}')):
            what = f"{method} {target} {body[:60]!r}"
            with self.subTest(what):
                reply = self.request_bytes(method, target, body)
                self.assertEqual(reply.status, 400, f"{what}: {reply!r}")
                message = self.assert_json_error(reply, what)
                self.assertIn("UTF-8", message, f"{what}: the message does not say the body is not UTF-8")
                self.assert_still_serving(what)
        # JSON escapes of lone surrogates are no text either.
        for method, target, body in (
                ("PUT", f"/api/contents/{api}/z.txt", rb'{"type": "file", "format": "text", "content": "a\ud800b"}'),
                ("PATCH", f"/api/contents/{api}/a.txt", rb'{"path": "\udcff.txt"}'),
                ("POST", "/api/sessions",
                 rb'{"path": "\ud800.ipynb", "type": "notebook", "kernel": {"name": "tejun"}}')):
            what = f"{method} {target} {body!r}"
            with self.subTest(what):
                reply = self.request_bytes(method, target, body)
                self.assertEqual(reply.status, 400, f"{what}: {reply!r}")
                self.assert_json_error(reply, what)
                self.assert_still_serving(what)
        self.assertEqual(sorted(os.listdir(path)), ["a.txt"])
        self.assertEqual((path / "a.txt").read_text(), "a")
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertEqual(self.get_json("/api/sessions"), [])

    def test_a_body_over_the_limit_by_its_length(self):
        """A Content-Length of twice the limit and a little of the body: 413 at once, and the
        connection is closed without waiting for the rest."""
        api, path = self.folder()
        for method, target in (("PUT", f"/api/contents/{api}/big.txt"), ("POST", "/api/kernels"),
                               ("POST", "/api/sessions")):
            what = f"{method} {target} with Content-Length {2 * BODY_LIMIT}"
            with connect(self.server.port) as connection:
                send_all(connection, request_head(method, target, "Content-Type: application/json",
                                                  f"Content-Length: {2 * BODY_LIMIT}"))
                send_all(connection, b'{"type": "file", "format": "text", "content": "' + b"x" * (64 << 10))
                data, closed = read_until_closed(connection)
            message = self.assert_refused_and_closed(data, closed, 413, what)
            self.assertIn("limit", message, f"{what}: not a clear message")
            self.assert_still_serving(what)
        self.assertEqual(os.listdir(path), [])
        self.assertEqual(self.get_json("/api/kernels"), [])

    def test_a_chunked_body_that_grows_over_the_limit(self):
        api, path = self.folder()
        target = f"/api/contents/{api}/big.txt"
        head = request_head("PUT", target, "Content-Type: application/json", "Transfer-Encoding: chunked")
        # A small chunk, then one that announces more than the limit.
        what = "a chunk announcing more than the limit"
        data, closed = self.exchange(head + b"10\r\n" + b"x" * 16 + b"\r\n" + f"{2 * BODY_LIMIT:x}\r\n".encode()
                                     + b"x" * 4096)
        self.assertIn("limit", self.assert_refused_and_closed(data, closed, 413, what), what)
        self.assert_still_serving(what)
        # 1 MiB chunks really sent, until the server answers.
        what = "1 MiB chunks past the limit"
        chunk = f"{MIB:x}\r\n".encode() + b"x" * MIB + b"\r\n"
        sent = 0
        with connect(self.server.port) as connection:
            send_all(connection, head)
            while sent < 2 * BODY_LIMIT // MIB:
                answered, _, _ = select.select([connection], [], [], 0)
                if answered or not send_all(connection, chunk):
                    break
                sent += 1
            data, closed = read_until_closed(connection)
        self.assertLess(sent, 2 * BODY_LIMIT // MIB, f"{what}: the server took {sent} MiB without answering")
        self.assertIn("limit", self.assert_refused_and_closed(data, closed, 413, what), what)
        self.assert_still_serving(what)
        self.assertEqual(os.listdir(path), [])

    def test_headers_over_the_limit(self):
        for what, data, statuses in (
                ("one header of 70 KiB", request_head("GET", "/api/status", "X-Big: " + "a" * (70 << 10)), (431,)),
                ("1000 headers of 100 bytes",
                 request_head("GET", "/api/status", *(f"X-Header-{i}: {'v' * 100}" for i in range(1000))), (431,)),
                ("a request line of 80 KiB", request_head("GET", "/api/contents/" + "a/" * (40 << 10)), (414, 431))):
            data, closed = self.exchange(data)
            replies, _ = parse_replies(data)
            status = replies[0].status if replies else None
            self.assertIn(status, statuses, f"{what}: {data[:300]!r}")
            self.assertIn("limit", self.assert_refused_and_closed(data, closed, status, what), what)
            self.assert_still_serving(what)
        # Headers just under the limit are served.
        data, closed = self.exchange(request_head("GET", "/api/status", "Connection: close",
                                                  "X-Big: " + "a" * (HEADER_LIMIT - 4096)))
        replies, _ = parse_replies(data)
        self.assertTrue(replies and replies[0].status == 200, f"headers of {HEADER_LIMIT - 4096} bytes: {data[:300]!r}")


# --- requests that are not HTTP ------------------------------------------------------------


class NotHttpTest(AbuseTestCase):
    """Garbage where a request should be: one 400 with Connection: close, then the server closes
    the connection (nothing after the garbage is read as a request)."""

    def test_garbage(self):
        for what, data in (
                ("a TLS ClientHello", b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + bytes(range(32))
                 + b"\x00" * 64 + b"\r\n\r\n"),
                ("binary bytes with NUL", b"\x00\xff\xfe\x7f\x01\x02\r\n\r\n"),
                ("an HTTP/0.9 request", b"GET /api/status\r\n\r\n"),
                ("the HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                ("a space in the target", request_head("GET", "/api/sta tus")),
                ("a header line without a colon", request_head("GET", "/api/status", "no colon here")),
                ("a space in a header name", request_head("GET", "/api/status", "Bad Name: v")),
                ("a NUL in a header value", request_head("GET", "/api/status", "X-Value: a\x00b")),
                ("a Content-Length that is no number",
                 request_head("PUT", "/api/contents/g.txt", "Content-Length: abc")),
                ("a negative Content-Length", request_head("PUT", "/api/contents/g.txt", "Content-Length: -1")),
                ("two different Content-Lengths",
                 request_head("PUT", "/api/contents/g.txt", "Content-Length: 5", "Content-Length: 7") + b"1234567"),
                ("Content-Length and Transfer-Encoding: chunked",
                 request_head("PUT", "/api/contents/g.txt", "Content-Length: 5", "Transfer-Encoding: chunked")
                 + b"0\r\n\r\n"),
                ("a chunk size that is not hexadecimal",
                 request_head("PUT", "/api/contents/g.txt", "Transfer-Encoding: chunked") + b"zz\r\nabc\r\n0\r\n\r\n")):
            data, closed = self.exchange(data)
            self.assert_refused_and_closed(data, closed, 400, what)
            self.assert_still_serving(what)
        self.assertNotIn("g.txt", os.listdir(self.server.root))

    def test_an_unknown_transfer_encoding(self):
        """A request's body length cannot be known when chunked is not its last transfer coding
        (RFC 9112 6.3): 400 and close, else its body would be read as the next request."""
        body = b'{"type": "file", "format": "text", "content": "x"}'
        smuggled = request_head("PUT", "/api/contents/smuggled.txt", "Content-Type: application/json",
                                f"Content-Length: {len(body)}") + body
        for encoding in ("gzip", "chunked, gzip", "identity"):
            what = f"Transfer-Encoding: {encoding}"
            with self.subTest(what):
                data, closed = self.exchange(request_head("PUT", "/api/contents/first.txt",
                                                          "Content-Type: application/json",
                                                          f"Transfer-Encoding: {encoding}") + smuggled)
                self.assert_refused_and_closed(data, closed, 400, what)
                self.assert_still_serving(what)
        self.assertEqual(os.listdir(self.server.root), [])

    def test_garbage_after_a_good_request(self):
        data, closed = self.exchange(request_head("GET", "/api/status") + b"GARBAGE GARBAGE\r\n\r\n")
        replies, _ = parse_replies(data)
        self.assertTrue(replies, data[:300])
        self.assertEqual(replies[0].status, 200, replies)
        self.assertEqual(len(replies), 2, f"a 400 expected after the 200: {data[:600]!r}")
        self.assert_refused_and_closed(data[data.index(b"HTTP/1.1 ", 1):], closed, 400, "garbage after a request")
        self.assert_still_serving("garbage after a good request")


# --- paths and ids -------------------------------------------------------------------------


class PathTest(AbuseTestCase):
    """Invalid UTF-8 in request targets; session and kernel paths out of the root. ('..',
    absolute paths, NUL and encoded slashes in /api/contents: test_contents.py.)"""

    def test_invalid_utf8_in_a_contents_path(self):
        """A path that decodes to bytes that are not UTF-8 (stray, overlong, a surrogate) names
        no file: a 4xx that says so, whatever the method, and nothing written."""
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        before = sorted(os.listdir(self.server.root))
        for target in (f"/api/contents/{api}/%FF%FE.md", f"/api/contents/{api}/%C0%AE%C0%AE.txt",
                       f"/api/contents/{api}/%ED%A0%80.txt", f"/api/contents/{api}/a%80b/c.txt",
                       f"/api/contents/%FF{api}"):
            for method, body in (("GET", b""), ("PUT", b'{"type": "file", "format": "text", "content": "x"}'),
                                 ("PUT", b'{"type": "directory"}'), ("POST", b'{"type": "file"}'),
                                 ("PATCH", f'{{"path": "{api}/moved.txt"}}'.encode()), ("DELETE", b"")):
                what = f"{method} {target} {body!r}"
                with self.subTest(what):
                    reply = self.request_bytes(method, target, body)
                    self.assertGreaterEqual(reply.status, 400, f"{what}: {reply!r}")
                    self.assertLess(reply.status, 500, f"{what}: {reply!r}")
                    message = self.assert_json_error(reply, what)
                    self.assertIn("UTF-8", message, f"{what}: the message does not say the path is not UTF-8")
                    self.assert_still_serving(what)
        self.assertEqual(sorted(os.listdir(path)), ["a.txt"])
        self.assertEqual(sorted(os.listdir(self.server.root)), before)

    def test_error_bodies_stay_utf8(self):
        """Whatever bytes a target holds, the error that names it is UTF-8 JSON."""
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        for method, target in (("GET", "/api/kernels/%FF"), ("DELETE", "/api/kernels/%FF%FE"),
                               ("POST", "/api/kernels/%FF/interrupt"), ("GET", "/api/sessions/%FF"),
                               ("GET", "/api/nothing%FF"), ("GET", f"/api/contents/{api}/a.txt?type=%FF")):
            what = f"{method} {target}"
            with self.subTest(what):
                reply = self.request_bytes(method, target)
                self.assertGreaterEqual(reply.status, 400, f"{what}: {reply!r}")
                self.assertLess(reply.status, 500, f"{what}: {reply!r}")
                self.assert_json_error(reply, what)
                self.assert_still_serving(what)

    def test_session_and_kernel_paths_out_of_the_root(self):
        """Jupyter starts a notebook's kernel in the notebook's folder: never one out of the root
        (the session may be refused, or its kernel started in the root)."""
        root = str(self.server.root)

        def check(what, collection, body):
            """POST BODY to /api/COLLECTION: refused with a clear error, or the one kernel it
            starts runs inside the root (and goes with the DELETE of what was made)."""
            before = set(self.server.children())
            response = self.request("POST", f"/api/{collection}", body)
            self.assertLess(response.status, 500, f"{what}: {response!r}")
            if response.status == 201:
                new = set(self.server.children()) - before
                self.assertEqual(len(new), 1, f"{what}: {self.server.children()}")
                (pid,) = new
                cwd = os.readlink(f"/proc/{pid}/cwd")
                self.assertTrue(cwd == root or cwd.startswith(root + "/"), f"{what}: the kernel runs in {cwd}")
                self.assert_deleted(f"/api/{collection}/{response.json['id']}", pid, f"{what}: its kernel still runs")
            else:
                self.assert_error(response, response.status, what)
            self.assert_still_serving(what)

        for body in ({"path": "../../escape.ipynb"}, {"path": "/etc/escape.ipynb"}, {"path": "a/../../escape.ipynb"},
                     {"path": f"{self.server.folder}/escape.ipynb"}):
            body.update(type="notebook", name="escape.ipynb", kernel={"name": "tejun"})
            check(f"POST /api/sessions {body['path']}", "sessions", body)
        for kernel_path in ("../..", "/etc", str(self.server.folder)):
            check(f"POST /api/kernels with path {kernel_path}", "kernels", {"name": "tejun", "path": kernel_path})


class KernelIdTest(AbuseTestCase):
    def test_unknown_kernel_ids_on_every_route(self):
        """GET, DELETE, interrupt, restart and the channels WebSocket of a kernel that does not
        exist, or no longer does: 404 "Kernel does not exist"."""
        gone = self.start_kernel()
        self.assert_status(self.request("DELETE", f"/api/kernels/{gone}"), 204)
        for kernel_id in ("NOPE", "00000000-0000-0000-0000-000000000000", "k" * 10_000, gone):
            for method, target in (("GET", f"/api/kernels/{kernel_id}"), ("DELETE", f"/api/kernels/{kernel_id}"),
                                   ("POST", f"/api/kernels/{kernel_id}/interrupt"),
                                   ("POST", f"/api/kernels/{kernel_id}/restart")):
                what = f"{method} {target[:60]}"
                reply = self.request_bytes(method, target)
                self.assertEqual(reply.status, 404, f"{what}: {reply!r}")
                self.assertIn("Kernel does not exist", self.assert_json_error(reply, what), what)
                self.assert_still_serving(what)
            what = f"WebSocket /api/kernels/{kernel_id[:40]}/channels"
            data, closed = self.exchange(request_head(
                "GET", f"/api/kernels/{kernel_id}/channels", "Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"))
            self.assertIn("Kernel does not exist", self.assert_refused_and_closed(data, closed, 404, what), what)
            self.assert_still_serving(what)
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertTrue(wait_until(lambda: not self.server.children()), self.server.children())


# --- slow clients --------------------------------------------------------------------------


class SlowClientTest(AbuseTestCase):
    STALLED = 20

    def test_slow_clients_are_dropped_and_others_served(self):
        """Clients that stop halfway through a request line, one that sends a header a byte a
        second, and one idle on keep-alive: the server answers others all along, and closes
        each within its read timeout (+ a margin) without serving it."""
        port = self.server.port
        stalled = []
        trickle = idle = None
        try:
            for _ in range(self.STALLED):
                stalled.append(connect(port))
                stalled[-1].sendall(b"GET /api/sta")
            trickle = connect(port)
            trickled = request_head("GET", "/api/status")[:-2] + b"X-Slow: " + b"a" * 1000
            idle = connect(port)
            idle.sendall(request_head("GET", "/api/status"))
            replies = []
            while not replies:
                chunk = idle.recv(65536)
                self.assertTrue(chunk, "the keep-alive connection was closed at once")
                replies, _ = parse_replies(chunk)
            self.assertEqual(replies[0].status, 200)
            received = {connection: b"" for connection in [*stalled, trickle, idle]}
            open_ = set(received)
            end = time.monotonic() + READ_TIMEOUT + MARGIN
            sent = 0
            next_byte = time.monotonic()
            while open_ and time.monotonic() < end:
                if trickle in open_ and time.monotonic() >= next_byte and sent < len(trickled):
                    send_all(trickle, trickled[sent:sent + 1])  # a failure: closed, seen below
                    sent += 1
                    next_byte += 1
                self.assert_still_serving(f"{len(open_)} slow clients connected")
                self.assert_status(self.request("GET", "/api/contents/"), 200, "a listing while slow clients wait")
                readable, _, _ = select.select(list(open_), [], [], 0.5)
                for connection in readable:
                    try:
                        chunk = connection.recv(65536)
                    except ConnectionResetError:
                        chunk = b""
                    if chunk:
                        received[connection] += chunk
                    else:
                        open_.discard(connection)
            left = [name for name, connection in ([("the trickling client", trickle), ("the idle client", idle)]
                                                  + [(f"stalled client {i}", c) for i, c in enumerate(stalled)])
                    if connection in open_]
            self.assertFalse(left, f"still connected {READ_TIMEOUT + MARGIN} s after they came (the read timeout is "
                                   f"{READ_TIMEOUT} s): {left}")
            for connection in [*stalled, trickle]:
                self.assertFalse(received[connection].startswith(b"HTTP/1.1 2"),
                                 f"a request that never arrived whole was served: {received[connection][:300]!r}")
            self.assertEqual(received[idle], b"", f"the idle connection got more: {received[idle][:300]!r}")
        finally:
            for connection in [*stalled, trickle, idle]:
                if connection is not None:
                    connection.close()
        self.assert_still_serving("the slow clients")


class WebSocketAbuseTest(AbuseTestCase):
    """Frames that are not messages, not UTF-8 or too big, and a client that does not read."""

    def setUp(self):
        self.kernel_id = self.start_kernel()

    def assert_usable_or_cleanly_closed(self, client, what):
        """CLIENT still runs a step, or the server closed it with a close frame saying why; in
        both cases a new WebSocket on the kernel works. Returns the client to go on with."""
        state, result = client.execute_or_closed("echo still usable")
        if state == "ran":
            self.assertEqual(result, "still usable\n", what)
            return client
        self.assertIn(result, (1003, 1007, 1008, 1009), f"{what}: closed without a proper close frame: {result}")
        client = self.channels(self.kernel_id)
        self.assertEqual(client.execute("echo a new one"), "a new one\n", what)
        return client

    def test_frames_that_are_not_messages(self):
        client = self.channels(self.kernel_id)
        self.assertEqual(client.execute("echo ready"), "ready\n")
        for frame in ("not json", "{", "", "null", '"a string"', "[1, 2]", "[" * 100_000, '{"a": ' * 100_000,
                      '{"channel": "shell"}', '{"channel": "iopub", "header": {}, "content": {}}', '{"channel": 5}',
                      '{"channel": "nope", "header": {"msg_type": "execute_request"}}',
                      '{"header": "x", "channel": "shell", "content": []}',
                      json.dumps({"channel": "shell", "header": {"msg_id": "x", "msg_type": "no_such_request",
                                                                 "session": "s", "version": "5.3"},
                                  "parent_header": {}, "metadata": {}, "content": {}})):
            what = f"the text frame {frame[:50]!r}"
            client.socket.send(frame)
            client = self.assert_usable_or_cleanly_closed(client, what)
            self.assert_still_serving(what)
        client.socket.send_binary(b"\x00\x01binary")
        client = self.assert_usable_or_cleanly_closed(client, "a binary frame")
        self.assert_still_serving("a binary frame")

    def test_a_text_frame_that_is_not_utf8(self):
        for payload in (b'{"channel": "shell", "x": "\xff"}', b"\xc0\xae", b"\xed\xa0\x80"):
            what = f"the text frame {payload!r}"
            client = self.channels(self.kernel_id)
            self.assertEqual(client.execute("echo ready"), "ready\n")
            client.socket.send(payload, opcode=ABNF.OPCODE_TEXT)
            self.assert_usable_or_cleanly_closed(client, what)
            self.assert_still_serving(what)

    def test_a_message_over_the_limit(self):
        """Over websocket_message_limit, in one frame (only its start sent) or in fragments
        really sent: closed with 1009 (message too big), and the server goes on."""
        what = f"one frame of {2 * WEBSOCKET_MESSAGE_LIMIT} bytes"
        client = self.channels(self.kernel_id)
        raw = client.socket.sock
        send_all(raw, client_frame(ABNF.OPCODE_TEXT, b"x" * (64 << 10), length=2 * WEBSOCKET_MESSAGE_LIMIT))
        data, closed = read_until_closed(raw)
        self.assertEqual(close_code(data), 1009, f"{what}: {data[-300:]!r}")
        self.assertTrue(closed, f"{what}: the connection stayed open after the close frame")
        self.assert_still_serving(what)

        what = "1 MiB fragments past the limit"
        client = self.channels(self.kernel_id)
        raw = client.socket.sock
        fragments = 0
        while fragments < 2 * WEBSOCKET_MESSAGE_LIMIT // MIB:
            answered, _, _ = select.select([raw], [], [], 0)
            opcode = ABNF.OPCODE_TEXT if fragments == 0 else ABNF.OPCODE_CONT
            if answered or not send_all(raw, client_frame(opcode, b"x" * MIB, fin=False)):
                break
            fragments += 1
        data, closed = read_until_closed(raw)
        self.assertLess(fragments, 2 * WEBSOCKET_MESSAGE_LIMIT // MIB, f"{what}: {fragments} MiB taken")
        self.assertEqual(close_code(data), 1009, f"{what}: {data[-300:]!r}")
        self.assertTrue(closed, f"{what}: the connection stayed open after the close frame")
        self.assert_still_serving(what)

        self.assertEqual(self.channels(self.kernel_id).execute("echo after"), "after\n")

    def test_a_client_that_does_not_read(self):
        """A step prints 20 MB to a WebSocket client that reads nothing for a while: requests,
        another kernel's WebSocket and a new one go on meanwhile; then every byte arrives, in
        order (backpressure, not dropping)."""
        other_kernel = self.start_kernel()
        slow = self.channels(self.kernel_id, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10),))
        other = self.channels(other_kernel)
        self.assertEqual(slow.execute("echo ready"), "ready\n")
        self.assertEqual(other.execute("echo ready"), "ready\n")
        size = 20_000_000
        msg_id = slow.send_execute(f"head -c {size} /dev/zero | tr '\\0' x; echo; echo end")
        stall_until = time.monotonic() + 6
        rounds = 0
        while time.monotonic() < stall_until:
            what = "a WebSocket client that does not read"
            self.assert_still_serving(what)
            self.assertEqual(other.execute(f"echo round {rounds}"), f"round {rounds}\n", what)
            rounds += 1
            time.sleep(0.2)
        newcomer = self.channels(other_kernel)
        self.assertEqual(newcomer.execute("echo newcomer"), "newcomer\n")
        self.assert_status(self.request("GET", f"/api/kernels/{self.kernel_id}"), 200)
        text = stdout_of(slow.until_idle(msg_id, deadline=60))
        self.assertEqual(len(text), size + len("\nend\n"), "output was lost or added")
        self.assertEqual(text.count("x"), size)
        self.assertTrue(text.endswith("x\nend\n"), text[-50:])
        self.assertEqual(slow.execute("echo after"), "after\n")


class ShutdownWithAbusiveClientsTest(AbuseTestCase):
    def test_sigterm_with_slow_clients_connected(self):
        """SIGTERM while a request is stalled, a chunked upload is half sent, a connection idles
        and a WebSocket client does not read a running step's output: exit code 0 in time, and
        every connection closed."""
        port = self.server.port
        response = self.request("POST", "/api/kernels", {"name": "tejun"})
        self.assert_status(response, 201, "POST /api/kernels")
        kernel_id = response.json["id"]
        slow = Channels(port, kernel_id, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10),))
        connections = []
        try:
            self.assertEqual(slow.execute("echo ready"), "ready\n")
            slow.send_execute("head -c 50000000 /dev/zero | tr '\\0' x")
            stalled = connect(port)
            connections.append(stalled)
            stalled.sendall(b"GET /api/sta")
            upload = connect(port)
            connections.append(upload)
            upload.sendall(request_head("PUT", "/api/contents/half.txt", "Transfer-Encoding: chunked")
                           + b"100\r\n" + b"x" * 100)
            idle = connect(port)
            connections.append(idle)
            idle.sendall(request_head("GET", "/api/status"))
            self.assertTrue(idle.recv(65536).startswith(b"HTTP/1.1 200 "))
            time.sleep(1)  # the step is printing
            kernels = self.server.kernel_processes()
            self.assertEqual(len(kernels), 1, kernels)
            started = time.monotonic()
            self.assertEqual(self.server.stop(), 0, f"SIGTERM: {self.server.stderr()[-2000:]}")
            self.assertLess(time.monotonic() - started, STOP_DEADLINE)
            for connection in connections:
                _, closed = read_until_closed(connection, deadline=5)
                self.assertTrue(closed, "a connection outlived the server")
            self.assertTrue(wait_until(lambda: not any(alive(pid) for pid in kernels)),
                            f"kernels left after SIGTERM: {self.server.kernel_processes()}")
            self.assertFalse((self.server.root / "half.txt").exists())
        finally:
            slow.close()
            for connection in connections:
                connection.close()


if __name__ == "__main__":
    unittest.main()
