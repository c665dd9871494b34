#!/usr/bin/python3
"""tejun's runbook web UI against Debian's classic Jupyter Notebook 6.4, side by side, in one
Chromium: how much JavaScript + CSS each UI ships, and how long a 200-cell runbook takes to open.

Both servers run in one run of this script, each on a temporary root holding the same generated
files, with HOME, IPYTHONDIR and the Jupyter and XDG folders in a temporary folder of its own:

  tejun     TEJUN server --port 0 --root ROOT --token TOKEN  (its URL read from its stderr)
  notebook  /usr/bin/python3 -m notebook --no-browser --NotebookApp.token=TOKEN --port=PORT
            --NotebookApp.notebook_dir=ROOT --NotebookApp.allow_root=True --ip=127.0.0.1
            --NotebookApp.port_retries=0, with JUPYTER_NO_CONFIG=1 (no nbextension a package
            enabled in /etc/jupyter is loaded) and the tejun kernelspec (`tejun kernel install
            --prefix`) on its JUPYTER_PATH: it opens the notebook on the kernel it names.

The files: bench-200.md (tejun's Markdown: front matter, then 100 prose cells, each a heading, a
paragraph of about 60 words and a three-item list, alternating with 100 ```sh {name=step-N}
steps of 3 to 8 lines) and bench-200.ipynb, the same 200 cells written with nbformat;
`tejun convert bench-200.md` must give the cells (types, sources) of bench-200.ipynb.

bench/ui_bench.mjs drives Debian's Chromium (/usr/bin/chromium through playwright-core from
tests/e2e/node_modules; headless, a fresh profile, the flags of tests/e2e/support.mjs, one
browser context, viewport 1280x800). tejun is reached at 127.0.0.1, the notebook at localhost,
so that their cookies (both set `_xsrf`) stay apart. Each server is signed in to once, before
any page, by a GET of {base}?token=TOKEN through the context's request API: it stores the
cookies and loads no page.

  size  The first page of each server, on an empty cache, opens the runbook (tejun:
        {base}ui/#/open/bench-200.md; notebook: {base}notebooks/bench-200.ipynb), waits until no
        response came for 1 s ("at open"), then edits a step (tejun: a click on its source; the
        notebook: a click in its editor) and, after Escape, a prose cell (a double-click), and
        waits again ("on edit": tejun's lazily loaded editor). Every JS and CSS response of that
        page is then fetched again here (http.client, the page's cookies, Accept-Encoding: gzip)
        and counted as the server sends it ("as sent": tejun gzips, the notebook does not),
        unpacked ("raw") and gzipped here at level 6 ("gzip -6", the same for both: what the
        notebook would send if it gzipped). Each asset tejun's {base}ui/ names must be counted.
  open  Milliseconds from the navigation's start, in a new page of the same (signed-in) context
        each time, the HTTP cache warm:
          mark   tejun only: the page's performance mark "tejun:runbook-ready" (its startTime),
                 set once the cells are in the DOM, before the browser lays them out.
          seen   performance.now() in the first animation frame where the runbook is ready:
                 tejun's [data-testid=runbook][data-ready=true]; the notebook's
                 Jupyter.notebook._fully_loaded (set once every cell is built and rendered; it
                 has no mark of its own). The like-for-like figure.
          drawn  performance.now() in the frame after: the first frame's style, layout and
                 paint of the 200 cells are done, the page takes input.
        seen and drawn come from a script that every page runs before its own (addInitScript)
        in each animation frame, since Playwright's own poller starts only after the navigation
        commits and can miss the first frames; page.waitForFunction (polling "raf") waits for
        them. Each page must show 200 cells. --warmups rounds, then --runs rounds, of tejun .md,
        notebook .ipynb and tejun .ipynb in turn; median, p90 (nearest rank) and min. The cold
        opens are the size pages' (nothing cached, no kernel running yet). Ratios compare the
        same measure.

The bars (the issue's): tejun's JS + CSS as sent (gzipped) under 300 kB, and tejun's median open
of bench-200.md (mark) under 500 ms. kB = 1000 bytes.

Console errors, page errors and failed requests of every page are counted and shown. Both servers
are stopped (SIGTERM, then SIGKILL after 60 s; the kernels they leave are killed) whatever
happens. Other work on the machine skews the times: the load average is shown.

Usage: TEJUN=/abs/path/to/tejun bench/ui_bench.py [--runs 15] [--warmups 2] [--json]
       (TEJUN defaults to build/release/tejun in this repository)
"""

