#!/usr/bin/python3
"""SQL steps of the tejun kernel against psql, side by side, on one throwaway PostgreSQL server.

A cluster of its own (tests/python/postgres_cluster.py: PostgreSQL 15, 127.0.0.1, fsync off,
shared_buffers 16MB) gets two tables, made with generate_series and then VACUUM ANALYZE (not
timed):
  t1m   1,000,000 rows: a int, b bigint, c text (20 characters), d numeric(14,4), e timestamp
  t10m 10,000,000 rows: id bigint, a text, b int
(--quick: 100,000 and 1,000,000 rows, named t100k and t1m).

The tejun kernel is started through jupyter_client (KernelManager, from a kernelspec whose argv
is `TEJUN kernel -f {connection_file}`, working folder the temporary folder) and driven by its
BlockingKernelClient. Arrival times are taken when zmq reports a message ready on the socket,
before jupyter_client decodes it. HOME, IPYTHONDIR and the Jupyter and XDG folders are in a
temporary folder.

  export  The whole of t1m as CSV with a header line.
          psql:  psql -X -c "\\copy (select * from t1m) to 'psql.csv' csv header"
                 wall time of the process (the server's own psql, not Debian's Perl pg_wrapper;
                 connection from PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE).
          tejun: `%%sql db --out tejun.csv` + `select * from t1m`, in one kernel whose connection
                 was made by a warm-up cell (`%connect db URL`, then `%%sql db` + `select 1`):
                 execute_request sent to execute_reply received.
          One warm-up round that is not counted, then --runs rounds, each psql then tejun; each
          run writes a new file (the old one is removed and `sync` run first, untimed).
          Median and min of each, and the CPU time (user + sys) of psql and of the kernel process
          during the step; the bar: tejun / psql <= 1.5 (medians).
          The script stops (exit status 1) unless both files have rows + 1 lines and tejun said
          "wrote N rows". Reported too: the sizes (tejun writes CRLF line ends, psql LF) and
          whether the two are the same once tejun's CRLF are made LF.
  screen  `%%sql db` + `select * from t10m` (default --limit 1000) in a fresh kernel in which only
          the connect cell ran: execute_request to the first display_data for it on iopub (the
          first screen; bar < 100 ms) and to execute_reply (the whole result counted). The
          kernel process's VmRSS before the cell and VmHWM (its lifetime peak RSS) right after
          the reply, from /proc/PID/status (bar: peak < 64 MiB). --screen-runs fresh kernels:
          median times, highest peak. The script stops unless the first display holds 1000
          rows and the last one states the table's row count.
          Context, no bar, run after the kernel's steps:
          psql -X -v FETCH_COUNT=1000 -c "select * from t10m" > /dev/null, wall time and peak RSS
          (psql without FETCH_COUNT holds the whole result in memory).

Missing a bar is reported (MISS), not an error; a wrong measurement is an error.

Usage: bench/sql_bench.py [--tejun build/release/tejun] [--runs 5] [--screen-runs 1] [--quick]
                          [--psql-only] [--json]
       (TEJUN in the environment sets the default of --tejun)
"""

import argparse
import json
import os
import pathlib
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from bench_support import cpu_model, isolated_environment, kib, proc_status, timed_cell

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "python"))
from postgres_cluster import PostgresCluster  # noqa: E402

DEADLINE = 600  # seconds for one cell or one psql run
LIMIT = 1000  # the kernel's default --limit
EXPORT_BAR = 1.5  # tejun / psql, medians
SCREEN_BAR = 0.100  # seconds to the first screen
RSS_BAR_MIB = 64
HEAVY = ("cc1plus", "cc1", "ld", "ld.gold", "ld.lld", "lld", "ninja", "make", "cmake", "clang", "clang++", "ctest")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


SECRETS = []  # the cluster's password, raw and percent-encoded: never printed


def fail(message):
    """A measurement that is wrong: stop, so that it cannot pass for a figure."""
    for secret in SECRETS:
        message = message.replace(secret, "***")
    log(f"sql_bench: measurement wrong: {message}")
    sys.exit(1)


