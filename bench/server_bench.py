#!/usr/bin/python3
"""`tejun server` against Debian's jupyter-server 1.23, side by side, over Jupyter Server's REST API.

Both servers run in one run of this script, each on its own temporary root holding the same
files (three notebooks, one of 100 cells, and three Markdown runbooks in a folder tree), with
HOME, IPYTHONDIR and the Jupyter and XDG folders in a temporary folder of its own:

  tejun server    TEJUN server --port PORT --root ROOT --token TOKEN
  jupyter-server  /usr/bin/python3 -m jupyter_server --ServerApp.token=TOKEN --port=PORT --no-browser
                  --ServerApp.root_dir=ROOT --ServerApp.ip=127.0.0.1 --ServerApp.port_retries=0
                  (and --ServerApp.allow_root=True when run as root, which it otherwise refuses)

jupyter-server's Jupyter path also has the tejun kernelspec (`tejun kernel install --prefix`),
so that it can start the tejun kernel too: the third column.

  start    Popen to the first 200 of GET /api (a new connection every 5 ms until one answers).
           --start-runs starts of each server, alternating, after one warm-up start of each.
  memory   VmRSS and VmHWM of the server process once its RSS has settled (unchanged, within
           0.5 %, for 2 s) after start; then, with one kernel started by POST /api/kernels
           (tejun server: "tejun"; jupyter-server: "python3", i.e. ipykernel, then "tejun") and
           settled the same way, the server's RSS plus the kernel's: the kernel is the server's new
           child process, counted with its own children (the tejun kernel's bash). PSS (shared
           pages split between the processes that map them) is shown beside the sums.
  rest     GET /api/status, GET /api/contents/ (the root folder), GET /api/contents/NB.ipynb (the
           100-cell notebook, with content) and PUT of that notebook (the same JSON body to both):
           --runs timed requests each after --warmups, the two servers alternating request by
           request, each over one keep-alive connection (http.client), median and p99 (nearest
           rank). Every answer's status and body are checked.
  kernels  POST /api/kernels; then a kernel_info_request of the script's own on the kernel's shell
           socket (its connection file is in the server's runtime folder, the client is
           kernel_bench's) until the reply: the kernel is up. Then DELETE /api/kernels/ID, and the
           time to the answer and to the end of the kernel process. --kernel-runs rounds after one
           warm-up, the three columns alternating; nothing of a kernel may be left before the next.
           jupyter-server's POST answers before the kernel is up (execution_state "starting"), and
           a DELETE at once would kill a kernel still importing: "up + gone" is the figure to
           compare.

The bar (the issue's): tejun server + its idle kernel use at most 1/10 of the memory (RSS) of
jupyter-server + ipykernel.

The script exits with status 1 at the first request that fails or answers with a wrong status or
body, and when a server or a kernel does not start or stop.

Usage: bench/server_bench.py [--tejun build/release/tejun] [--runs 200] [--kernel-runs 10]
                             [--start-runs 5] [--quick] [--json]
"""

import argparse
import gc
import http.client
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbformat import v4

from bench_support import isolated_environment, kib, proc_status
from kernel_bench import Client, descendants, percentile

NOTEBOOK = "incident-review.ipynb"  # the 100-cell notebook of GET and PUT
DEADLINE = 60  # seconds for anything that should take far less
HTTP_TIMEOUT = 60


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Failure(Exception):
    """A request that failed or gave a wrong answer; a server or kernel that misbehaved."""


# --- the files served ----------------------------------------------------------------------


RUNBOOK = """---
title: {title}
kernel: tejun
---

# {title}

{prose}

```sh {{name=check}}
systemctl status {unit} --no-pager
```

Then restart it and watch the logs.

```sh {{name=restart}}
systemctl restart {unit}
journalctl -u {unit} -n 50 --no-pager
```
"""