import argparse
import gzip
import http.client
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import nbformat
from nbformat import v4

from bench_support import cpu_model, isolated_environment, proc_status
from kernel_bench import descendants, percentile

REPO = pathlib.Path(__file__).resolve().parent.parent
NODE_SCRIPT = REPO / "bench" / "ui_bench.mjs"
CELLS = 200
DEADLINE = 60  # seconds for a server to start or stop
SIZE_BAR = 300_000  # bytes
OPEN_BAR = 500  # ms


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


# --- the files -----------------------------------------------------------------------------

TOPICS = ["database", "load balancer", "message queue", "object store", "DNS zone", "certificate",
          "cache cluster", "build runner", "VPN gateway", "search index"]
SENTENCES = [
    "Before you touch the {t}, tell the on-call channel what you are about to do.",
    "Check the dashboards for the last hour and note anything that looks unusual.",
    "If the error rate is above one percent, stop here and page the owning team.",
    "Every command below is safe to run twice, so a failed step can be run again.",
    "Keep the incident log open and paste the output of each step into it.",
    "The {t} is shared by several services, so a restart is felt by all of them.",
]


def prose(i):
    """A prose cell: a heading, a paragraph of about 60 words and a short list."""
    topic = TOPICS[i % len(TOPICS)]
    sentences = [SENTENCES[(i + k) % len(SENTENCES)].format(t=topic) for k in range(4)]
    items = [f"- the {topic} answers on its health endpoint",
             f"- no alert about the {topic} fired in the last {i % 50 + 10} minutes",
             f"- the change ticket CHG-{4000 + i} is approved"]
    return f"## {i + 1}. The {topic}, part {i // len(TOPICS) + 1}\n\n{' '.join(sentences)}\n\n" + "\n".join(items)


def step(i):
    """A sh step of 3 to 8 lines."""
    host = f"node-{i % 12:02d}.internal"
    lines = [f"ssh {host} 'systemctl status app-{i} --no-pager'",
             f"curl -fsS http://{host}:8080/healthz",
             f"journalctl -u app-{i} -n 20 --no-pager | grep -i error || true",
             f"df -h /var/lib/app-{i}",
             f"export REPLICAS=$(kubectl get deploy app-{i} -o jsonpath='{{.spec.replicas}}')",
             'echo "replicas: $REPLICAS"',
             f"kubectl rollout status deploy/app-{i} --timeout=60s",
             f"date -u +%FT%TZ >> drill-step-{i}.log"]
    return "\n".join(lines[:3 + i % 6])