def name_for(rows):
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"t{rows // size}{suffix}"
    return f"t{rows}"


# ---- the machine ----

HEAVY_SEEN = set()  # every heavy process name seen at a check between measurements


def heavy_processes():
    """Names of compilers, linkers and build tools running now (they would distort the timings)."""
    processes = {}  # pid: (name, parent pid)
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            status = proc_status(entry.name)
            if status:
                processes[int(entry.name)] = (status["Name"], int(status["PPid"]))

    def ours(pid):
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = processes.get(pid, ("", 0))[1]
        return False

    found = []
    for pid, (name, _) in processes.items():
        if name in HEAVY:
            found.append(name)
        elif name == "tejun" and not ours(pid):
            found.append("tejun (not this script's)")
    HEAVY_SEEN.update(found)
    return ", ".join(f"{name} x{found.count(name)}" for name in sorted(set(found))) or "none"


def shown_path(path):
    """A path inside the repository relative to it, else as given."""
    path = pathlib.Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def commit():
    """The repository's commit, and whether its tracked files have changes."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return "?"
    return head + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def load():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine():
    model = cpu_model()
    memory = next((line.split()[1] for line in pathlib.Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), "0")
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "memory_gib": round(int(memory) / 2**20, 1),
            "kernel": os.uname().release}


# ---- psql ----

class Psql:
    """The server's own psql client, run as a fresh process with PG* variables and no psqlrc."""

    def __init__(self, cluster, folder, environment):
        self.program = cluster.psql_program
        self.folder = folder
        self.environment = {name: value for name, value in environment.items() if not name.startswith("PG")}
        self.environment.update(cluster.env())

    def command(self, *args):
        return [self.program, "-X", *args]

    @staticmethod
    def shown(args):
        """The command as a shell line, `psql` for the program (its path is on the psql line)."""
        words = ["psql", "-X"]
        for arg in args:
            plain = shlex.quote(arg)
            words.append(f'"{arg}"' if plain != arg and not any(c in arg for c in '$`"!') else plain)
        return " ".join(words)

    def run(self, args, stdout=None):
        """(seconds, peak RSS KiB, stdout text, CPU seconds) of one psql process, its output going to `stdout`
        (a file object) or to a file read afterwards; stops the script if psql fails."""
        command = self.command(*args)
        out_path, err_path = self.folder / "psql.out", self.folder / "psql.err"
        with open(out_path, "wb") as out_file, open(err_path, "wb") as err_file:
            start = time.perf_counter()
            process = subprocess.Popen(command, cwd=self.folder, env=self.environment, stdin=subprocess.DEVNULL,
                                       stdout=stdout or out_file, stderr=err_file)
            _, status, usage = os.wait4(process.pid, 0)
            elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output, errors = (path.read_text(errors="replace") for path in (out_path, err_path))
        if process.returncode != 0:
            fail(f"psql exit status {process.returncode}: {shlex.join(command)}\n{errors}")
        return elapsed, usage.ru_maxrss, output, usage.ru_utime + usage.ru_stime

    def query(self, sql):
        return self.run(["-A", "-t", "-c", sql])[2].strip()


# ---- the tejun kernel through jupyter_client ----