def big_notebook():
    """100 cells: 50 Markdown and 50 code cells (bash), each code cell with a 20-line stdout."""
    notebook = v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"},
                         "language_info": {"name": "bash", "file_extension": ".sh", "mimetype": "text/x-sh"}}
    for i in range(50):
        notebook.cells.append(v4.new_markdown_cell(
            f"## Step {i + 1}\n\nLook at the replicas of shard {i} and note the lag in the *incident log*."))
        text = "".join(f"replica-{i}-{j}  lag={j * 17 % 101} ms  state=streaming\n" for j in range(20))
        notebook.cells.append(v4.new_code_cell(
            f"kubectl get pods -l shard={i}\npsql -c 'select * from pg_stat_replication'", execution_count=i + 1,
            outputs=[v4.new_output("stream", name="stdout", text=text)]))
    return notebook


def make_files(root):
    """The files both servers serve: three notebooks and three Markdown runbooks."""
    (root / "runbooks").mkdir(parents=True)
    (root / "notebooks").mkdir()
    notebook = big_notebook()
    nbformat.validate(notebook)
    nbformat.write(notebook, str(root / NOTEBOOK))
    for name, cells in (("notebooks/scratch.ipynb", 4), ("notebooks/onboarding.ipynb", 10)):
        small = v4.new_notebook(cells=[v4.new_markdown_cell(f"Note {i}") if i % 2 else v4.new_code_cell(f"echo {i}")
                                       for i in range(cells)])
        nbformat.write(small, str(root / name))
    for name, title, unit in (("restart-database.md", "Restart the database", "postgresql"),
                              ("runbooks/rotate-certificates.md", "Rotate the certificates", "nginx"),
                              ("runbooks/drain-node.md", "Drain a node", "kubelet")):
        (root / name).write_text(RUNBOOK.format(title=title, unit=unit, prose="Check the replicas first. " * 5),
                                 encoding="utf-8")
    return sorted(entry.name for entry in root.iterdir())


# --- processes -----------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    status = proc_status(pid)
    return status is not None and not status.get("State", "").startswith("Z")


def wait_until(condition, deadline=DEADLINE, step=0.02):
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value or time.monotonic() >= end:
            return value
        time.sleep(step)


def tree(pid):
    """[pid] of a process and its live descendants."""
    return [pid] + [child for child, _ in descendants(pid) if alive(child)]


def memory(pids):
    """{"rss", "hwm", "anon", "pss"} in KiB (VmRSS, VmHWM, RssAnon, Pss), summed over PIDS."""
    total = {"rss": 0, "hwm": 0, "anon": 0, "pss": 0}
    for pid in pids:
        status = proc_status(pid) or {}
        total["rss"] += kib(status.get("VmRSS"))
        total["hwm"] += kib(status.get("VmHWM"))
        total["anon"] += kib(status.get("RssAnon"))
        try:
            for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total["pss"] += kib(line.partition(":")[2].strip())
        except OSError:
            pass
    return total


def settled(pids_of, window=2.0, step=0.25, deadline=DEADLINE):
    """Polls the summed RSS of pids_of() until it stays within 0.5 % (256 KiB at least) for
    WINDOW seconds; (seconds waited, whether it settled)."""
    start = time.monotonic()
    samples = []
    while True:
        samples.append((time.monotonic(), memory(pids_of())["rss"]))
        recent = [rss for at, rss in samples if at >= samples[-1][0] - window]
        if samples[-1][0] - samples[0][0] >= window and len(recent) >= window / step:
            if max(recent) - min(recent) <= max(256, 0.005 * max(recent)):
                return time.monotonic() - start, True
        if time.monotonic() - start > deadline:
            return time.monotonic() - start, False
        time.sleep(step)


class Connection(http.client.HTTPConnection):
    """An HTTPConnection that counts the TCP connections it opens."""

    opened = 0

    def connect(self):
        super().connect()
        self.opened += 1