def make_files(folder):
    """bench-200.md and bench-200.ipynb in FOLDER (created): the same 200 cells."""
    folder.mkdir(parents=True)
    title = "Quarterly failover drill"
    parts = [f"---\ntitle: {title}\nkernel: tejun\n---\n"]
    notebook = v4.new_notebook()
    notebook.metadata = {"title": title,
                         "kernelspec": {"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"}}
    for i in range(CELLS // 2):
        parts.append(prose(i) + "\n")
        parts.append(f"```sh {{name=step-{i + 1}}}\n{step(i)}\n```\n")
        notebook.cells.append(v4.new_markdown_cell(prose(i)))
        notebook.cells.append(v4.new_code_cell(step(i), metadata={
            "tejun": {"language": "sh", "attributes": {"name": f"step-{i + 1}"}}}))
    (folder / "bench-200.md").write_text("\n".join(parts), encoding="utf-8")
    nbformat.validate(notebook)
    nbformat.write(notebook, str(folder / "bench-200.ipynb"))


def check_files(tejun, folder, environment):
    """`tejun convert bench-200.md` must give the cells of bench-200.ipynb."""
    converted = folder.parent / "converted.ipynb"
    subprocess.run([str(tejun), "convert", str(folder / "bench-200.md"), str(converted)], check=True,
                   env=environment, stdout=subprocess.DEVNULL)
    ours = nbformat.read(str(folder / "bench-200.ipynb"), as_version=4)
    theirs = nbformat.read(str(converted), as_version=4)
    shape = [(c.cell_type, c.source) for c in ours.cells]
    if len(shape) != CELLS or shape != [(c.cell_type, c.source) for c in theirs.cells]:
        raise Failure("bench-200.md and bench-200.ipynb do not hold the same cells (tejun convert)")


# --- the servers ---------------------------------------------------------------------------


class Server:
    def __init__(self, label, folder, files, environment):
        self.label = label
        self.folder = folder
        self.root = folder / "root"
        shutil.copytree(files, self.root)
        self.environment = environment
        self.log_path = folder / "server.log"
        self.process = None
        self.base = None

    def start(self, argv, url_of):
        """Starts ARGV; URL_OF() gives the server's base URL once it serves, else None."""
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                            env=self.environment, cwd=self.folder, start_new_session=True)
        end = time.monotonic() + DEADLINE
        while self.base is None:
            if self.process.poll() is not None or time.monotonic() > end:
                raise Failure(f"{self.label} did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            self.base = url_of()
            time.sleep(0.05)

    def stop(self):
        """SIGTERM (SIGKILL after DEADLINE s), then any process it left (its kernels) is killed."""
        if self.process is None:
            return None
        children = descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, name in children:
            if (proc_status(pid) or {}).get("Name") == name:
                os.kill(pid, signal.SIGKILL)
        return self.process.returncode


def get(url, cookie="", gzip_ok=False):
    """(status, headers, body as sent) of GET URL."""
    parts = urllib.parse.urlsplit(url)
    headers = {**({"Accept-Encoding": "gzip"} if gzip_ok else {}), **({"Cookie": cookie} if cookie else {})}
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=DEADLINE)
    try:
        connection.request("GET", urllib.parse.urlunsplit(("", "", parts.path, parts.query, "")), headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def start_tejun(server, tejun, token):
    server.argv = [str(tejun), "server", "--port", "0", "--root", str(server.root), "--token", token]

    def url_of():
        found = re.search(r"serving on (http://127\.0\.0\.1:\d+/)\?token=", server.log_path.read_text(errors="replace"))
        return found and found.group(1)

    server.start(server.argv, url_of)


NOTEBOOK_ARGV = ["/usr/bin/python3", "-m", "notebook", "--no-browser", "--NotebookApp.token=TOKEN", "--port=PORT",
                 "--NotebookApp.notebook_dir=ROOT", "--NotebookApp.allow_root=True", "--ip=127.0.0.1",
                 "--NotebookApp.port_retries=0"]


def start_notebook(server, token):
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server.argv = [part.replace("TOKEN", token).replace("PORT", str(port)).replace("ROOT", str(server.root))
                   for part in NOTEBOOK_ARGV]

    def url_of():
        try:
            status, _, _ = get(f"http://127.0.0.1:{port}/api")
        except OSError:
            return None
        return f"http://localhost:{port}/" if status == 200 else None

    server.start(server.argv, url_of)


# --- sizes ---------------------------------------------------------------------------------


def measure_sizes(assets, cookie):
    """Each JS / CSS asset fetched again: {"url", "kind", "phase", "sent", "raw", "gzip6", "encoding"}."""
    measured = []
    for asset in assets:
        if asset["kind"] not in ("js", "css"):
            continue
        status, headers, body = get(asset["url"], cookie, gzip_ok=True)
        if status != 200:
            raise Failure(f"GET {asset['url']} answered {status} the second time")
        encoding = headers.get("Content-Encoding", "")
        raw = gzip.decompress(body) if encoding == "gzip" else body
        measured.append({**asset, "sent": len(body), "raw": len(raw), "encoding": encoding or "none",
                         "gzip6": len(gzip.compress(raw, compresslevel=6, mtime=0))})
    return measured


def check_tejun_page(base, cookie, measured):
    """Every script and stylesheet {base}ui/ names must be among the measured assets."""
    status, _, body = get(base + "ui/", cookie)
    if status != 200:
        raise Failure(f"GET {base}ui/ answered {status}")
    named = {urllib.parse.urljoin(base + "ui/", ref) for ref in
             re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+\.(?:js|css))"', body.decode())}
    missing = named - {asset["url"] for asset in measured}
    if not named or missing:
        raise Failure(f"assets of {base}ui/ not loaded by the page: {sorted(missing) or 'none found'}")


def size_rows(measured):
    """{"KIND PHASE": {"files", "sent", "raw", "gzip6"}}, with "all" phases and "js+css" kinds."""
    rows = {}
    for asset in measured:
        for kind in (asset["kind"], "js+css"):
            for phase in (asset["phase"], "all"):
                row = rows.setdefault(f"{kind} {phase}", {"files": 0, "sent": 0, "raw": 0, "gzip6": 0})
                row["files"] += 1
                for key in ("sent", "raw", "gzip6"):
                    row[key] += asset[key]
    return rows


# --- the run -------------------------------------------------------------------------------


def summary(samples):
    return {"median": statistics.median(samples), "p90": percentile(samples, 0.9), "min": min(samples),
            "runs": len(samples)}


def machine():
    model = cpu_model()
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    notebook = subprocess.run(["/usr/bin/python3", "-c", "import notebook; print(notebook.__version__)"],
                              capture_output=True, text=True, check=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "chromium": chromium, "notebook": notebook,
            "load": os.getloadavg()[0]}


def run(args, folder, tejun):
    token = secrets.token_hex(16)
    files = folder / "files"
    make_files(files)
    check_files(tejun, files, isolated_environment(folder / "convert-home"))
    tejun_server = Server("tejun server", folder / "tejun", files, isolated_environment(folder / "tejun" / "home"))
    environment = isolated_environment(folder / "notebook" / "home")
    prefix = folder / "notebook" / "prefix"
    subprocess.run([str(tejun), "kernel", "install", "--prefix", str(prefix)], check=True,
                   stdout=subprocess.DEVNULL, env=environment)
    environment.update(JUPYTER_PATH=str(prefix / "share" / "jupyter"), JUPYTER_NO_CONFIG="1",
                       TMPDIR=str(folder / "notebook" / "home"))
    notebook_server = Server("notebook", folder / "notebook", files, environment)
    servers = (tejun_server, notebook_server)
    results = {"machine": machine()}
    try:
        log("starting the servers ...")
        start_tejun(tejun_server, tejun, token)
        start_notebook(notebook_server, token)
        config = {"chromium": "/usr/bin/chromium", "runs": args.runs, "warmups": args.warmups,
                  "profile_parent": str(folder), "cells": CELLS,
                  "tejun": {"base": tejun_server.base, "token": token},
                  "notebook": {"base": notebook_server.base, "token": token}}
        log(f"driving Chromium: {args.warmups} warm-up + {args.runs} rounds ...")
        node = subprocess.run(["node", str(NODE_SCRIPT)], input=json.dumps(config), stdout=subprocess.PIPE,
                              text=True, cwd=REPO)
        if node.returncode != 0:
            raise Failure(f"bench/ui_bench.mjs failed (exit status {node.returncode})")
        browser = json.loads(node.stdout)
        log("measuring the assets ...")
        sizes = {}
        for key, server in (("tejun", tejun_server), ("notebook", notebook_server)):
            sizes[key] = measure_sizes(browser["pages"][key]["assets"], browser["pages"][key]["cookie"])
        check_tejun_page(tejun_server.base, browser["pages"]["tejun"]["cookie"], sizes["tejun"])
    finally:
        codes = {server.label: server.stop() for server in servers}
    results.update(sizes=sizes, rows={key: size_rows(measured) for key, measured in sizes.items()},
                   cold={key: browser["pages"][key]["cold"] for key in ("tejun", "notebook")},
                   opens={label: {key: summary([r[key] for r in runs]) for key in runs[0] if key != "cells"}
                          for label, runs in browser["runs"].items()},
                   load_after=os.getloadavg()[0], problems=browser["problems"], user_agent=browser["userAgent"],
                   exit_status=codes,
                   commands={"tejun": "TEJUN server --port 0 --root ROOT --token TOKEN",
                             "notebook": " ".join(NOTEBOOK_ARGV)})
    return results


# --- the report ----------------------------------------------------------------------------


def kb(size):
    return f"{size / 1000:.1f} kB"


def ms(value):
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def ratio(anchor, ours):
    return f"{anchor / ours:.1f}x" if anchor and ours else ""


SIZE_NAMES = {"sent": "as sent", "gzip6": "gzip -6", "raw": "raw"}


def side_by_side(results):
    """[(label, tejun, notebook, notebook / tejun)]: the sizes, then the opens (tejun's of
    bench-200.md), the medians and the cold ones."""
    rows = []
    empty = {"files": 0, "sent": 0, "raw": 0, "gzip6": 0}
    for kind, phase, label in (("js+css", "all", "JS + CSS"), ("js", "all", "  JS"), ("css", "all", "  CSS"),
                               ("js+css", "open", "  loaded at open"), ("js+css", "edit", "  loaded on edit")):
        t = results["rows"]["tejun"].get(f"{kind} {phase}", empty)
        n = results["rows"]["notebook"].get(f"{kind} {phase}", empty)
        for key in ("sent", "gzip6", "raw") if phase == "all" else ("sent", "gzip6"):
            rows.append((f"{label}: {SIZE_NAMES[key]}", kb(t[key]), kb(n[key]), ratio(n[key], t[key])))
        if (kind, phase) == ("js+css", "all"):
            rows.append((f"{label}: files", str(t["files"]), str(n["files"]), ""))
    opens = {"tejun": results["opens"]["tejun .md"], "notebook": results["opens"]["notebook .ipynb"]}
    for what, values in ((f"open, median of {opens['tejun']['seen']['runs']}",
                          {server: {key: stats["median"] for key, stats in measured.items()}
                           for server, measured in opens.items()}),
                         ("cold open", results["cold"])):
        for key in ("mark", "seen", "drawn"):
            t, n = values["tejun"][key], values["notebook"].get(key)
            rows.append((f"{what}: {key}", ms(t), ms(n) if n else "-", ratio(n, t)))
    return rows


def open_rows(results):
    """[(label, median, p90, min, the notebook's median of the same measure / this median)]"""
    rows = []
    anchor = results["opens"]["notebook .ipynb"]
    for label, measured in results["opens"].items():
        for key in ("mark", "seen", "drawn"):
            if key in measured:
                stats = measured[key]
                mine = key == "mark" or label.startswith("notebook")
                rows.append((f"{label}: {key}", ms(stats["median"]), ms(stats["p90"]), ms(stats["min"]),
                             "" if mine else ratio(anchor[key]["median"], stats["median"])))
    return rows


def bars(results):
    size = results["rows"]["tejun"]["js+css all"]["sent"]
    median = results["opens"]["tejun .md"]["mark"]["median"]
    return [(f"tejun's UI JS + CSS as sent (gzip) < {kb(SIZE_BAR)}", kb(size), size < SIZE_BAR),
            (f"tejun's median open of bench-200.md (mark) < {OPEN_BAR} ms", ms(median), median < OPEN_BAR)]


def table(header, rows, markdown=False):
    if markdown:
        print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(cell.strip() for cell in r) + " |")
        return
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for r in (header, *rows):
        print(f"{r[0]:<{widths[0]}}  " + "  ".join(f"{r[i]:>{widths[i]}}" for i in range(1, len(header))))