class TejunKernel:
    """One tejun kernel started by jupyter_client's KernelManager, with a BlockingKernelClient."""

    def __init__(self, tejun, folder, environment):
        kernels = folder / "kernels"
        (kernels / "tejun").mkdir(parents=True, exist_ok=True)
        (kernels / "tejun" / "kernel.json").write_text(json.dumps({
            "argv": [str(tejun), "kernel", "-f", "{connection_file}"],
            "display_name": "Runbook (tejun)", "language": "bash"}), encoding="utf-8")
        self.manager = KernelManager(kernel_name="tejun",
                                     kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
                                     connection_file=str(folder / f"kernel-{uuid.uuid4().hex}.json"))
        self.manager.start_kernel(cwd=str(folder), env=environment)
        self.pid = self.manager.provisioner.process.pid
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=60)
        except RuntimeError as error:
            self.stop()
            fail(f"the tejun kernel did not answer: {error}")

    def cpu_seconds(self):
        """User + system CPU time of the kernel process so far (all its threads)."""
        try:
            fields = pathlib.Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            fail(f"the tejun kernel (pid {self.pid}) is gone")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self):
        return proc_status(self.pid) or fail(f"the tejun kernel (pid {self.pid}) is gone")

    def cell(self, code, timeout=DEADLINE):
        """Runs one cell. Returns {"reply": content, "reply_s": seconds from execute_request sent to
        execute_reply received, "iopub": [(seconds, msg_type, content)] for that request, up to idle}."""
        reply, reply_s, messages = timed_cell(self.client, code, timeout, fail)
        return {"reply": reply, "reply_s": reply_s, "iopub": messages}

    def checked_cell(self, code, timeout=DEADLINE):
        result = self.cell(code, timeout)
        if result["reply"]["status"] != "ok":
            reply = result["reply"]
            fail(f"tejun cell {code!r} failed: {reply.get('ename')}: {reply.get('evalue')}")
        return result

    def connect(self, url):
        """The warm-up: connects as `db` and runs `select 1` on it."""
        result = self.checked_cell(f"%connect db {url}")
        text = stdout_of(result)
        if "connected" not in text:
            fail(f"%connect printed {text!r}")
        self.checked_cell("%%sql db\nselect 1")
        return text.strip()

    def stop(self):
        try:
            self.client.stop_channels()
            self.manager.shutdown_kernel(now=False)
        finally:
            self.manager.cleanup_resources()


def stdout_of(result):
    return "".join(content["text"] for _, kind, content in result["iopub"]
                   if kind == "stream" and content.get("name") == "stdout")


# ---- the measurements ----

TABLES = {
    "export": ("create table {name} as select i::int as a, i::bigint * 1000003 as b, "
               "substr(md5(i::text), 1, 20) as c, round(i / 7.0, 4)::numeric(14,4) as d, "
               "timestamp '2026-01-01' + i * interval '1 second' as e from generate_series(1, {rows}) as i;\n"
               "vacuum analyze {name};\n"),
    "screen": ("create table {name} as select i::bigint as id, 'row ' || i as a, (i % 1000)::int as b "
               "from generate_series(1, {rows}) as i;\nvacuum analyze {name};\n"),
}


def create_tables(cluster, tables):
    for which, (name, rows) in tables.items():
        start = time.perf_counter()
        cluster.psql(TABLES[which].format(name=name, rows=rows), timeout=DEADLINE * 3)
        counted = int(cluster.psql(f"select count(*) from {name}").strip())
        if counted != rows:
            fail(f"{name} holds {counted} rows, not {rows}")
        size = cluster.psql(f"select pg_size_pretty(pg_table_size('{name}'))").strip()
        log(f"created {name}: {rows} rows, {size}, in {time.perf_counter() - start:.1f} s (not timed)")


def csv_check(path, rows, crlf):
    """(lines, bytes) of a CSV file; stops the script unless it has rows + 1 lines, all ending
    the same way (CRLF for tejun, LF for psql)."""
    lines = 0
    ending = b"\r\n" if crlf else b"\n"
    wrong_ending = 0
    with open(path, "rb") as file:
        for line in file:
            lines += 1
            if not line.endswith(ending) or (not crlf and line.endswith(b"\r\n")):
                wrong_ending += 1
    if lines != rows + 1:
        fail(f"{path.name} has {lines} lines, not {rows + 1} (a header and {rows} rows)")
    if wrong_ending:
        fail(f"{path.name}: {wrong_ending} lines do not end with {'CRLF' if crlf else 'LF'}")
    return lines, path.stat().st_size


def same_csv(tejun_csv, psql_csv):
    """None when the files are the same once CRLF is made LF, else the first differing line."""
    with open(tejun_csv, "rb") as a, open(psql_csv, "rb") as b:
        for number, (line_a, line_b) in enumerate(zip(a, b), 1):
            if line_a[:-2] + b"\n" != line_b:
                return f"line {number}: tejun {line_a[:120]!r} psql {line_b[:120]!r}"
    return None


