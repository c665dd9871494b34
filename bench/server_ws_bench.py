#!/usr/bin/python3
"""The kernel channels WebSocket of `tejun server` against Debian's jupyter-server 1.23 + ipykernel,
side by side, in one run.

Both servers are started as in server_bench.py (its Server class): each on a temporary root of
its own, with HOME, IPYTHONDIR and the Jupyter and XDG folders in a temporary folder of its own:

  tejun server    TEJUN server --port PORT --root ROOT --token TOKEN
  jupyter-server  /usr/bin/python3 -m jupyter_server --ServerApp.token=TOKEN --port=PORT --no-browser
                  --ServerApp.root_dir=ROOT --ServerApp.ip=127.0.0.1 --ServerApp.port_retries=0
                  (and --ServerApp.allow_root=True when run as root, which it otherwise refuses)

Kernels are started with POST /api/kernels: "tejun" on tejun server (its steps are bash),
"python3" (ipykernel) on jupyter-server, whose steps run under `%%bash`. Every client is a
WebSocket to /api/kernels/ID/channels?session_id=UUID with `Authorization: token TOKEN`, opened
with websocket-client and spoken to in Jupyter's JSON protocol (no subprotocol) by the same code
for both servers; the frames the servers send are read and split by the script itself (one
recv() for all that is there), so that reading costs the client little.

The client acknowledges at once what it receives (TCP_QUICKACK after each recv()). jupyter-server
does not set TCP_NODELAY on its WebSockets (tejun server does, on every connection), so the
messages a step sends after the first (busy) wait, under Nagle's algorithm, for the client's ACK
of that first one; a client that delays its ACKs (Linux's default, up to 40 ms when the
connection looks interactive) adds ~40 ms to many of jupyter-server's steps, whatever its own
speed. --delayed-acks leaves the client's TCP at that default, to see it.

A kernel is up when a kernel_info_request sent over its WebSocket has had its reply and its idle
status. An execute is done when its execute_reply (shell) and the iopub status idle for it have
both arrived.

  roundtrip  execute_request sent to execute_reply + idle received, of a trivial step (tejun:
             `true`; jupyter-server: `%%bash` `true`): --runs timed steps after --warmups, the
             two servers alternating step by step, one kernel and one WebSocket each; p50 and p99
             (nearest rank), and the client's CPU per step. Then, for context (no bar),
             --back-to-back steps on each server alone, each sent as soon as the one before is
             done, as a front end running all cells does (with --delayed-acks, these are the
             steps of jupyter-server that wait ~40 ms: the client sends right after it received,
             and its TCP stack takes the connection for interactive and delays its ACKs).
  bigoutput  a step printing --big-mb MB (10^6 bytes) in lines of 1000 bytes (999 '0's and a
             newline: `yes "$(printf '%0999d' 0)" | head -n LINES`; under `%%bash` for
             jupyter-server) in a fresh kernel, after one trivial step. The stdout stream text
             that arrives over the WebSocket until idle is counted (and checked: only '0's and
             newlines), timed from the execute_request; MB/s delivered = bytes arrived / seconds.
             The server's VmRSS is sampled every 20 ms during the step; VmHWM is read after it.
             jupyter-server drops IOPub output above its rate limits (1 MB/s, 1000 msgs/s, on
             by default) and says so in a stderr stream message: that is what is compared.
             IPython's `%%bash` sometimes never ends the step (the kernel stays busy after bash
             has exited): when no message for the step comes for --big-stall seconds,
             jupyter-server's step is timed to the last message that came, and the table says so.
  load       --clients K kernels, one WebSocket client each, each client running the trivial
             step every 100 ms (the next starts at max(previous start + 100 ms, its end); the
             clients' first steps spread over the first 100 ms) for --load-seconds; steps still
             running at the end are waited for. Kernels are started --start-parallel at a time,
             each waited for until up. jupyter-server gets the same K, tried for at most
             --jupyter-start-limit seconds and while the machine has at least --min-free-mb
             available; if it does not get all K up, the load runs on those it has, and the table
             says so. Counted: steps done, errors (a step with no reply + idle within
             --exec-timeout, an error reply, a dropped connection), the round trip's p50, p99
             and max; the CPU seconds of the server process and of its kernels (with their
             children) over the load, from /proc/PID/stat; the machine's busy CPU seconds
             (/proc/stat); the CPU of the client: --client-procs processes, forked with the
             WebSockets the kernels were found up on, each driving its share of them from one
             `selectors` loop (one WebSocket per kernel, as a front end has).

The script raises its soft limit of open files (both servers inherit it) to 65536, or the hard
limit if lower. All kernels are deleted (DELETE /api/kernels/ID, several at a time) after each
measurement, and the server must have no child process left; both servers are stopped with
SIGTERM at the end and must exit with status 0.

The ratio column is how many times better tejun server does: jupyter-server / tejun server for
times, CPU and memory, tejun server / jupyter-server for throughput and steps done.

The bars (the issue's): roundtrip p50 and p99: jupyter-server / tejun server >= 5; bigoutput:
tejun server delivers every byte, its throughput >= 25x jupyter-server's delivered throughput,
its peak RSS (VmHWM) < 64 MiB. Load has no bar: the table gives both servers' figures.

The script exits with status 1 when a request fails or answers wrongly, when a tejun server
kernel does not come up or its step does not end, and when a server does not start or stop
(exit status 0 on SIGTERM, no kernel left).

Usage: bench/server_ws_bench.py [--tejun build/release/tejun] [--only roundtrip,bigoutput,load]
                                [--runs 200] [--warmups 20] [--back-to-back 50] [--big-mb 50] [--clients 200]
                                [--load-seconds 60] [--client-procs 2] [--delayed-acks] [--quick] [--json]
"""