def jupyter_server_argv():
    """jupyter-server's command line, with TOKEN, PORT and ROOT to fill in (filled)."""
    extra = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []  # it refuses root otherwise
    return ["/usr/bin/python3", "-m", "jupyter_server", "--ServerApp.token=TOKEN", "--port=PORT", "--no-browser",
            "--ServerApp.root_dir=ROOT", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", *extra]


def filled(argv, token, port, root):
    return [part.replace("TOKEN", token).replace("PORT", str(port)).replace("ROOT", str(root)) for part in argv]


class Server:
    """One server process on a temporary root, and one keep-alive connection to it."""

    def __init__(self, label, argv_of, folder, files, token, environment):
        self.label = label
        self.argv_of = argv_of  # port -> argv
        self.folder = folder
        self.root = folder / "root"
        shutil.copytree(files, self.root)
        self.token = token
        self.environment = environment
        self.runtime = pathlib.Path(environment["JUPYTER_RUNTIME_DIR"])  # where kernels' connection files go
        self.process = None
        self.connection = None
        self.log_path = folder / "server.log"

    def start(self):
        """Popen to the first 200 of GET /api, in seconds."""
        self.port = free_port()
        argv = self.argv_of(self.port)
        with open(self.log_path, "ab") as output:
            start = time.perf_counter()
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                            env=self.environment, cwd=self.folder, start_new_session=True)
            deadline = time.monotonic() + DEADLINE
            while True:
                probe = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
                try:
                    probe.request("GET", "/api", headers={"Authorization": f"token {self.token}"})
                    response = probe.getresponse()
                    response.read()
                    if response.status == 200:
                        break
                    raise Failure(f"{self.label}: GET /api answered {response.status}")
                except (ConnectionError, http.client.HTTPException, socket.timeout):
                    pass
                finally:
                    probe.close()
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise Failure(f"{self.label} did not start (exit status {self.process.poll()}):\n{self.log_tail()}")
                time.sleep(0.005)
            elapsed = time.perf_counter() - start
        self.connection = Connection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        return elapsed

    def log_tail(self):
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def request(self, method, target, body=None, expect=200):
        """METHOD TARGET over the keep-alive connection: (seconds, parsed JSON body or None).
        BODY: bytes sent as they are, or an object sent as JSON."""
        headers = {"Authorization": f"token {self.token}"}
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            self.connection.request(method, target, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            raise Failure(f"{self.label}: {method} {target}: {error!r}") from None
        elapsed = time.perf_counter() - start
        if response.status != expect:
            raise Failure(f"{self.label}: {method} {target} answered {response.status}, not {expect}: {data[:500]!r}")
        try:
            return elapsed, json.loads(data) if data else None
        except ValueError:
            raise Failure(f"{self.label}: {method} {target}: a body that is not JSON: {data[:500]!r}") from None

    def children(self):
        """The server's live child processes (not their children)."""
        server = str(self.process.pid)
        return {pid for pid, _ in descendants(self.process.pid)
                if alive(pid) and (proc_status(pid) or {}).get("PPid") == server}

    def stop(self):
        """SIGTERM, then SIGKILL after 30 s; kills whatever of its process tree is left. The exit status."""
        if self.connection:
            self.connection.close()
        if not self.process:
            return None
        left = set(tree(self.process.pid)) - {self.process.pid} if self.process.poll() is None else set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in left:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        code = self.process.returncode
        self.process = None
        return code


# --- the measurements ----------------------------------------------------------------------


def start_kernel(server, name):
    """POST /api/kernels NAME, then a kernel_info_request of our own on the kernel's shell socket
    (from its connection file in the server's runtime folder) until its reply: the kernel is up.
    (kernel id, kernel pid: the server's new child process, {"post": s, "ready": s from the POST})."""
    files = set(server.runtime.glob("kernel-*.json"))
    children = server.children()
    start = time.perf_counter()
    posted, model = server.request("POST", "/api/kernels", {"name": name}, expect=201)
    if not isinstance(model, dict) or model.get("name") != name or not model.get("id"):
        raise Failure(f"{server.label}: POST /api/kernels {name}: a wrong model {model!r}")
    deadline = time.monotonic() + DEADLINE
    info = None
    while info is None:
        new = set(server.runtime.glob("kernel-*.json")) - files
        if len(new) > 1:
            raise Failure(f"{server.label}: kernel {name}: more than one new connection file: {new}")
        if new:
            try:
                info = json.loads(new.pop().read_text(encoding="utf-8"))
            except ValueError:
                info = None  # still being written
        if info is None:
            if time.monotonic() > deadline:
                raise Failure(f"{server.label}: kernel {name}: no connection file in {server.runtime}")
            time.sleep(0.001)
    client = Client(info)
    try:
        msg_type, _ = client.reply(client.send("kernel_info_request", {}), timeout=DEADLINE)
    except RuntimeError as error:
        raise Failure(f"{server.label}: kernel {name}: no kernel_info_reply: {error}") from None
    finally:
        client.close()
    ready = time.perf_counter() - start
    if msg_type != "kernel_info_reply":
        raise Failure(f"{server.label}: kernel {name} answered kernel_info_request with {msg_type}")
    new = wait_until(lambda: server.children() - children)
    if len(new or ()) != 1:
        raise Failure(f"{server.label}: kernel {name}: expected one new child process, found {new!r}")
    return model["id"], new.pop(), {"post": posted, "ready": ready}


def delete_kernel(server, kernel_id, pid):
    """DELETE /api/kernels/ID: {"delete": s to the answer, "gone": s to the kernel process's end}."""
    start = time.perf_counter()
    deleted, _ = server.request("DELETE", f"/api/kernels/{kernel_id}", expect=204)
    if not wait_until(lambda: not alive(pid), step=0.001):
        raise Failure(f"{server.label}: kernel process {pid} still running {DEADLINE} s after DELETE")
    return {"delete": deleted, "gone": time.perf_counter() - start}


def measure_memory(server, kernel_names):
    """The idle server's memory, then the server + one idle kernel for each of KERNEL_NAMES."""
    pid = server.process.pid
    waited, ok = settled(lambda: [pid])
    result = {"idle": {**memory([pid]), "settled": ok, "waited": waited}}
    for name in kernel_names:
        kernel_id, kernel_pid, _ = start_kernel(server, name)
        waited, ok = settled(lambda: [pid] + tree(kernel_pid))
        kernel_tree = tree(kernel_pid)
        result[name] = {"server": memory([pid]), "kernel": memory([kernel_pid]),
                        "kernel_children": memory(kernel_tree[1:]),
                        "children": [(child, (proc_status(child) or {}).get("Name", "?")) for child in kernel_tree[1:]],
                        "total": memory([pid] + kernel_tree), "settled": ok, "waited": waited}
        delete_kernel(server, kernel_id, kernel_pid)
    return result


def rest_steps(notebook_body, listing):
    """[(label, method, target, body, expect, check)]: the REST requests timed."""

    def status_ok(model):
        return isinstance(model, dict) and "started" in model and "last_activity" in model

    def listing_ok(model):
        return (model["type"] == "directory" and isinstance(model["content"], list)
                and sorted(entry["name"] for entry in model["content"]) == listing)

    def notebook_ok(model):
        return model["type"] == "notebook" and len(model["content"]["cells"]) == 100

    def saved_ok(model):
        return model["name"] == NOTEBOOK and model["type"] == "notebook"

    return [("GET /api/status", "GET", "/api/status", None, 200, status_ok),
            ("GET /api/contents/ (listing)", "GET", "/api/contents/", None, 200, listing_ok),
            (f"GET /api/contents/{NOTEBOOK}", "GET", f"/api/contents/{NOTEBOOK}", None, 200, notebook_ok),
            (f"PUT /api/contents/{NOTEBOOK}", "PUT", f"/api/contents/{NOTEBOOK}", notebook_body, 200, saved_ok)]


def measure_rest(servers, steps, warmups, runs):
    """{label: {server label: {"p50", "p99", "runs"}}}, the servers alternating request by request."""
    results = {}
    for label, method, target, body, expect, check in steps:
        log(f"rest: {label} ...")
        times = {server.label: [] for server in servers}
        gc.disable()
        try:
            for run in range(warmups + runs):
                for server in servers:
                    elapsed, model = server.request(method, target, body, expect)
                    try:
                        good = check(model)
                    except (KeyError, TypeError, IndexError):
                        good = False
                    if not good:
                        raise Failure(f"{server.label}: {method} {target}: a wrong answer: {json.dumps(model)[:500]}")
                    if run >= warmups:
                        times[server.label].append(elapsed)
        finally:
            gc.enable()
        results[label] = {name: {"p50": statistics.median(samples), "p99": percentile(samples, 0.99),
                                 "runs": len(samples)} for name, samples in times.items()}
    return results


KERNEL_TIMES = ("post", "ready", "delete", "gone", "total")


def measure_kernels(pairs, runs):
    """{column: {time: {"p50", "p99"}, "runs"}} for (column, server, kernel name) PAIRS, times as
    KERNEL_TIMES; total = ready + gone."""
    times = {column: {key: [] for key in KERNEL_TIMES} for column, _, _ in pairs}
    for _ in range(runs + 1):  # the first round warms up
        for column, server, name in pairs:
            kernel_id, pid, started = start_kernel(server, name)
            stopped = delete_kernel(server, kernel_id, pid)
            left = [child for child, _ in descendants(server.process.pid) if alive(child)]
            if left:
                raise Failure(f"{server.label}: processes left after DELETE: {left}")
            for key, value in {**started, **stopped, "total": started["ready"] + stopped["gone"]}.items():
                times[column][key].append(value)
    return {column: {key: {"p50": statistics.median(samples[1:]), "p99": percentile(samples[1:], 0.99)}
                     for key, samples in measured.items()} | {"runs": runs}
            for column, measured in times.items()}


# --- the run -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args, folder):
        self.args = args
        self.folder = folder
        self.token = secrets.token_hex(16)
        tejun = pathlib.Path(args.tejun)
        if not tejun.is_file():
            raise SystemExit(f"no tejun binary at {tejun} (--tejun PATH)")
        self.tejun = tejun.resolve()
        self.files = folder / "files"
        self.listing = make_files(self.files)
        with open(self.files / NOTEBOOK, encoding="utf-8") as source:
            self.notebook_body = json.dumps({"type": "notebook", "format": "json",
                                             "content": json.load(source)}).encode()

        tejun_folder = folder / "tejun-server"
        tejun_folder.mkdir()
        self.tejun_argv = [str(args.tejun), "server", "--port", "PORT", "--root", "ROOT", "--token", "TOKEN"]
        self.tejun_server = Server(
            "tejun server",
            lambda port: [str(self.tejun), "server", "--port", str(port), "--root", str(tejun_folder / "root"),
                          "--token", self.token],
            tejun_folder, self.files, self.token, isolated_environment(tejun_folder / "home"))

        jupyter_folder = folder / "jupyter-server"
        jupyter_folder.mkdir()
        environment = isolated_environment(jupyter_folder / "home")
        prefix = jupyter_folder / "prefix"
        subprocess.run([str(self.tejun), "kernel", "install", "--prefix", str(prefix)], check=True,
                       stdout=subprocess.DEVNULL, env=environment)
        environment["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
        self.jupyter_argv = jupyter_server_argv()
        self.jupyter_server = Server(
            "jupyter-server", lambda port: filled(self.jupyter_argv, self.token, port, jupyter_folder / "root"),
            jupyter_folder, self.files, self.token, environment)
        self.servers = (self.tejun_server, self.jupyter_server)

    def versions(self):
        found = subprocess.run(["/usr/bin/python3", "-c", "import jupyter_server, ipykernel; "
                                "print(jupyter_server.__version__, ipykernel.__version__)"],
                               capture_output=True, text=True, check=True).stdout.split()
        return {"jupyter_server": found[0], "ipykernel": found[1]}

    def run(self):
        results = {"versions": self.versions(), "notebook_bytes": len(self.notebook_body),
                   "commands": {"tejun server": " ".join(self.tejun_argv),
                                "jupyter-server": " ".join(self.jupyter_argv)}}
        try:
            log("start ...")
            starts = {server.label: [] for server in self.servers}
            for run in range(self.args.start_runs + 1):  # run 0 warms the page cache
                for server in self.servers:
                    elapsed = server.start()
                    code = server.stop()
                    if code != 0:
                        raise Failure(f"{server.label}: exit status {code} after SIGTERM:\n{server.log_tail()}")
                    if run:
                        starts[server.label].append(elapsed)
            results["start"] = {name: {"median": statistics.median(times), "min": min(times), "max": max(times),
                                       "runs": len(times)} for name, times in starts.items()}

            for server in self.servers:
                server.start()
            log("memory ...")
            results["memory"] = {"tejun server": measure_memory(self.tejun_server, ["tejun"]),
                                 "jupyter-server": measure_memory(self.jupyter_server, ["python3", "tejun"])}
            results["rest"] = measure_rest(self.servers, rest_steps(self.notebook_body, self.listing),
                                           self.args.warmups, self.args.runs)
            log("kernels ...")
            results["kernels"] = measure_kernels(
                [("tejun server + tejun kernel", self.tejun_server, "tejun"),
                 ("jupyter-server + ipykernel", self.jupyter_server, "python3"),
                 ("jupyter-server + tejun kernel", self.jupyter_server, "tejun")], self.args.kernel_runs)
            results["connections_opened"] = {server.label: server.connection.opened for server in self.servers}
            results["requests_run"] = True
        finally:
            codes = {server.label: server.stop() for server in self.servers}
        results["exit_status"] = codes
        return results


# --- the report ----------------------------------------------------------------------------


def ms(seconds):
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def mib(value_kib):
    return f"{value_kib / 1024:.1f} MiB"


def report(results):
    memory = results["memory"]
    tejun, jupyter = memory["tejun server"], memory["jupyter-server"]
    rows = []

    def row(label, values, show, ratio=True):
        """VALUES: (tejun server, jupyter-server + ipykernel, jupyter-server + tejun kernel), None for none."""
        shown = [show(v) if v is not None else "-" for v in values]
        ratio_text = f"{values[1] / values[0]:.1f}x" if ratio and values[0] and values[1] else ""
        rows.append((label, *shown, ratio_text))

    start = results["start"]
    row(f"start: Popen to GET /api 200, median of {start['tejun server']['runs']}",
        (start["tejun server"]["median"], start["jupyter-server"]["median"], None), ms)
    row("  min", (start["tejun server"]["min"], start["jupyter-server"]["min"], None), ms)
    row("idle server: VmRSS", (tejun["idle"]["rss"], jupyter["idle"]["rss"], None), mib)
    row("idle server: VmHWM", (tejun["idle"]["hwm"], jupyter["idle"]["hwm"], None), mib)
    with_kernel = (tejun["tejun"], jupyter["python3"], jupyter["tejun"])
    row("+ one idle kernel: server VmRSS", [m["server"]["rss"] for m in with_kernel], mib)
    row("  kernel VmRSS", [m["kernel"]["rss"] for m in with_kernel], mib)
    row("  kernel's children VmRSS", [m["kernel_children"]["rss"] for m in with_kernel], mib, ratio=False)
    row("  server + kernel VmRSS", [m["total"]["rss"] for m in with_kernel], mib)
    row("  server + kernel VmHWM", [m["total"]["hwm"] for m in with_kernel], mib)
    row("  server + kernel RssAnon", [m["total"]["anon"] for m in with_kernel], mib)
    row("  server + kernel PSS", [m["total"]["pss"] for m in with_kernel], mib)
    for label, by_server in results["rest"].items():
        runs = by_server["tejun server"]["runs"]
        for key in ("p50", "p99"):
            row(f"{label}: {key} of {runs}", (by_server["tejun server"][key], by_server["jupyter-server"][key], None),
                ms)
    kernels = results["kernels"]
    columns = ("tejun server + tejun kernel", "jupyter-server + ipykernel", "jupyter-server + tejun kernel")
    runs = kernels[columns[0]]["runs"]
    for key, label in (("post", "POST /api/kernels answered"), ("ready", "POST to kernel_info_reply"),
                       ("delete", "DELETE answered"), ("gone", "DELETE to kernel process gone"),
                       ("total", "kernel up + gone")):
        row(f"{label}: p50 of {runs}", [kernels[c][key]["p50"] for c in columns], ms)
    row(f"kernel up + gone: p99 of {runs}", [kernels[c]["total"]["p99"] for c in columns], ms)

    ratio = tejun["tejun"]["total"]["rss"] / jupyter["python3"]["total"]["rss"]
    bars = [{"bar": "tejun server + tejun kernel <= 1/10 of jupyter-server + ipykernel (VmRSS)",
             "value": ratio, "pass": ratio <= 0.1}]
    return rows, bars


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default="build/release/tejun", help="the tejun binary")
    parser.add_argument("--runs", type=int, help="timed requests of each kind (default 200; --quick 30)")
    parser.add_argument("--warmups", type=int, default=10, help="untimed requests before those (default 10)")
    parser.add_argument("--kernel-runs", type=int, help="kernel starts + deletes (default 10; --quick 3)")
    parser.add_argument("--start-runs", type=int, help="server starts (default 5; --quick 2)")
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a check of the script")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    args.runs = args.runs or (30 if args.quick else 200)
    args.kernel_runs = args.kernel_runs or (3 if args.quick else 10)
    args.start_runs = args.start_runs or (2 if args.quick else 5)

    with tempfile.TemporaryDirectory(prefix="tejun-server-bench-") as folder:
        bench = Bench(args, pathlib.Path(folder))
        try:
            results = bench.run()
        except Failure as failure:
            log(f"FAILED: {failure}")
            sys.exit(1)
    rows, bars = report(results)
    if args.json:
        json.dump({"results": results, "bars": bars}, sys.stdout, indent=1)
        print()
        return
    versions = results["versions"]
    print(f"tejun server:   {results['commands']['tejun server']}")
    print(f"jupyter-server: {results['commands']['jupyter-server']}")
    print(f"                (jupyter_server {versions['jupyter_server']}, ipykernel {versions['ipykernel']}; "
          f"{NOTEBOOK}: 100 cells, {results['notebook_bytes'] / 1024:.1f} KiB as PUT)")
    print(f"connections opened for the timed requests: tejun server {results['connections_opened']['tejun server']}, "
          f"jupyter-server {results['connections_opened']['jupyter-server']}")
    unsettled = [f"{server} {what}" for server, measured in results["memory"].items()
                 for what, m in measured.items() if not m["settled"]]
    if unsettled:
        print(f"RSS did not settle within {DEADLINE} s: {', '.join(unsettled)}")
    print()
    header = ("", "tejun server", "jupyter-server", "jupyter-server", "jupyter-server /")
    subheader = ("", "+ tejun kernel", "+ ipykernel", "+ tejun kernel", "tejun server")
    widths = [max(len(str(r[i])) for r in (header, subheader, *rows)) for i in range(5)]
    for r in (header, subheader, *rows):
        print(f"{r[0]:<{widths[0]}}  " + "  ".join(f"{r[i]:>{widths[i]}}" for i in range(1, 5)))
    print()
    for bar in bars:
        print(f"{'PASS' if bar['pass'] else 'FAIL'}  {bar['bar']} ({bar['value']:.3f}, 1/{1 / bar['value']:.1f})")
    if any(code != 0 for code in results["exit_status"].values()):
        print(f"exit status after SIGTERM: {results['exit_status']}")


if __name__ == "__main__":
    main()