def fresh(path):
    path.unlink(missing_ok=True)
    os.sync()


def export(args, cluster, psql, folder, environment, name, rows):
    psql_csv, tejun_csv = folder / "psql.csv", folder / "tejun.csv"
    psql_args = ["-c", f"\\copy (select * from {name}) to '{psql_csv.name}' csv header"]
    cell = f"%%sql db --out {tejun_csv.name}\nselect * from {name}"
    kernel = TejunKernel(args.tejun, folder, environment) if not args.psql_only else None
    times = {"psql": [], "tejun": []}
    cpus = {"psql": [], "tejun": []}  # user + system CPU seconds of the client process
    try:
        connected = kernel.connect(cluster.url()) if kernel else None
        for round_number in range(args.runs + 1):
            shown = []
            fresh(psql_csv)
            elapsed, _, output, cpu = psql.run(psql_args)
            if output.strip() != f"COPY {rows}":
                fail(f"psql printed {output!r}, not 'COPY {rows}'")
            psql_lines = csv_check(psql_csv, rows, crlf=False)
            shown.append(f"psql {elapsed * 1000:.0f}")
            if round_number:
                times["psql"].append(elapsed)
                cpus["psql"].append(cpu)
            if kernel:
                fresh(tejun_csv)
                cpu = kernel.cpu_seconds()
                result = kernel.checked_cell(cell)
                cpu = kernel.cpu_seconds() - cpu
                said = stdout_of(result)
                if f"wrote {rows} rows" not in said:
                    fail(f"the export cell printed {said!r}, not 'wrote {rows} rows to {tejun_csv.name}'")
                tejun_lines = csv_check(tejun_csv, rows, crlf=True)
                shown.append(f"tejun {result['reply_s'] * 1000:.0f}")
                if round_number:
                    times["tejun"].append(result["reply_s"])
                    cpus["tejun"].append(cpu)
            alongside = heavy_processes()
            log(f"export {'warm-up round' if round_number == 0 else f'round {round_number}/{args.runs}'}: "
                f"{', '.join(shown)} ms" + (f" [alongside: {alongside}]" if alongside != "none" else ""))
        result = {"table": name, "rows": rows, "psql_command": psql.shown(psql_args),
                  "psql_runs": times["psql"], "psql_cpu": cpus["psql"], "psql_csv_bytes": psql_lines[1],
                  "psql_csv_lines": psql_lines[0]}
        if kernel:
            result.update({"tejun_cell": cell, "tejun_connect": connected, "tejun_runs": times["tejun"],
                           "tejun_cpu": cpus["tejun"],
                           "tejun_csv_bytes": tejun_lines[1], "tejun_csv_lines": tejun_lines[0],
                           "difference": same_csv(tejun_csv, psql_csv),
                           "tejun_peak_rss_kib": kib(kernel.status().get("VmHWM"))})
        return result
    finally:
        if kernel:
            kernel.stop()
        psql_csv.unlink(missing_ok=True)
        tejun_csv.unlink(missing_ok=True)


def footer_count(content):
    """The total row count a display states ("(N rows)", "(1000 of N rows shown; ...)")."""
    text = content.get("data", {}).get("text/plain", "")
    found = re.findall(r"\((?:\d[\d,]* of )?(\d[\d,]*) rows?\b", text)
    return int(found[-1].replace(",", "")) if found else None


