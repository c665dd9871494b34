#!/usr/bin/python3
"""The tejun kernel against Debian's ipykernel, side by side, through one minimal client.

The client is pyzmq + hmac + json (no jupyter_client on the timed path): it signs what it sends,
checks the signature of everything it receives, and parses only the frames it needs. Both
kernels are started with subprocess from a kernel.json argv and talked to by that same client.

  start  Popen to kernel_info_reply: the shell socket is connected (and retries every 1 ms)
         before the kernel exists, one kernel_info_request is sent right after Popen.
         Median of --start-runs fresh kernels, after one warm-up start that is not counted.
  magic  tejun `%env X=1` against ipykernel `pass`: execute_request sent to status idle (for
         that request) received on iopub. --runs timed steps after --warmups, in one kernel;
         p50 and p99 (nearest rank).
  true   tejun `true` against ipykernel `%%bash\\ntrue` (its fastest way to run a shell
         command), the same way; ipykernel `!true` is shown for context (a few runs).
  seq    tejun `seq 1 6388888` against ipykernel `!seq 1 6388888` (50 MB of stdout) in a fresh
         kernel: every byte of stdout stream text is counted and must equal what seq prints
         here (carriage returns a pty adds are counted apart); throughput is those bytes over
         the time from execute_request to idle. Peak RSS is VmHWM of the kernel process (and
         of its child processes, e.g. tejun's bash) read from /proc right after the step.
         --seq-runs fresh kernels: the median run is shown, with the highest peak RSS.

The bars: start >= 20x, magic p50 >= 10x, true p50 and p99 >= 5x, seq throughput >= 25x,
and the tejun kernel's peak RSS during seq < 64 MiB.

Kernels run with HOME, IPYTHONDIR and the Jupyter and XDG folders in a temporary folder.
The client's own CPU time (its Python thread, not zmq's I/O thread) is reported next to the
step times: if it approaches the wall time, the client, not the kernel, is the limit.

ipykernel's `!seq` varies a lot from run to run: IPython runs it through pexpect on a pty, keeps
everything read so far in `child.before` and copies it after each read, so its time grows with
the number of reads, which depends on scheduling (on a 2-core VM: ~40 s while other work kept
the CPUs busy, ~3.5 min on an idle machine). Its throughput is a lower bound of what ipykernel
can do with other code, not a stable figure.

Usage: bench/kernel_bench.py [--tejun build/release/tejun] [--kernels tejun --kernels ipykernel]
                             [--only start|magic|true|seq ...] [--runs 200] [--seq-runs 1] [--json]
"""

import argparse
import gc
import hashlib
import hmac
import json
import math
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import zmq

from bench_support import isolated_environment, kib, proc_status