import argparse
import concurrent.futures
import datetime
import gc
import heapq
import http.client
import json
import multiprocessing
import os
import pathlib
import random
import resource
import secrets
import selectors
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import websocket

from bench_support import isolated_environment, kib, proc_status
from kernel_bench import descendants, percentile
from server_bench import DEADLINE, Failure, Server, alive, filled, jupyter_server_argv, log, wait_until

MEASUREMENTS = ("roundtrip", "bigoutput", "load")
STEPS = {  # server label -> (kernel name, trivial step, prefix of a bash step)
    "tejun server": ("tejun", "true", ""),
    "jupyter-server": ("python3", "%%bash\ntrue", "%%bash\n"),
}
LINE = 1000  # bytes per line of the big output
HTTP_TIMEOUT = 120
READY_TIMEOUT = 120  # seconds from POST /api/kernels to the kernel_info_reply + idle over the WebSocket
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def big_step(prefix, lines):
    """The big output step: LINES lines of 999 '0's and a newline, LINES * 1000 bytes exactly."""
    return f"{prefix}yes \"$(printf '%0{LINE - 1}d' 0)\" | head -n {lines}"


# --- the WebSocket client ------------------------------------------------------------------


class Dropped(Exception):
    """The server closed the WebSocket."""


def execute_content(code):
    return {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
            "stop_on_error": True}