def screen(args, cluster, psql, folder, environment, name, rows):
    result = {"table": name, "rows": rows, "runs": []}
    cell = f"%%sql db\nselect * from {name}"
    for run in range(args.screen_runs if not args.psql_only else 0):
        result["tejun_cell"] = cell
        kernel = TejunKernel(args.tejun, folder, environment)
        try:
            kernel.connect(cluster.url())
            before = kernel.status()
            step = kernel.checked_cell(cell)
            after = kernel.status()  # right after the reply (and idle): the peak of this step
        finally:
            kernel.stop()
        displays = [(at, kind, content) for at, kind, content in step["iopub"]
                    if kind in ("display_data", "update_display_data", "execute_result")]
        if not displays or displays[0][1] != "display_data":
            fail(f"no display_data before {displays[0][1] if displays else 'idle'} for {cell!r}")
        first = displays[0][2]
        shown = first.get("data", {}).get("application/vnd.dataresource+json", {}).get("data")
        if shown is None or len(shown) != min(LIMIT, rows):
            fail(f"the first display holds {None if shown is None else len(shown)} rows, not {min(LIMIT, rows)}")
        stated = footer_count(displays[-1][2])
        if stated != rows:
            text = displays[-1][2].get("data", {}).get("text/plain", "")
            fail(f"the last display states {stated} rows, not {rows}: ...{text[-300:]!r}")
        result["runs"].append({
            "first_screen_s": displays[0][0], "reply_s": step["reply_s"], "displays": len(displays),
            "display_kinds": [kind for _, kind, _ in displays], "stated_rows": stated,
            "rss_before_kib": kib(before.get("VmRSS")), "peak_before_kib": kib(before.get("VmHWM")),
            "peak_rss_kib": kib(after.get("VmHWM")), "rss_after_kib": kib(after.get("VmRSS"))})
        alongside = heavy_processes()
        log(f"screen run {run + 1}/{args.screen_runs}: first screen {displays[0][0] * 1000:.1f} ms, "
            f"reply {step['reply_s'] * 1000:.0f} ms, peak RSS {kib(after.get('VmHWM')) / 1024:.1f} MiB"
            + (f" [alongside: {alongside}]" if alongside != "none" else ""))
    # the context last: it is the longest run (psql formats every row), so a short quiet spell suffices for the rest
    context_args = ["-v", "FETCH_COUNT=1000", "-c", f"select * from {name}"]
    with open(os.devnull, "wb") as null:
        context_s, context_rss, _, _ = psql.run(context_args, stdout=null)
    alongside = heavy_processes()
    log(f"screen: psql FETCH_COUNT=1000 to /dev/null {context_s * 1000:.0f} ms"
        + (f" [alongside: {alongside}]" if alongside != "none" else ""))
    result.update({"psql_command": psql.shown(context_args) + " > /dev/null", "psql_seconds": context_s,
                   "psql_peak_rss_kib": context_rss})
    return result


# ---- the report ----

def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def mib(value_kib):
    return f"{value_kib / 1024:.1f} MiB"