def print_report(results):
    m = results["machine"]
    runs = results["opens"]["tejun .md"]["seen"]["runs"]
    print(f"machine:  {m['nproc']} CPUs, {m['cpu']}; load average (1 min) {m['load']:.2f} before the run, "
          f"{results['load_after']:.2f} after")
    print(f"browser:  {m['chromium']}, headless ({results['user_agent']}), viewport 1280x800")
    print(f"tejun:    {results['commands']['tejun']}")
    print(f"notebook: {results['commands']['notebook']}  (notebook {m['notebook']})")
    print()
    sizes = ("", "tejun", f"notebook {m['notebook']}", "notebook / tejun")
    opens = (f"open, ms since navigation start ({runs} runs)", "median", "p90", "min", "notebook / this")
    table(sizes, side_by_side(results))
    print()
    table(opens, open_rows(results))
    print()
    for label in ("tejun", "notebook"):
        biggest = sorted(results["sizes"][label], key=lambda a: -a["sent"])[:5]
        print(f"{label}'s biggest assets, as sent: " + ", ".join(
            f"{urllib.parse.urlsplit(a['url']).path.rsplit('/', 1)[-1]} {kb(a['sent'])} ({a['encoding']})"
            for a in biggest))
    print()
    for label, value, ok in bars(results):
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    print()
    for label, problems in results["problems"].items():
        print(f"{label}: {sum(problems.values())} console errors, page errors, failed requests" +
              "".join(f"\n  {count} x {text[:300]}" for text, count in problems.items()))
    if any(code not in (0, None) for code in results["exit_status"].values()):
        print(f"exit status after SIGTERM: {results['exit_status']}")
    print("\nMarkdown, for docs/benchmarks.md:\n")
    table(sizes, side_by_side(results), markdown=True)
    print()
    table(opens, open_rows(results), markdown=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed opens of each (default 15)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed opens of each before those (default 2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    args = parser.parse_args()
    if args.runs < 1 or args.warmups < 0:
        parser.error("--runs must be at least 1, --warmups at least 0")
    tejun = pathlib.Path(os.environ.get("TEJUN") or REPO / "build" / "release" / "tejun").absolute()
    if not tejun.is_file():
        raise SystemExit(f"no tejun binary at {tejun} (set TEJUN)")
    with tempfile.TemporaryDirectory(prefix="tejun-ui-bench-") as folder:
        try:
            results = run(args, pathlib.Path(folder), tejun)
        except Failure as failure:
            log(f"FAILED: {failure}")
            sys.exit(1)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    else:
        print_report(results)


if __name__ == "__main__":
    main()