SEQ_ARGS = ["seq", "1", "6388888"]
STEPS = {
    "tejun": {"magic": "%env X=1", "true": "true", "seq": " ".join(SEQ_ARGS)},
    "ipykernel": {"magic": "pass", "true": "%%bash\ntrue", "seq": "!" + " ".join(SEQ_ARGS), "context": "!true"},
}
DEADLINE = 120  # seconds for anything that should take far less
DELIMITER = b"<IDS|MSG>"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Client:
    """Shell and control DEALERs and an iopub SUB on one kernel's connection info."""

    def __init__(self, info):
        self.key = info["key"].encode()
        self.session = uuid.uuid4().hex
        self.context = zmq.Context()
        address = f"{info['transport']}://{info['ip']}:"
        self.shell = self._socket(zmq.DEALER, address + str(info["shell_port"]))
        self.control = self._socket(zmq.DEALER, address + str(info["control_port"]))
        self.iopub = self._socket(zmq.SUB, address + str(info["iopub_port"]), subscribe=True)

    def _socket(self, kind, address, subscribe=False):
        s = self.context.socket(kind)
        s.linger = 0
        s.setsockopt(zmq.RECONNECT_IVL, 1)  # the kernel may not be listening yet: retry every 1 ms
        if subscribe:
            s.setsockopt(zmq.RCVHWM, 0)  # queue everything here rather than have the kernel drop it
            s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(address)
        return s

    def close(self):
        for s in (self.shell, self.control, self.iopub):
            s.close()
        self.context.term()

    def _sign(self, parts):
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode()

    def send(self, msg_type, content, socket=None):
        msg_id = uuid.uuid4().hex
        header = json.dumps({"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "bench",
                             "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.3"}).encode()
        parts = [header, b"{}", b"{}", json.dumps(content).encode()]
        (socket or self.shell).send_multipart([DELIMITER, self._sign(parts), *parts])
        return msg_id

    def execute(self, code):
        return self.send("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})

    def receive(self, socket, timeout):
        """(msg_type, parent msg_id, raw content frame) of the next message, None after `timeout` s."""
        if not socket.poll(max(0, int(timeout * 1000))):
            return None
        frames = socket.recv_multipart()
        i = frames.index(DELIMITER)
        parts = frames[i + 2:i + 6]
        if not hmac.compare_digest(frames[i + 1], self._sign(parts)):
            raise RuntimeError("a message from the kernel with a bad signature")
        return json.loads(parts[0])["msg_type"], json.loads(parts[1]).get("msg_id"), parts[3]

    def reply(self, msg_id, socket=None, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.receive(socket or self.shell, deadline - time.monotonic())
            if msg is None:
                raise RuntimeError(f"no reply within {timeout} s")
            if msg[1] == msg_id:
                return msg[0], json.loads(msg[2])

    def until_idle(self, msg_id, on_message=None, timeout=DEADLINE):
        """Reads iopub until the idle status for `msg_id`; on_message(msg_type, content frame) for the others."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.receive(self.iopub, deadline - time.monotonic())
            if msg is None:
                raise RuntimeError(f"no idle status within {timeout} s")
            msg_type, parent, content = msg
            if parent != msg_id:
                continue
            if msg_type == "status":
                if json.loads(content)["execution_state"] == "idle":
                    return
            elif on_message:
                on_message(msg_type, content)

    def wait_until_subscribed(self):
        """iopub misses what is published before the subscription reaches the kernel: ask for
        kernel_info until its status messages come through."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            msg_id = self.send("kernel_info_request", {})
            self.reply(msg_id)
            try:
                self.until_idle(msg_id, timeout=0.5)
                return
            except RuntimeError:
                continue
        raise RuntimeError("iopub never delivered a status message")


class Kernel:
    """One kernel process, started from a kernel.json argv with a fresh connection file."""

    def __init__(self, name, argv, folder, environment):
        self.name = name
        self.connection_file = folder / f"kernel-{uuid.uuid4().hex}.json"
        ports = free_ports(5)
        self.info = {"transport": "tcp", "ip": "127.0.0.1", "signature_scheme": "hmac-sha256",
                     "key": uuid.uuid4().hex, "kernel_name": name,
                     **dict(zip(("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"), ports))}
        self.connection_file.write_text(json.dumps(self.info), encoding="utf-8")
        self.argv = [part.replace("{connection_file}", str(self.connection_file)) for part in argv]
        self.log_path = self.connection_file.with_suffix(".log")
        self.environment = environment
        self.client = Client(self.info)  # connected before the kernel exists; zmq retries
        self.process = None

    def start(self):
        """Popen to kernel_info_reply, in seconds."""
        with open(self.log_path, "wb") as output:
            start = time.perf_counter()
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                            env=self.environment, start_new_session=True)
            msg_id = self.client.send("kernel_info_request", {})
            deadline = time.monotonic() + DEADLINE
            while True:  # in slices, to notice a kernel that exits; poll returns as soon as a message is in
                msg = self.client.receive(self.client.shell, 0.05)
                if msg and msg[1] == msg_id:
                    break
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.fail("no kernel_info_reply")
            elapsed = time.perf_counter() - start
        if msg[0] != "kernel_info_reply":
            self.fail(f"answered kernel_info_request with {msg[0]}")
        return elapsed

    def fail(self, what):
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        status = self.process.poll() if self.process else None
        raise SystemExit(f"{self.name}: {what} (exit status {status}); kernel output:\n{tail}")

    def step(self, code, on_message=None, timeout=DEADLINE):
        """One execute_request: (seconds to idle, client CPU seconds, reply content)."""
        cpu = time.thread_time()
        start = time.perf_counter()
        msg_id = self.client.execute(code)
        self.client.until_idle(msg_id, on_message, timeout)
        elapsed = time.perf_counter() - start
        cpu = time.thread_time() - cpu
        _, reply = self.client.reply(msg_id)
        return elapsed, cpu, reply

    def stop(self):
        if self.process and self.process.poll() is None:
            self.client.send("shutdown_request", {"restart": False}, socket=self.client.control)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.process:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # whatever it left in its session
            except ProcessLookupError:
                pass
            self.process.wait()
        self.client.close()
        self.connection_file.unlink(missing_ok=True)


def descendants(pid):
    """[(pid, name)] of the processes below `pid`, found by their PPid in /proc."""
    parents = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            status = proc_status(entry.name)
            if status:
                parents.setdefault(int(status["PPid"]), []).append((int(entry.name), status["Name"]))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def timed_steps(kernel, code, warmups, runs):
    """p50, p99 (seconds) and the median client CPU per step of `runs` steps after `warmups`."""
    for _ in range(warmups):
        kernel.step(code)
    times, cpu = [], []
    gc.disable()
    try:
        for _ in range(runs):
            elapsed, used, reply = kernel.step(code)
            if reply["status"] != "ok":
                kernel.fail(f"{code!r} failed: {reply}")
            times.append(elapsed)
            cpu.append(used)
    finally:
        gc.enable()
    return {"code": code, "runs": runs, "p50": statistics.median(times), "p99": percentile(times, 0.99),
            "client_cpu_p50": statistics.median(cpu)}


class Bench:
    def __init__(self, args, folder):
        self.args = args
        self.folder = folder
        home = folder / "home"
        self.environment = isolated_environment(home)
        self.argv = {}
        if "tejun" in args.kernels:
            tejun = pathlib.Path(args.tejun)
            if not tejun.is_file():
                raise SystemExit(f"no tejun binary at {tejun} (--tejun PATH, or --kernels ipykernel)")
            self.argv["tejun"] = [str(tejun.resolve()), "kernel", "-f", "{connection_file}"]
        if "ipykernel" in args.kernels:
            self.argv["ipykernel"] = ipykernel_argv()

    def kernel(self, name):
        return Kernel(name, self.argv[name], self.folder, self.environment)

    def started(self, name):
        kernel = self.kernel(name)
        kernel.start()
        kernel.client.wait_until_subscribed()
        return kernel

    def start(self, name):
        times = []
        for run in range(self.args.start_runs + 1):
            kernel = self.kernel(name)
            try:
                elapsed = kernel.start()
            finally:
                kernel.stop()
            if run:  # run 0 warms the page cache and IPYTHONDIR
                times.append(elapsed)
        return {"runs": len(times), "median": statistics.median(times), "min": min(times), "max": max(times)}

    def steps(self, name, which):
        kernel = self.started(name)
        try:
            result = timed_steps(kernel, STEPS[name][which], self.args.warmups, self.args.runs)
            if which == "true" and "context" in STEPS[name]:
                result["context"] = timed_steps(kernel, STEPS[name]["context"], 1, self.args.context_runs)
            return result
        finally:
            kernel.stop()

    def seq(self, name, expected):
        kernel = self.started(name)
        try:
            before = proc_status(kernel.process.pid)
            counted = {"stdout": 0, "cr": 0, "messages": 0}

            def on_message(msg_type, content):
                if msg_type == "stream":
                    stream = json.loads(content)
                    if stream["name"] == "stdout":
                        counted["stdout"] += len(stream["text"].encode())
                        counted["cr"] += stream["text"].count("\r")
                        counted["messages"] += 1

            elapsed, cpu, reply = kernel.step(STEPS[name]["seq"], on_message, timeout=10 * DEADLINE)
            after = proc_status(kernel.process.pid)
            children = [{"pid": pid, "name": child, "peak_rss_kib": kib((proc_status(pid) or {}).get("VmHWM"))}
                        for pid, child in descendants(kernel.process.pid)]
        finally:
            kernel.stop()
        # seq prints no carriage return: any in the stream came from a terminal's \n -> \r\n (ipykernel's
        # `!` runs commands on a pty). Those are counted apart; the payload is the rest.
        payload = counted["stdout"] - counted["cr"]
        return {"code": STEPS[name]["seq"], "status": reply["status"], "bytes": counted["stdout"],
                "carriage_returns_added": counted["cr"], "payload_bytes": payload, "expected_bytes": expected,
                "stream_messages": counted["messages"], "seconds": elapsed, "client_cpu_seconds": cpu,
                "mb_per_s": payload / elapsed / 1e6,
                "rss_before_kib": kib(before.get("VmRSS")), "peak_rss_kib": kib(after.get("VmHWM")),
                "children": children}

    def run(self):
        results = {name: {} for name in self.argv}
        expected = None
        if "seq" in self.args.only:
            expected = len(subprocess.run(SEQ_ARGS, capture_output=True, check=True).stdout)
        for which in ("start", "magic", "true", "seq"):
            if which not in self.args.only:
                continue
            for name in self.argv:
                log(f"{name}: {which} ...")
                if which == "start":
                    results[name]["start"] = self.start(name)
                elif which == "seq":
                    runs = sorted((self.seq(name, expected) for _ in range(self.args.seq_runs)),
                                  key=lambda run: run["seconds"])
                    results[name]["seq"] = {**runs[len(runs) // 2], "runs": len(runs),
                                            "all_seconds": [run["seconds"] for run in runs],
                                            "all_complete": all(run["payload_bytes"] == expected and
                                                                run["status"] == "ok" for run in runs),
                                            "peak_rss_kib": max(run["peak_rss_kib"] for run in runs)}
                else:
                    results[name][which] = self.steps(name, which)
        return results


def ipykernel_argv():
    """The argv of the registered python3 kernel (read here: jupyter_client would import ipykernel
    into this process), or Debian's default."""
    try:
        from jupyter_core.paths import jupyter_path
        folders = jupyter_path("kernels")
    except ImportError:
        folders = ["/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels"]
    for folder in folders:
        spec = pathlib.Path(folder, "python3", "kernel.json")
        if spec.is_file():
            return json.loads(spec.read_text(encoding="utf-8"))["argv"]
    return ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def ms(seconds):
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def rows_and_bars(results):
    tejun, ipy = results.get("tejun", {}), results.get("ipykernel", {})
    rows, bars = [], []

    def row(label, get, show, better="lower", bar=None):
        values = {}
        for name, measured in (("tejun", tejun), ("ipykernel", ipy)):
            try:
                values[name] = get(measured)
            except (KeyError, TypeError):
                values[name] = None
        ratio = None
        if better and values["tejun"] and values["ipykernel"]:
            ratio = (values["ipykernel"] / values["tejun"] if better == "lower"
                     else values["tejun"] / values["ipykernel"])
        rows.append((label, *(show(v) if v is not None else "-" for v in values.values()),
                     f"{ratio:.1f}x" if ratio else "-"))
        if bar is not None:
            bars.append({"bar": f"{label}: tejun >= {bar}x", "ratio": ratio,
                         "pass": None if ratio is None else ratio >= bar})

    if "start" in tejun or "start" in ipy:
        row("start, median", lambda m: m["start"]["median"], ms, bar=20)
    if "magic" in tejun or "magic" in ipy:
        row("step %env X=1 | pass: p50", lambda m: m["magic"]["p50"], ms, bar=10)
        row("step %env X=1 | pass: p99", lambda m: m["magic"]["p99"], ms)
        row("  client thread CPU per step, p50", lambda m: m["magic"]["client_cpu_p50"], ms, None)
    if "true" in tejun or "true" in ipy:
        row("step true | %%bash true: p50", lambda m: m["true"]["p50"], ms, bar=5)
        row("step true | %%bash true: p99", lambda m: m["true"]["p99"], ms, bar=5)
        row("  (ipykernel !true, p50)", lambda m: m["true"]["context"]["p50"], ms, None)
    if "seq" in tejun or "seq" in ipy:
        row("seq 50 MB: throughput", lambda m: m["seq"]["mb_per_s"], lambda v: f"{v:.1f} MB/s", "higher", bar=25)
        row("seq 50 MB: time to idle", lambda m: m["seq"]["seconds"], ms)
        row("  client thread CPU", lambda m: m["seq"]["client_cpu_seconds"], ms, None)
        row("  stdout bytes received", lambda m: m["seq"]["bytes"], str, None)
        row("  of which \\r added by a pty", lambda m: m["seq"]["carriage_returns_added"], str, None)
        row("  stdout stream messages", lambda m: m["seq"]["stream_messages"], str, None)
        row("  kernel RSS before", lambda m: m["seq"]["rss_before_kib"] / 1024, lambda v: f"{v:.1f} MiB")
        row("  kernel peak RSS (VmHWM)", lambda m: m["seq"]["peak_rss_kib"] / 1024, lambda v: f"{v:.1f} MiB")
        for name, measured in (("tejun", tejun), ("ipykernel", ipy)):
            for child in measured.get("seq", {}).get("children", []):
                rows.append((f"  {name} child {child['name']} (pid {child['pid']}) peak RSS",
                             *((f"{child['peak_rss_kib'] / 1024:.1f} MiB", "-") if name == "tejun"
                               else ("-", f"{child['peak_rss_kib'] / 1024:.1f} MiB")), ""))
        if "seq" in tejun:
            peak = tejun["seq"]["peak_rss_kib"] / 1024
            bars.append({"bar": "seq 50 MB: tejun kernel peak RSS < 64 MiB", "value_mib": peak, "pass": peak < 64})
        for name, measured in (("tejun", tejun), ("ipykernel", ipy)):
            if "seq" in measured:
                seq = measured["seq"]
                ok = seq["all_complete"]
                bars.append({"bar": f"seq 50 MB: {name} delivered all {seq['expected_bytes']} bytes of seq's output"
                                    f" ({seq['runs']} run{'s' if seq['runs'] > 1 else ''})",
                             "value": seq["payload_bytes"], "pass": ok})
    return rows, bars


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default="build/release/tejun", help="the tejun binary")
    parser.add_argument("--kernels", action="append", choices=("tejun", "ipykernel"),
                        help="kernels to measure (repeatable; default both)")
    parser.add_argument("--only", action="append", choices=("start", "magic", "true", "seq"),
                        help="measurements to make (repeatable; default all)")
    parser.add_argument("--runs", type=int, default=200, help="timed steps for magic and true (default 200)")
    parser.add_argument("--warmups", type=int, default=20, help="untimed steps before those (default 20)")
    parser.add_argument("--start-runs", type=int, default=20, help="kernel starts to time (default 20)")
    parser.add_argument("--context-runs", type=int, default=5, help="ipykernel !true steps (default 5)")
    parser.add_argument("--seq-runs", type=int, default=1,
                        help="seq steps, each in a fresh kernel; the median is shown (default 1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    args.kernels = args.kernels or ["tejun", "ipykernel"]
    args.only = args.only or ["start", "magic", "true", "seq"]

    with tempfile.TemporaryDirectory(prefix="tejun-kernel-bench-") as folder:
        results = Bench(args, pathlib.Path(folder)).run()
    rows, bars = rows_and_bars(results)
    if args.json:
        json.dump({"results": results, "bars": bars}, sys.stdout, indent=1)
        print()
        return
    header = ("", "tejun", "ipykernel", "tejun better by")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(4)]
    for r in (header, *rows):
        print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}")
    print()
    for bar in bars:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[bar["pass"]]
        detail = f" ({bar['ratio']:.1f}x)" if bar.get("ratio") else ""
        if "value_mib" in bar:
            detail = f" ({bar['value_mib']:.1f} MiB)"
        elif "value" in bar:
            detail = f" (got {bar['value']})"
        print(f"{verdict}  {bar['bar']}{detail}")


if __name__ == "__main__":
    main()