def summarise(results):
    rows, bars = [], []
    ex, sc = results["export"], results["screen"]
    table = f"`{ex['table']}` ({ex['rows']:,} rows x 5 columns)"
    p_med, p_min = statistics.median(ex["psql_runs"]), min(ex["psql_runs"])
    if "tejun_runs" in ex:
        t_med, t_min = statistics.median(ex["tejun_runs"]), min(ex["tejun_runs"])
        ratio = t_med / p_med
        rows.append((f"CSV export of {table}, median of {len(ex['tejun_runs'])}", ms(t_med), ms(p_med),
                     f"{ratio:.2f}", f"<= {EXPORT_BAR}"))
        rows.append(("CSV export, min", ms(t_min), ms(p_min), f"{t_min / p_min:.2f}", ""))
        rows.append(("CSV export: CPU (user + sys) of the kernel / of psql, median",
                     ms(statistics.median(ex["tejun_cpu"])), ms(statistics.median(ex["psql_cpu"])), "", ""))
        rows.append(("CSV size", f"{ex['tejun_csv_bytes'] / 1e6:.1f} MB (CRLF)",
                     f"{ex['psql_csv_bytes'] / 1e6:.1f} MB (LF)", "", ""))
        rows.append(("CSV lines (header + rows)", f"{ex['tejun_csv_lines']:,}", f"{ex['psql_csv_lines']:,}", "", ""))
        rows.append(("kernel peak RSS after the exports", mib(ex["tejun_peak_rss_kib"]), "", "", ""))
        bars.append((f"CSV export of {ex['rows']:,} rows: tejun / psql <= {EXPORT_BAR} (medians)", f"{ratio:.2f}",
                     ratio <= EXPORT_BAR))
    else:
        rows.append((f"CSV export of {table}, median of {len(ex['psql_runs'])}", "-", ms(p_med), "", ""))
        rows.append(("CSV export, min", "-", ms(p_min), "", ""))
        rows.append(("CSV size", "-", f"{ex['psql_csv_bytes'] / 1e6:.1f} MB (LF)", "", ""))
    screen_table = f"`{sc['table']}` ({sc['rows']:,} rows x 3 columns)"
    runs = sc["runs"]
    if runs:
        of = f", median of {len(runs)}" if len(runs) > 1 else ""
        first = statistics.median(r["first_screen_s"] for r in runs)
        reply = statistics.median(r["reply_s"] for r in runs)
        peak = max(r["peak_rss_kib"] for r in runs)
        rows.append((f"first screen ({LIMIT} rows) of {screen_table}{of}", ms(first), "", "", "< 100 ms"))
        rows.append((f"whole result counted (to execute_reply){of}", ms(reply), "", "", ""))
        rows.append(("kernel RSS before the cell (after the connect)",
                     mib(statistics.median(r["rss_before_kib"] for r in runs)), "", "", ""))
        rows.append(("kernel peak RSS (VmHWM) right after the cell", mib(peak), "", "", f"< {RSS_BAR_MIB} MiB"))
        bars.append((f"first screen of {sc['rows']:,} rows < {SCREEN_BAR * 1000:.0f} ms", ms(first),
                     first < SCREEN_BAR))
        bars.append((f"kernel peak RSS (VmHWM) < {RSS_BAR_MIB} MiB", mib(peak), peak < RSS_BAR_MIB * 1024))
    rows.append((f"context: psql FETCH_COUNT=1000, all of {screen_table} to /dev/null", "",
                 ms(sc["psql_seconds"]), "", ""))
    rows.append(("context: psql peak RSS (ru_maxrss) for that", "", mib(sc["psql_peak_rss_kib"]), "", ""))
    return rows, bars