class Channels:
    """One WebSocket on a kernel's channels with its own session id. websocket-client opens it and
    frames what is sent (masked, as a client must); the server's frames (unmasked) are split here,
    from one recv() of whatever has arrived."""

    quickack = True  # acknowledge what arrives at once (TCP_QUICKACK after each recv); --delayed-acks: False

    def __init__(self, port, token, kernel_id, timeout=READY_TIMEOUT):
        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=[f"Authorization: token {token}"], timeout=timeout, skip_utf8_validation=True)
        self.sock = self.ws.sock  # websocket-client reads the handshake byte by byte: nothing of ours is buffered
        self.buffer = bytearray()
        self.fragments = None  # (opcode, [payload]) of a fragmented message
        self.sent = 0
        self.templates = {}
        self.ws.set_mask_key(random.randbytes)  # not os.urandom: no getrandom() call per frame

    def send(self, channel, msg_type, content):
        """Sends a request: its msg_id. The JSON of each (channel, msg_type, content) is made once,
        with the msg_id and date put in by replace()."""
        key = (channel, msg_type, json.dumps(content))
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = json.dumps({
                "header": {"msg_id": "@MSG_ID@", "msg_type": msg_type, "session": self.session, "username": "bench",
                           "date": "@DATE@", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []})
        self.sent += 1
        msg_id = f"{self.session}-{self.sent}"
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.ws.send(template.replace("@MSG_ID@", msg_id, 1).replace("@DATE@", now, 1))
        return msg_id

    def read(self, timeout=None):
        """The messages of one recv() (blocking up to TIMEOUT when given): [dict]. Raises Dropped,
        socket.timeout."""
        if timeout is not None:
            self.sock.settimeout(max(0.001, timeout))
        data = self.sock.recv(1 << 20)
        if not data:
            raise Dropped("the server closed the connection")
        if self.quickack:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        self.buffer += data
        return self.messages()

    def messages(self):
        buffer, position, found = self.buffer, 0, []
        while len(buffer) - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            if second & 0x80:
                raise Failure("a masked frame from the server")
            length, head = second & 0x7F, 2
            if length == 126:
                head = 4
            elif length == 127:
                head = 10
            if len(buffer) - position < head:
                break
            if head > 2:
                length = int.from_bytes(buffer[position + 2:position + head], "big")
            if len(buffer) - position < head + length:
                break
            payload = bytes(buffer[position + head:position + head + length])
            position += head + length
            fin, opcode = first & 0x80, first & 0x0F
            if opcode == 0x8:
                raise Dropped(f"a close frame from the server: {payload[:125]!r}")
            if opcode == 0x9:
                self.ws.pong(payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x0:
                if self.fragments is None:
                    raise Failure("a continuation frame with nothing to continue")
                self.fragments[1].append(payload)
                if not fin:
                    continue
                opcode, payload = self.fragments[0], b"".join(self.fragments[1])
                self.fragments = None
            elif not fin:
                self.fragments = (opcode, [payload])
                continue
            if opcode != 0x1:
                raise Failure(f"a frame of opcode {opcode} in the JSON protocol")
            found.append(json.loads(payload))
        del buffer[:position]
        return found

    def request(self, channel, msg_type, content, reply_type, timeout, on_message=None):
        """Sends a request and reads until its REPLY_TYPE and its idle status have arrived:
        (seconds, reply message). ON_MESSAGE(message) sees every other message for it."""
        start = time.perf_counter()
        msg_id = self.send(channel, msg_type, content)
        reply, idle = None, False
        while reply is None or not idle:
            remaining = start + timeout - time.perf_counter()
            if remaining <= 0:
                raise Failure(f"no {reply_type if reply is None else 'idle status'} within {timeout} s for {msg_type}")
            try:
                messages = self.read(remaining)
            except socket.timeout:
                continue
            except (Dropped, OSError) as error:
                raise Failure(f"{msg_type}: {error}") from None
            for message in messages:
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["header"]["msg_type"]
                if kind == reply_type:
                    reply = message
                elif kind == "status" and message["content"].get("execution_state") == "idle":
                    idle = True
                elif on_message:
                    on_message(message)
        return time.perf_counter() - start, reply

    def execute(self, code, timeout, on_message=None):
        elapsed, reply = self.request("shell", "execute_request", execute_content(code), "execute_reply", timeout,
                                      on_message)
        if reply["content"].get("status") != "ok":
            raise Failure(f"{code!r} failed: {json.dumps(reply['content'])[:500]}")
        return elapsed

    def close(self, timeout=2):
        """Sends a close frame, reads until the server's (or the end of the connection), shuts down."""
        try:
            self.ws.send_close()
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                self.read(end - time.monotonic())
        except (Dropped, Failure, OSError, ValueError, websocket.WebSocketException):
            pass
        finally:
            self.ws.shutdown()


# --- servers, kernels, /proc ---------------------------------------------------------------


def call(server, method, target, body=None, expect=200):
    """One request on a connection of its own (the kernel threads run several at a time)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    headers = {"Authorization": f"token {server.token}"}
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as error:
        raise Failure(f"{server.label}: {method} {target}: {error!r}") from None
    finally:
        connection.close()
    if response.status != expect:
        raise Failure(f"{server.label}: {method} {target} answered {response.status}, not {expect}: {data[:500]!r}")
    return json.loads(data) if data else None


def mem_available_mib():
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return kib(line.partition(":")[2].strip()) / 1024
    return 0


class Kernels:
    """The kernels of one server started for one measurement, deleted by close()."""

    def __init__(self, server):
        self.server = server
        self.ids = []  # every id a POST answered with
        self.ready = []  # [(id, Channels or None)] of the kernels up
        self.stopped = None  # why fewer than asked were started, when so
        self.lock = threading.Lock()

    def start_one(self, keep):
        name = STEPS[self.server.label][0]
        model = call(self.server, "POST", "/api/kernels", {"name": name}, expect=201)
        if not isinstance(model, dict) or model.get("name") != name or not model.get("id"):
            raise Failure(f"{self.server.label}: POST /api/kernels {name}: a wrong model {model!r}")
        with self.lock:
            self.ids.append(model["id"])
        try:
            channels = Channels(self.server.port, self.server.token, model["id"])
        except (OSError, websocket.WebSocketException) as error:
            raise Failure(f"{self.server.label}: the WebSocket of kernel {model['id']}: {error!r}") from None
        try:
            _, reply = channels.request("shell", "kernel_info_request", {}, "kernel_info_reply", READY_TIMEOUT)
            if reply["content"].get("status") != "ok":
                raise Failure(f"{self.server.label}: kernel_info_reply {reply['content']}")
        except Failure as failure:
            channels.close()
            raise Failure(f"{self.server.label}: kernel {model['id']}: {failure}") from None
        if not keep:
            channels.close()
            channels = None
        with self.lock:
            self.ready.append((model["id"], channels))
        return model["id"], channels

    def start(self, count, parallel, keep=False, limit=None, min_free_mib=0, tolerant=False):
        """Starts COUNT kernels, PARALLEL at a time, each until up. TOLERANT: stop at the first
        failure, at LIMIT seconds, or below MIN_FREE_MIB available, and keep what is up."""
        end = time.monotonic() + limit if limit else None
        state = {"next": 0, "stop": None}
        failures = []

        def worker():
            while True:
                with self.lock:
                    if state["stop"] or state["next"] >= count:
                        return
                    if end and time.monotonic() > end:
                        state["stop"] = f"{limit:.0f} s limit reached"
                        return
                    if min_free_mib and mem_available_mib() < min_free_mib:
                        state["stop"] = f"less than {min_free_mib} MiB of memory available"
                        return
                    state["next"] += 1
                try:
                    self.start_one(keep)
                except Failure as failure:
                    with self.lock:
                        failures.append(str(failure))
                        state["stop"] = state["stop"] or f"a kernel failed: {failure}"
                    return

        threads = [threading.Thread(target=worker) for _ in range(max(1, min(parallel, count)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures and not tolerant:
            raise Failure(failures[0])
        if len(self.ready) < count:
            self.stopped = state["stop"] or "?"
        return self.ready

    def pids(self):
        """The server's child processes: its kernels."""
        return sorted(self.server.children())

    def close(self, parallel=8):
        """Closes the WebSockets, deletes every kernel, and waits until the server has no child left."""
        for _, channels in self.ready:
            if channels:
                channels.close()
        errors = []

        def delete(kernel_id):
            try:
                call(self.server, "DELETE", f"/api/kernels/{kernel_id}", expect=204)
            except Failure as failure:
                errors.append(str(failure))

        if self.ids:
            with concurrent.futures.ThreadPoolExecutor(max(1, min(parallel, len(self.ids)))) as pool:
                list(pool.map(delete, self.ids))
        self.ids, self.ready = [], []
        if self.server.process and not wait_until(lambda: not self.server.children(), deadline=2 * DEADLINE):
            errors.append(f"{self.server.label}: child processes left after DELETE: {sorted(self.server.children())}")
        if errors:
            raise Failure("; ".join(errors[:5]))


def cpu_seconds(pid, reaped=False):
    """utime + stime of PID (+ cutime + cstime when REAPED: its children waited for), in seconds; 0 if gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def kernels_cpu(pids):
    """CPU seconds of the kernel processes PIDS with their reaped children, and their live descendants."""
    total = 0.0
    for pid in pids:
        total += cpu_seconds(pid, reaped=True)
        total += sum(cpu_seconds(child) for child, _ in descendants(pid) if alive(child))
    return total


def machine_busy():
    """CPU seconds the machine has been busy (all but idle and iowait), from /proc/stat."""
    values = [int(v) for v in pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


class RssSampler(threading.Thread):
    """The highest VmRSS of a process, read every 20 ms until stop()."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, kib((proc_status(self.pid) or {}).get("VmRSS")))
            self.done.wait(0.02)

    def stop(self):
        self.done.set()
        self.join()
        return self.peak


# --- the measurements ----------------------------------------------------------------------


def measure_roundtrip(servers, warmups, runs, back_to_back):
    """{server label: {"p50", "p99", "runs", "client_cpu_p50", "back_to_back": {"p50", "p99", "runs"}}}, the
    servers alternating step by step; then BACK_TO_BACK steps on each server alone, each sent as soon
    as the one before is done (as a front end runs all cells)."""
    kernels = {server.label: Kernels(server) for server in servers}
    try:
        channels = {label: k.start(1, 1, keep=True)[0][1] for label, k in kernels.items()}
        times = {label: [] for label in channels}
        cpu = {label: [] for label in channels}
        gc.disable()
        try:
            for run in range(warmups + runs):
                for label, client in channels.items():
                    before = time.thread_time()
                    elapsed = client.execute(STEPS[label][1], DEADLINE)
                    used = time.thread_time() - before
                    if run >= warmups:
                        times[label].append(elapsed)
                        cpu[label].append(used)
            alone = {label: [client.execute(STEPS[label][1], DEADLINE) for _ in range(back_to_back)]
                     for label, client in channels.items()}
        finally:
            gc.enable()
    finally:
        for k in kernels.values():
            k.close()
    for label, samples in times.items():
        log(f"roundtrip: {label}: p50 {ms(percentile(samples, 0.5))}, p99 {ms(percentile(samples, 0.99))}"
            + (f"; back to back p50 {ms(percentile(alone[label], 0.5))}" if back_to_back else ""))
    return {label: {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99), "runs": len(samples),
                    "client_cpu_p50": percentile(cpu[label], 0.5),
                    "back_to_back": {"p50": percentile(alone[label], 0.5), "p99": percentile(alone[label], 0.99),
                                     "runs": back_to_back} if back_to_back else None}
            for label, samples in times.items()}


def measure_bigoutput(server, megabytes, timeout, stall, tolerant):
    """The big output step in a fresh kernel: bytes arrived and expected, seconds, MB/s delivered,
    stream messages, the server's RSS before, its highest sampled VmRSS and its VmHWM after.
    When no message for the step comes for STALL seconds (or the step passes TIMEOUT), the step
    has stalled: a Failure, or when TOLERANT, a result with "finished" false, timed to the last
    message that came."""
    lines = int(megabytes * 1_000_000) // LINE
    expected = lines * LINE
    label, pid = server.label, server.process.pid
    kernels = Kernels(server)
    try:
        _, client = kernels.start(1, 1, keep=True)[0]
        client.execute(STEPS[label][1], DEADLINE)  # the magic loaded, the kernel warm
        counts = {"stdout": 0, "newlines": 0, "zeros": 0, "stdout_messages": 0, "stderr": "", "other": {}}
        before = kib((proc_status(pid) or {}).get("VmRSS"))
        sampler = RssSampler(pid)
        sampler.start()
        cpu_before = time.process_time()
        try:
            start = last = time.perf_counter()
            msg_id = client.send("shell", "execute_request", execute_content(big_step(STEPS[label][2], lines)))
            reply = idle = done = None
            while done is None:
                now = time.perf_counter()
                wait = min(start + timeout, last + stall) - now
                if wait <= 0:
                    break
                try:
                    messages = client.read(wait)
                except socket.timeout:
                    continue
                except (Dropped, OSError) as error:
                    raise Failure(f"{label}: bigoutput: {error!r}") from None
                for message in messages:
                    if message.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    last = time.perf_counter()
                    kind = message["header"]["msg_type"]
                    if kind == "stream" and message["content"].get("name") == "stdout":
                        text = message["content"]["text"]
                        counts["stdout"] += len(text.encode())
                        counts["newlines"] += text.count("\n")
                        counts["zeros"] += text.count("0")
                        counts["stdout_messages"] += 1
                    elif kind == "stream":
                        counts["stderr"] += message["content"].get("text", "")
                    elif kind == "execute_reply":
                        reply = message["content"]
                    elif kind == "status" and message["content"].get("execution_state") == "idle":
                        idle = last
                    else:
                        counts["other"][kind] = counts["other"].get(kind, 0) + 1
                    if reply is not None and idle is not None and done is None:
                        done = last
        finally:
            peak = sampler.stop()
        client_cpu = time.process_time() - cpu_before
        status = proc_status(pid) or {}
        peak = max(peak, kib(status.get("VmRSS")))
        hwm = max(peak, kib(status.get("VmHWM")))  # the two are counted apart, and may differ by a page or two
        finished = done is not None
        if finished and reply.get("status") != "ok":
            raise Failure(f"{label}: bigoutput: an error reply: {json.dumps(reply)[:500]}")
        if not finished:
            waited = f"{stall:g} s without a message" if last + stall <= start + timeout else f"{timeout:g} s"
            problem = (f"{label}: bigoutput: no {'execute_reply' if reply is None else 'idle'} after {waited}; "
                       f"{counts['stdout']} of {expected} bytes had arrived")
            if not tolerant:
                raise Failure(problem)
            log(problem)
    finally:
        kernels.close()
    seconds = (done if finished else last) - start
    result = {"expected": expected, "arrived": counts["stdout"], "finished": finished, "well_formed":
              counts["zeros"] + counts["newlines"] == counts["stdout"] and counts["newlines"] <= lines,
              "complete": counts["stdout"] == expected and counts["newlines"] == lines,
              "seconds": seconds, "mb_per_s": counts["stdout"] / 1e6 / seconds if seconds > 0 else 0.0,
              "stdout_messages": counts["stdout_messages"], "stderr": counts["stderr"][:2000],
              "other_messages": counts["other"], "client_cpu": client_cpu,
              "rss_before": before, "rss_peak": peak, "hwm": hwm}
    log(f"bigoutput: {label}: {result['arrived']} of {expected} bytes in {seconds:.2f} s "
        f"({result['mb_per_s']:.1f} MB/s){'' if finished else ', unfinished'}; server VmHWM {hwm / 1024:.1f} MiB")
    return result


class Slot:
    """A load client: its WebSocket and the step it is running."""

    __slots__ = ("index", "client", "msg_id", "sent", "replied", "idle", "open")

    def __init__(self, index, client):
        self.index, self.client, self.open = index, client, True
        self.clear()

    def clear(self):
        self.msg_id, self.sent, self.replied, self.idle = None, 0.0, None, False


def load_worker(channels, mine, code, period, seconds, timeout, pipe):
    """One client process of the load, forked with the WebSockets CHANNELS open (those the kernels
    were found up on): it drives those whose indexes are in MINE from one selectors loop and
    closes its copy of the others' sockets. Sends ("ready", n), waits for the start time (a
    time.monotonic() value, the same clock in every process), sends ("done", results)."""
    slots = []
    for index, client in enumerate(channels):
        if index in mine:
            slots.append(Slot(index, client))
        else:
            client.sock.close()  # this process's copy only: the connection stays open
    total = len(channels)
    pipe.send(("ready", len(slots)))
    start_at = pipe.recv()
    end = start_at + seconds
    selector = selectors.DefaultSelector()
    due = []  # heap of (start time, index, Slot)
    for slot in slots:
        selector.register(slot.client.sock, selectors.EVENT_READ, slot)
        heapq.heappush(due, (start_at + period * slot.index / total, slot.index, slot))
    times, errors, samples = [], {"timeout": 0, "error_reply": 0, "dropped": 0}, []
    running, next_check = 0, 0.0

    def drop(slot, error):
        nonlocal running
        errors["dropped"] += 1
        samples.append(f"dropped: {error!r}")
        selector.unregister(slot.client.sock)
        slot.open = False
        if slot.msg_id is not None:
            running -= 1
        slot.clear()

    before = resource.getrusage(resource.RUSAGE_SELF)
    gc.disable()
    while due or running:
        now = time.monotonic()
        while due and due[0][0] <= now:
            at, _, slot = heapq.heappop(due)
            if at >= end or not slot.open:
                continue
            try:
                slot.msg_id = slot.client.send("shell", "execute_request", execute_content(code))
            except (OSError, websocket.WebSocketException) as error:
                drop(slot, error)
                continue
            slot.sent = time.monotonic()
            running += 1
        if now >= next_check:  # the steps that took too long: counted, and the next one started
            next_check = now + 0.1
            for slot in slots:
                if slot.msg_id is not None and now - slot.sent > timeout:
                    errors["timeout"] += 1
                    samples.append(f"no execute_reply + idle within {timeout} s")
                    slot.clear()
                    running -= 1
                    heapq.heappush(due, (now, slot.index, slot))
        wait = min(due[0][0] - now, 0.1) if due else 0.1
        for key, _ in selector.select(max(0.0, wait)):
            slot = key.data
            try:
                messages = slot.client.read()
            except (Dropped, OSError) as error:
                drop(slot, error)
                continue
            arrived = time.monotonic()
            for message in messages:
                if slot.msg_id is None or message.get("parent_header", {}).get("msg_id") != slot.msg_id:
                    continue
                kind = message["header"]["msg_type"]
                if kind == "execute_reply":
                    slot.replied = message["content"].get("status") == "ok"
                    if not slot.replied:
                        errors["error_reply"] += 1
                        samples.append(f"error reply: {json.dumps(message['content'])[:300]}")
                elif kind == "status" and message["content"].get("execution_state") == "idle":
                    slot.idle = True
                if slot.replied is not None and slot.idle:
                    if slot.replied:
                        times.append(arrived - slot.sent)
                    heapq.heappush(due, (max(slot.sent + period, arrived), slot.index, slot))
                    slot.clear()
                    running -= 1
    gc.enable()
    after = resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    wall = time.monotonic() - start_at
    for slot in slots:
        slot.client.close()
    pipe.send(("done", {"times": times, "errors": errors, "error_samples": samples[:5], "cpu": user + system,
                        "cpu_user": user, "wall": wall}))


def measure_load(server, count, seconds, procs, parallel, timeout, limit=None, min_free_mib=0, tolerant=False):
    """The load on COUNT kernels of SERVER (fewer when TOLERANT and they do not all come up)."""
    label = server.label
    kernels = Kernels(server)
    try:
        log(f"load: starting {count} kernels on {label} ...")
        began = time.monotonic()
        ready = kernels.start(count, parallel, keep=True, limit=limit, min_free_mib=min_free_mib, tolerant=tolerant)
        startup = time.monotonic() - began
        ids = [kernel_id for kernel_id, _ in ready]
        channels = [client for _, client in ready]
        log(f"load: {len(ids)} kernels up on {label} in {startup:.1f} s"
            + (f" ({kernels.stopped})" if kernels.stopped else ""))
        if not ids:
            return {"kernels": 0, "asked": count, "stopped": kernels.stopped, "startup": startup}
        context = multiprocessing.get_context("fork")
        procs = max(1, min(procs, len(ids)))
        workers = []
        try:
            for p in range(procs):
                mine, theirs = context.Pipe()
                process = context.Process(target=load_worker, args=(
                    channels, set(range(p, len(ids), procs)), STEPS[label][1], 0.1, seconds, timeout, theirs))
                process.start()
                workers.append((process, mine))
        finally:  # the client processes have the WebSockets now; this one closes its copies
            for client in channels:
                client.sock.close()
            kernels.ready = [(kernel_id, None) for kernel_id, _ in kernels.ready]
        try:
            for process, pipe in workers:
                if not pipe.poll(READY_TIMEOUT):
                    raise Failure(f"{label}: a load client process did not get its WebSockets open")
                kind, value = pipe.recv()
                if kind != "ready":
                    raise Failure(f"{label}: load client: {value}")
            pids = kernels.pids()
            server_pid = server.process.pid
            cpu = {"server": cpu_seconds(server_pid), "kernels": kernels_cpu(pids), "machine": machine_busy()}
            log(f"load: {len(ids)} clients on {label} for {seconds} s ...")
            start_at = time.monotonic() + 0.2
            for _, pipe in workers:
                pipe.send(start_at)
            results = []
            for process, pipe in workers:
                if not pipe.poll(seconds + timeout + 60):
                    raise Failure(f"{label}: a load client process did not finish")
                kind, value = pipe.recv()
                if kind != "done":
                    raise Failure(f"{label}: load client: {value}")
                results.append(value)
            wall = time.monotonic() - start_at
            cpu = {"server": cpu_seconds(server_pid) - cpu["server"], "kernels": kernels_cpu(pids) - cpu["kernels"],
                   "machine": machine_busy() - cpu["machine"]}
            status = proc_status(server_pid) or {}
        finally:
            for process, _ in workers:
                process.join(30)
                if process.is_alive():
                    process.kill()
                    process.join()
    finally:
        kernels.close()
    times = [t for r in results for t in r["times"]]
    errors = {key: sum(r["errors"][key] for r in results) for key in results[0]["errors"]}
    log(f"load: {label}: {len(times)} steps done, errors {errors}, p50 {ms(percentile(times, 0.5) if times else None)}"
        f", server CPU {cpu['server']:.1f} s, kernels' CPU {cpu['kernels']:.1f} s, "
        f"client CPU {sum(r['cpu'] for r in results):.1f} s")
    return {"kernels": len(ids), "asked": count, "stopped": kernels.stopped, "startup": startup, "seconds": seconds,
            "wall": wall, "done": len(times), "target": int(round(len(ids) * seconds / 0.1)), "errors": errors,
            "error_samples": [s for r in results for s in r["error_samples"]][:5],
            "p50": percentile(times, 0.5) if times else None, "p99": percentile(times, 0.99) if times else None,
            "max": max(times) if times else None, "cpu": cpu, "client_cpu": sum(r["cpu"] for r in results),
            "client_cpu_each": [r["cpu"] for r in results], "client_cpu_user": sum(r["cpu_user"] for r in results),
            "client_procs": procs, "server_rss": kib(status.get("VmRSS")), "server_hwm": kib(status.get("VmHWM"))}


# --- the run -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args, folder):
        self.args = args
        token = secrets.token_hex(16)
        tejun = pathlib.Path(args.tejun)
        if not tejun.is_file():
            raise SystemExit(f"no tejun binary at {tejun} (--tejun PATH)")
        tejun = tejun.resolve()
        files = folder / "files"
        files.mkdir()
        (files / "README.md").write_text("# The root of the benchmark\n", encoding="utf-8")

        tejun_folder = folder / "tejun-server"
        tejun_folder.mkdir()
        self.tejun_argv = [str(args.tejun), "server", "--port", "PORT", "--root", "ROOT", "--token", "TOKEN"]
        self.tejun_server = Server(
            "tejun server",
            lambda port: [str(tejun), "server", "--port", str(port), "--root", str(tejun_folder / "root"),
                          "--token", token],
            tejun_folder, files, token, isolated_environment(tejun_folder / "home"))

        jupyter_folder = folder / "jupyter-server"
        jupyter_folder.mkdir()
        self.jupyter_argv = jupyter_server_argv()
        self.jupyter_server = Server(
            "jupyter-server", lambda port: filled(self.jupyter_argv, token, port, jupyter_folder / "root"),
            jupyter_folder, files, token, isolated_environment(jupyter_folder / "home"))
        self.servers = (self.tejun_server, self.jupyter_server)

    def versions(self):
        found = subprocess.run(["/usr/bin/python3", "-c", "import jupyter_server, ipykernel, websocket; "
                                "print(jupyter_server.__version__, ipykernel.__version__, websocket.__version__)"],
                               capture_output=True, text=True, check=True).stdout.split()
        return {"jupyter_server": found[0], "ipykernel": found[1], "websocket_client": found[2]}

    def run(self):
        args = self.args
        results = {"versions": self.versions(), "cores": os.cpu_count(), "only": args.only,
                   "open_files_limit": args.open_files, "delayed_acks": args.delayed_acks,
                   "commands": {"tejun server": " ".join(self.tejun_argv),
                                "jupyter-server": " ".join(self.jupyter_argv)}}
        codes = {}
        try:
            for server in self.servers:
                log(f"starting {server.label} ...")
                server.start()
            if "roundtrip" in args.only:
                log(f"roundtrip: {args.runs} steps each after {args.warmups} warm-ups ...")
                results["roundtrip"] = measure_roundtrip(self.servers, args.warmups, args.runs, args.back_to_back)
            if "bigoutput" in args.only:
                results["bigoutput"] = {}
                for server in self.servers:
                    log(f"bigoutput: {args.big_mb} MB on {server.label} ...")
                    results["bigoutput"][server.label] = measure_bigoutput(
                        server, args.big_mb, args.big_timeout, args.big_stall, tolerant=server is self.jupyter_server)
            if "load" in args.only:
                results["load"] = {
                    "tejun server": measure_load(self.tejun_server, args.clients, args.load_seconds, args.client_procs,
                                                 args.start_parallel, args.exec_timeout),
                    "jupyter-server": measure_load(self.jupyter_server, args.clients, args.load_seconds,
                                                   args.client_procs, args.start_parallel, args.exec_timeout,
                                                   limit=args.jupyter_start_limit, min_free_mib=args.min_free_mb,
                                                   tolerant=True)}
        finally:
            for server in self.servers:
                if server.process:
                    left = sorted(server.children())
                    if left:
                        log(f"{server.label}: child processes left at the end: {left}")
                codes[server.label] = server.stop()
        results["exit_status"] = codes
        bad = {label: code for label, code in codes.items() if code != 0}
        if bad:
            logs = "\n".join(f"--- {s.label}:\n{s.log_tail()}" for s in self.servers if s.label in bad)
            raise Failure(f"exit status after SIGTERM: {bad}\n{logs}")
        return results


# --- the report ----------------------------------------------------------------------------


def ms(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def mib(value_kib):
    return f"{value_kib / 1024:.1f} MiB"


def report(results):
    """[(figure, tejun server, jupyter-server, ratio)], [bar]."""
    rows, bars = [], []
    T, J = "tejun server", "jupyter-server"

    def row(label, tejun, jupyter, show, ratio=None):
        """RATIO: "down" (smaller is better: jupyter / tejun), "up" (tejun / jupyter) or None."""
        text = ""
        if ratio and tejun and jupyter:
            text = f"{(jupyter / tejun if ratio == 'down' else tejun / jupyter):.1f}x"
        rows.append((label, show(tejun) if tejun is not None else "-", show(jupyter) if jupyter is not None else "-",
                     text))

    if "roundtrip" in results:
        r = results["roundtrip"]
        runs = r[T]["runs"]
        for key in ("p50", "p99"):
            row(f"roundtrip `true` / `%%bash true`: {key} of {runs}", r[T][key], r[J][key], ms, "down")
            ratio = r[J][key] / r[T][key]
            bars.append({"bar": f"roundtrip {key}: jupyter-server / tejun server >= 5", "value": ratio,
                         "pass": ratio >= 5})
        row("  client CPU per step, p50", r[T]["client_cpu_p50"], r[J]["client_cpu_p50"], ms)
        if r[T]["back_to_back"]:
            alone = r[T]["back_to_back"]["runs"]
            for key in ("p50", "p99"):
                row(f"  {alone} steps back to back on one server: {key}", r[T]["back_to_back"][key],
                    r[J]["back_to_back"][key], ms, "down")
    if "bigoutput" in results:
        b = results["bigoutput"]
        mb = b[T]["expected"] / 1e6
        row(f"bigoutput {mb:g} MB: stdout bytes arrived of {b[T]['expected']}", b[T]["arrived"], b[J]["arrived"],
            lambda v: f"{v} ({100 * v / b[T]['expected']:.1f} %)", "up")
        row("  seconds to reply + idle", *(f"{b[label]['seconds']:.2f} s" + (
            "" if b[label]["finished"] else " (stalled; to the last message)") for label in (T, J)), str)
        row("  MB/s delivered", b[T]["mb_per_s"], b[J]["mb_per_s"], lambda v: f"{v:.1f} MB/s", "up")
        row("  stdout stream messages", b[T]["stdout_messages"], b[J]["stdout_messages"], str)
        row("  server VmRSS before", b[T]["rss_before"], b[J]["rss_before"], mib, "down")
        row("  server VmRSS, highest sampled", b[T]["rss_peak"], b[J]["rss_peak"], mib, "down")
        row("  server VmHWM after", b[T]["hwm"], b[J]["hwm"], mib, "down")
        row("  client CPU", b[T]["client_cpu"], b[J]["client_cpu"], lambda v: f"{v:.2f} s")
        bars.append({"bar": f"bigoutput: tejun server delivers all {b[T]['expected']} bytes",
                     "value": b[T]["arrived"], "pass": b[T]["complete"]})
        ratio = b[T]["mb_per_s"] / b[J]["mb_per_s"] if b[J]["mb_per_s"] else float("inf")
        bars.append({"bar": "bigoutput: tejun server's MB/s >= 25x jupyter-server's delivered MB/s", "value": ratio,
                     "pass": ratio >= 25})
        bars.append({"bar": "bigoutput: tejun server's peak RSS (VmHWM) < 64 MiB", "value": b[T]["hwm"] / 1024,
                     "pass": b[T]["hwm"] < 64 * 1024})
    if "load" in results:
        lt, lj = results["load"][T], results["load"][J]
        row(f"load: kernels up of {lt['asked']} (clients)", lt["kernels"], lj["kernels"], str)
        row("  seconds to start them", lt["startup"], lj["startup"], lambda v: f"{v:.1f} s", "down")
        if lt["kernels"] and lj["kernels"]:
            seconds = lt["seconds"]
            row(f"  steps done in {seconds:g} s (target: every 100 ms)", lt["done"], lj["done"],
                str, "up")
            row("  target (kernels x 10/s x seconds)", lt["target"], lj["target"], str)
            row("  steps done per second", lt["done"] / lt["wall"], lj["done"] / lj["wall"], lambda v: f"{v:.0f}/s",
                "up")
            row("  errors: timeout / error reply / dropped", lt["errors"], lj["errors"],
                lambda e: f"{e['timeout']} / {e['error_reply']} / {e['dropped']}")
            for key in ("p50", "p99", "max"):
                row(f"  round trip {key}", lt[key], lj[key], ms, "down")
            row("  server CPU", lt["cpu"]["server"], lj["cpu"]["server"], lambda v: f"{v:.1f} s", "down")
            row("  kernels' CPU (with their children)", lt["cpu"]["kernels"], lj["cpu"]["kernels"],
                lambda v: f"{v:.1f} s", "down")
            row("  server CPU per step done", lt["cpu"]["server"] / lt["done"] if lt["done"] else None,
                lj["cpu"]["server"] / lj["done"] if lj["done"] else None, ms, "down")
            row(f"  machine busy CPU ({results['cores']} cores)", lt["cpu"]["machine"], lj["cpu"]["machine"],
                lambda v: f"{v:.1f} s")
            row("  client CPU", lt["client_cpu"], lj["client_cpu"],
                lambda v: f"{v:.1f} s")
            row("  server VmRSS at the end", lt["server_rss"], lj["server_rss"], mib, "down")
    return rows, bars


def raise_open_files(wanted=65536):
    """Raises this process's soft limit of open files (which both servers inherit) towards WANTED,
    as far as the hard limit allows: a server with 200 kernels and 200 WebSockets needs more than
    the usual 1024. The limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default="build/release/tejun", help="the tejun binary")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help="measurements to make, comma-separated (default roundtrip,bigoutput,load)")
    parser.add_argument("--runs", type=int, help="timed roundtrip steps per server (default 200; --quick 30)")
    parser.add_argument("--warmups", type=int, help="untimed steps before those (default 20; --quick 5)")
    parser.add_argument("--back-to-back", type=int,
                        help="roundtrip: then steps on one server at a time, without the other between (default 50;"
                             " --quick 10; 0: none)")
    parser.add_argument("--big-mb", type=float, help="MB (10^6 bytes) of the bigoutput step (default 50; --quick 2)")
    parser.add_argument("--big-timeout", type=float, default=1800, help="seconds for it at most (default 1800)")
    parser.add_argument("--big-stall", type=float, default=60,
                        help="seconds without a message after which it has stalled (default 60)")
    parser.add_argument("--clients", type=int, help="load: kernels and WebSocket clients (default 200; --quick 5)")
    parser.add_argument("--load-seconds", type=float, help="load: seconds (default 60; --quick 5)")
    parser.add_argument("--client-procs", type=int, default=2, help="load: client processes (default 2)")
    parser.add_argument("--start-parallel", type=int, default=4, help="load: kernels started at a time (default 4)")
    parser.add_argument("--exec-timeout", type=float, default=30, help="load: seconds for a step (default 30)")
    parser.add_argument("--jupyter-start-limit", type=float, default=900,
                        help="load: seconds for jupyter-server to get its kernels up (default 900)")
    parser.add_argument("--min-free-mb", type=int, default=2048,
                        help="load: start no more kernels below this much memory available (default 2048)")
    parser.add_argument("--delayed-acks", action="store_true",
                        help="leave the client's TCP acknowledgements delayed, as the kernel does by default")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a check of the script")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    args.only = [part.strip() for part in args.only.split(",") if part.strip()]
    if not args.only or any(part not in MEASUREMENTS for part in args.only):
        parser.error(f"--only takes a comma-separated list of {', '.join(MEASUREMENTS)}")
    quick = args.quick
    args.runs = args.runs or (30 if quick else 200)
    args.warmups = args.warmups if args.warmups is not None else (5 if quick else 20)
    args.back_to_back = args.back_to_back if args.back_to_back is not None else (10 if quick else 50)
    args.big_mb = args.big_mb or (2 if quick else 50)
    args.clients = args.clients or (5 if quick else 200)
    args.load_seconds = args.load_seconds or (5 if quick else 60)
    command = shlex.join([sys.executable, *sys.argv])
    args.open_files = raise_open_files()
    Channels.quickack = not args.delayed_acks

    with tempfile.TemporaryDirectory(prefix="tejun-server-ws-bench-") as folder:
        try:
            results = Bench(args, pathlib.Path(folder)).run()
        except Failure as failure:
            log(f"FAILED: {failure}")
            sys.exit(1)
    rows, bars = report(results)
    if args.json:
        json.dump({"command": command, "results": results, "bars": bars}, sys.stdout, indent=1)
        print()
        return
    versions = results["versions"]
    print(f"command: {command}")
    print(f"tejun server:   {results['commands']['tejun server']}")
    print(f"jupyter-server: {results['commands']['jupyter-server']}")
    print(f"                (jupyter_server {versions['jupyter_server']}, ipykernel {versions['ipykernel']}; "
          f"client: websocket-client {versions['websocket_client']}, JSON protocol; "
          f"open files limit {results['open_files_limit']}; {results['cores']} cores)")
    print("client TCP: " + ("delayed ACKs (the kernel's default)" if results["delayed_acks"] else
                            "TCP_QUICKACK after each recv (no delayed ACKs)"))
    print()
    print("| figure | tejun server | jupyter-server | ratio |")
    print("|---|---:|---:|---:|")
    for figure, tejun, jupyter, ratio in rows:
        figure = figure.replace("|", "\\|")
        if figure.startswith("  "):
            figure = "&nbsp;&nbsp;" + figure.strip()
        print(f"| {figure} | {tejun} | {jupyter} | {ratio} |")
    print()
    if "bigoutput" in results:
        for label, b in results["bigoutput"].items():
            if not b["well_formed"]:
                print(f"{label}: the bigoutput text was not only lines of '0's")
            if not b["finished"]:
                print(f"{label}: the bigoutput step did not finish (no execute_reply + idle); it is timed to the last "
                      f"message that came")
            if b["stderr"]:
                print(f"{label}: stderr during bigoutput: {' '.join(b['stderr'].split())[:300]}")
    if "load" in results:
        for label, load in results["load"].items():
            if load["kernels"] < load["asked"]:
                print(f"load: {label} got {load['kernels']} of {load['asked']} kernels up ({load['stopped']}); "
                      f"the load ran on those")
            if load.get("error_samples"):
                print(f"load: {label} errors, e.g.: {load['error_samples']}")
            if load["kernels"]:
                each = ", ".join(f"{100 * cpu / load['wall']:.0f} %" for cpu in load["client_cpu_each"])
                print(f"load: {label}: the client used {load['client_cpu']:.1f} s of CPU (user "
                      f"{load['client_cpu_user']:.1f} s) in {load['client_procs']} processes over {load['wall']:.1f} s "
                      f"(of one core each: {each}), {1000 * load['client_cpu'] / max(1, load['done']):.3f} ms per step")
    for bar in bars:
        value = bar["value"]
        shown = f"{value:.1f}x" if isinstance(value, float) and "MiB" not in bar["bar"] else (
            f"{value:.1f} MiB" if "MiB" in bar["bar"] else f"got {value}")
        print(f"{'PASS' if bar['pass'] else 'FAIL'}  {bar['bar']} ({shown})")


if __name__ == "__main__":
    main()