def report(results, rows, bars):
    info = results["info"]
    print(f"command: {info['command']}")
    print(f"tejun: {info['tejun']}, commit {info['commit']}")
    print(f"machine: {info['machine']['nproc']} CPUs ({info['machine']['cpu']}), {info['machine']['memory_gib']} GiB, "
          f"Linux {info['machine']['kernel']}")
    print(f"server: {info['server']} (shared_buffers {info['shared_buffers']}, fsync off, 127.0.0.1 over TCP)")
    print(f"psql: {info['psql']}")
    print(f"other heavy processes: at start {info['heavy_at_start']}; at end {info['heavy_at_end']}; "
          f"seen at any check between measurements: {info['heavy_seen']}; "
          f"load average at start {info['load_at_start']}, at end {info['load_at_end']}")
    ex, sc = results["export"], results["screen"]
    print()
    print("export:")
    print(f"  psql:  {ex['psql_command']}")
    if "tejun_cell" in ex:
        print(f"  tejun: {ex['tejun_cell']!r} after {ex['tejun_connect']!r} and a select 1")
    then = " then tejun" if "tejun_runs" in ex else ""
    print(f"  one warm-up round, then {len(ex['psql_runs'])} rounds of psql{then}")
    print(f"  psql runs (ms):  {', '.join(f'{t * 1000:.0f}' for t in ex['psql_runs'])}")
    if "tejun_runs" in ex:
        print(f"  tejun runs (ms): {', '.join(f'{t * 1000:.0f}' for t in ex['tejun_runs'])}")
        print(f"  CPU (user + sys, ms): psql {', '.join(f'{t * 1000:.0f}' for t in ex['psql_cpu'])}; "
              f"tejun kernel {', '.join(f'{t * 1000:.0f}' for t in ex['tejun_cpu'])}")
        same = "identical to psql's" if ex["difference"] is None else f"DIFFERENT from psql's: {ex['difference']}"
        print(f"  tejun's CSV, its CRLF made LF, is {same}")
    print("first screen:")
    if "tejun_cell" in sc:
        print(f"  tejun: {sc['tejun_cell']!r} in a fresh kernel after the connect cell")
        for n, run in enumerate(sc["runs"], 1):
            print(f"  run {n}: first screen {ms(run['first_screen_s'])}, reply {ms(run['reply_s'])}, "
                  f"RSS before {mib(run['rss_before_kib'])} (peak so far {mib(run['peak_before_kib'])}), "
                  f"peak after {mib(run['peak_rss_kib'])}, {run['stated_rows']:,} rows stated, iopub: "
                  f"{', '.join(run['display_kinds'])}")
    print(f"  context: {sc['psql_command']}")
    print()
    print("| measurement | tejun | psql | tejun / psql | bar |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for label, value, passed in bars:
        print(f"{'PASS' if passed else 'MISS'}  {label} ({value})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default=os.environ.get("TEJUN", str(REPO / "build/release/tejun")),
                        help="the tejun binary (default: $TEJUN, else build/release/tejun in the repository)")
    parser.add_argument("--runs", type=int, default=5, help="timed export rounds after one warm-up round (default 5)")
    parser.add_argument("--screen-runs", type=int, default=1,
                        help="first-screen steps, each in a fresh kernel (default 1)")
    parser.add_argument("--quick", action="store_true", help="smaller tables: 100,000 and 1,000,000 rows")
    parser.add_argument("--psql-only", action="store_true",
                        help="measure psql only (checks the cluster and the anchor without a tejun kernel)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    if args.runs < 1 or args.screen_runs < 1:
        parser.error("--runs and --screen-runs must be at least 1")
    args.tejun = pathlib.Path(args.tejun).resolve()
    if not args.psql_only and not args.tejun.is_file():
        sys.exit(f"no tejun binary at {args.tejun} (--tejun PATH or TEJUN=PATH, or --psql-only)")
    export_rows, screen_rows = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    tables = {"export": (name_for(export_rows), export_rows), "screen": (name_for(screen_rows), screen_rows)}

    command = shlex.join([sys.executable, *sys.argv])
    if "TEJUN" in os.environ:
        command = f"TEJUN={shlex.quote(os.environ['TEJUN'])} {command}"
    info = {"command": command, "commit": commit(), "machine": machine(),
            "heavy_at_start": heavy_processes(), "load_at_start": load()}
    if info["heavy_at_start"] != "none":
        log(f"sql_bench: warning: running alongside {info['heavy_at_start']}: the timings will be distorted")
    with tempfile.TemporaryDirectory(prefix="tejun-sql-bench-") as folder, PostgresCluster() as cluster:
        folder = pathlib.Path(folder)
        SECRETS.extend((urllib.parse.quote(cluster.password, safe=""), cluster.password))
        environment = isolated_environment(folder / "home")
        for name in list(environment):
            if name.startswith("PG") or name == "DATABASE_URL":
                environment.pop(name)  # the kernel connects to what %connect says, nothing else
        psql = Psql(cluster, folder, environment)
        info["server"] = psql.query("select version()")
        info["shared_buffers"] = psql.query("show shared_buffers")
        info["psql"] = (subprocess.run([psql.program, "--version"], capture_output=True, text=True).stdout.strip()
                        + f" ({psql.program})")
        info["tejun"] = ("not run (--psql-only)" if args.psql_only else
                         f"{subprocess.run([args.tejun, '--version'], capture_output=True, text=True).stdout.strip()}"
                         f" ({shown_path(args.tejun)})")
        create_tables(cluster, tables)
        results = {"info": info,
                   "export": export(args, cluster, psql, folder, environment, *tables["export"]),
                   "screen": screen(args, cluster, psql, folder, environment, *tables["screen"])}
    info["heavy_at_end"] = heavy_processes()
    info["heavy_seen"] = ", ".join(sorted(HEAVY_SEEN)) or "none"
    info["load_at_end"] = load()
    rows, bars = summarise(results)
    if args.json:
        bars = [{"bar": label, "value": value, "pass": passed} for label, value, passed in bars]
        json.dump({**results, "bars": bars}, sys.stdout, indent=1)
        print()
        return
    report(results, rows, bars)


if __name__ == "__main__":
    main()
