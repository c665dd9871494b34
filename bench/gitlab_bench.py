#!/usr/bin/python3
"""GitLab and HTTP steps of the tejun kernel against python-gitlab, requests and curl, side by
side, on the GitLab stand-in (tests/python/gitlab_fake.py: the shared gitlab-fake, `node
server.mjs --port 0 --data example`, on 127.0.0.1).

Both kernels are started through jupyter_client (KernelManager, from kernelspecs written into
the temporary folder: tejun's argv `TEJUN kernel -f {connection_file}`, ipykernel's the argv of
the python3 kernelspec, Debian's `/usr/bin/python3 -m ipykernel_launcher`), are alive together,
and are driven by BlockingKernelClients. A cell is timed from execute_request sent to
execute_reply received; arrival times are taken when zmq reports the reply ready on the socket,
before jupyter_client decodes it. Both kernels get GITLAB_URL (the fake), GITLAB_PROJECT_ID=43
and root's token in GITLAB_ACCESS_TOKEN; HOME, IPYTHONDIR and the Jupyter and XDG folders are in
a temporary folder.

  variables  The CI/CD variables a job on environment `production` sees for project 43
             platform/sre/oncall, walked as root over four levels (instance, group platform,
             group platform/sre, project), set in the session.
             tejun:     `%gitlab variables --environment production`, after a warm-up cell
                        `%gitlab connect`.
             ipykernel: python-gitlab, `gl = gitlab.Gitlab(url, private_token=...)` made in a
                        warm-up cell; the timed cell (VARIABLES_PY below) lists
                        gl.variables, gl.groups.get('platform').variables,
                        gl.groups.get('platform/sre').variables and gl.projects.get(43).variables
                        (get_all=True), merges them by level and, within a level, by scope
                        (exact > wildcard > *), expands $NAME in values that are not raw, and
                        sets os.environ.
             Before each round an untimed cell unsets the variables in each kernel; after it an
             untimed cell prints them from the session (a shell step in tejun, os.environ in
             ipykernel) and the script stops unless every one holds what the fake's README
             says a job sees (REGION=us-east-1, ...; the masked PAGER_KEY through its SHA-256).
             Also counted: the API requests one load makes (the fake's request log).
  http       One GET /api/v4/user with the PRIVATE-TOKEN header, the body shown.
             tejun:     a `%%http` cell (GET {GITLAB_URL}/api/v4/user + the header).
             ipykernel: `requests.get(...)`, then print the status and the JSON, indented, in a
                        session where `import requests` ran in a warm-up cell.
             curl:      `curl -s -H "PRIVATE-TOKEN: $GITLAB_ACCESS_TOKEN" $GITLAB_URL/api/v4/user`,
                        a fresh process: wall time of the process.
             Every answer is checked (status 200, username root).
  demo       The whole demo runbook headless, each run a fresh `tejun run` process from a
             folder holding copies of the examples, on a PostgreSQL server of its own
             (tests/python/postgres_cluster.py), project 42's DB_* variables pointed at it
             through the API as alice (as tests/gitlab/test_demo.py does), GITLAB_PROJECT_ID=42
             and alice's token in the environment:
             tejun:     tejun run examples/gitlab-demo.md out.ipynb
             ipykernel: tejun run -k python3 examples/gitlab-demo-python.ipynb out.ipynb
             Wall time of the process. Each output is checked as test_demo.py checks it (exit 0,
             a valid notebook, every step run, none failed, rows from the server as the demo's
             role, pg_isready's answer, no secret in the notebook or the run's output).

For variables and http: one warm-up round that is not counted, then --runs rounds (default 30,
--quick 5), each tejun then ipykernel (then curl); median and p90 (nearest rank). Kernel RSS
(VmRSS, and VmHWM, the lifetime peak) from /proc after each of the two. For demo: one warm-up
round, then --demo-runs rounds (default 5, --quick 2), each tejun then ipykernel; the median.
Ratios are anchor / tejun (above 1: tejun is faster).

The script stops with exit status 1 at the first run that fails or whose output is wrong.

Usage: bench/gitlab_bench.py [--tejun build/release/tejun] [--runs 30] [--demo-runs 5] [--quick]
                             [--json]
       (TEJUN in the environment sets the default of --tejun)
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import pathlib
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from bench_support import isolated_environment, kib, proc_status, timed_cell
from kernel_bench import ipykernel_argv, percentile
from sql_bench import HEAVY_SEEN, commit, heavy_processes, load, machine, shown_path

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "python"))
from gitlab_fake import ALICE_TOKEN, ROOT_TOKEN, GitlabFake  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402

DEADLINE = 120  # seconds for one cell, one curl or one demo run
PROJECT, PROJECT_PATH, ENVIRONMENT = 43, "platform/sre/oncall", "production"

# What a job on `production` sees for platform/sre/oncall, walked as root (gitlab-fake's README,
# "What a job sees"). PAGER_KEY is masked: it is compared through its SHA-256.
PAGER_KEY = "pgr-Sre-Key-0021"
EXPECTED = {
    "ALERT_CHANNEL": "#sre-oncall",
    "DEPLOY_HOST": "prod.sre.example.internal",
    "LOG_LEVEL": "debug",
    "NOTIFY_URL": "https://notify.example.com/us-east-1",  # the instance's $REGION, expanded
    "REGION": "us-east-1",
    "RUNBOOK_URL": "https://runbooks.example.com/oncall",
    "SCHEDULE_URL": "https://oncall.example.com/schedules/$SCHEDULE_ID",  # raw: never expanded
    "SERVICE_NAME": "oncall",
    "PAGER_KEY_SHA256": hashlib.sha256(PAGER_KEY.encode()).hexdigest(),
}
KEYS = [key for key in EXPECTED if key != "PAGER_KEY_SHA256"] + ["PAGER_KEY"]
LOADED = f"loaded {len(KEYS)} variables from {PROJECT_PATH} (environment {ENVIRONMENT})"

TEJUN_CELLS = {
    "connect": "%gitlab connect",
    "variables": f"%gitlab variables --environment {ENVIRONMENT}",
    "unset": "unset " + " ".join(KEYS),
    "check": ("for name in " + " ".join(k for k in KEYS if k != "PAGER_KEY") + "; do\n"
              "  printf '%s=%s\\n' \"$name\" \"${!name-<unset>}\"\n"
              "done\n"
              "printf 'PAGER_KEY_SHA256=%s\\n' \"$(printf '%s' \"$PAGER_KEY\" | sha256sum | cut -d' ' -f1)\""),
    "http": "%%http\nGET {GITLAB_URL}/api/v4/user\nPRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}",
}
VARIABLES_PY = f"""\
environment = {ENVIRONMENT!r}
levels = [gl.variables.list(get_all=True),  # instance (admins only)
          gl.groups.get('platform').variables.list(get_all=True),
          gl.groups.get('platform/sre').variables.list(get_all=True),
          gl.projects.get({PROJECT}).variables.list(get_all=True)]


def rank(scope):
    \"\"\"2 the environment itself, 1 a wildcard scope matching it, 0 '*', None no match.\"\"\"
    if scope == environment:
        return 2
    if scope == '*':
        return 0
    return 1 if '*' in scope and fnmatch.fnmatchcase(environment, scope) else None


job = {{}}  # key: variable; a later level wins, within a level the best scope
for variables in levels:
    best = {{}}
    for variable in variables:
        r = rank(getattr(variable, 'environment_scope', '*'))  # instance variables have no scope
        if r is not None and r > best.get(variable.key, (-1, None))[0]:
            best[variable.key] = (r, variable)
    job.update({{key: variable for key, (r, variable) in best.items()}})
values = {{key: variable.value for key, variable in job.items()}}
for key, variable in job.items():  # $NAME and ${{NAME}} from the job's variables, unless raw
    if not getattr(variable, 'raw', False):
        values[key] = REFERENCE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), variable.value)
os.environ.update(values)
print(f'loaded {{len(values)}} variables from {PROJECT_PATH} (environment {{environment}})')"""
PYTHON_CELLS = {
    "connect": ("import fnmatch, hashlib, json, os, re\n"
                "import gitlab\n"
                "import requests\n\n"
                "gl = gitlab.Gitlab(os.environ['GITLAB_URL'], private_token=os.environ['GITLAB_ACCESS_TOKEN'])\n"
                "HEADERS = {'PRIVATE-TOKEN': os.environ['GITLAB_ACCESS_TOKEN']}\n"
                "REFERENCE = re.compile(r'\\$(?:\\{(\\w+)\\}|(\\w+))')"),
    "variables": VARIABLES_PY,
    "unset": f"for name in {KEYS!r}:\n    os.environ.pop(name, None)",
    "check": (f"for name in {[k for k in KEYS if k != 'PAGER_KEY']!r}:\n"
              "    print(f\"{name}={os.environ.get(name, '<unset>')}\")\n"
              "print('PAGER_KEY_SHA256=' + hashlib.sha256(os.environ.get('PAGER_KEY', '').encode()).hexdigest())"),
    "http": ("r = requests.get(os.environ['GITLAB_URL'] + '/api/v4/user', headers=HEADERS, timeout=30)\n"
             "print(r.status_code)\n"
             "print(json.dumps(r.json(), indent=2))"),
}
CURL_SHOWN = 'curl -s -H "PRIVATE-TOKEN: $GITLAB_ACCESS_TOKEN" "$GITLAB_URL/api/v4/user"'

# The demo's database role (tests/gitlab/test_demo.py): its password can be a masked GitLab variable.
DB_USER, DB_PASSWORD, DB_NAME = "runbook_ro", "Demo-Db-Passw0rd-4711", "inventory"
DEMOS = {  # kernel: (runbook, extra arguments before it)
    "tejun": ("gitlab-demo.md", []),
    "ipykernel": ("gitlab-demo-python.ipynb", ["-k", "python3"]),
}
DATARESOURCE = "application/vnd.dataresource+json"

SECRETS = []  # never printed


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def redacted(text):
    for secret in SECRETS:
        text = text.replace(secret, "***")
    return text


def fail(message):
    """A run that failed or gave a wrong output: stop, so that it cannot pass for a figure."""
    log(redacted(f"gitlab_bench: measurement wrong: {message}"))
    sys.exit(1)


# ---- kernels through jupyter_client ----

class Kernel:
    """One kernel started by jupyter_client's KernelManager from a kernelspec written into the
    temporary folder, its output going to a log file, with a BlockingKernelClient."""

    def __init__(self, name, argv, folder, environment):
        self.name = name
        kernels = folder / "kernels"
        (kernels / name).mkdir(parents=True, exist_ok=True)
        (kernels / name / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": name, "language": "bash" if name == "tejun" else "python"}),
            encoding="utf-8")
        self.work = folder / f"work-{name}"
        self.work.mkdir(exist_ok=True)
        self.log_path = folder / f"kernel-{name}.log"
        self._log = open(self.log_path, "wb")
        self.manager = KernelManager(kernel_name=name,
                                     kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
                                     connection_file=str(folder / f"kernel-{uuid.uuid4().hex}.json"))
        self.manager.start_kernel(cwd=str(self.work), env=environment, stdout=self._log, stderr=self._log)
        self.pid = self.manager.provisioner.process.pid
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=60)
        except RuntimeError as error:
            self.stop()
            fail(f"the {name} kernel did not answer: {error}")

    def status(self):
        return proc_status(self.pid) or fail(f"the {self.name} kernel (pid {self.pid}) is gone")

    def memory(self):
        status = self.status()
        return {"rss_kib": kib(status.get("VmRSS")), "peak_kib": kib(status.get("VmHWM"))}

    def cell(self, code, timeout=DEADLINE):
        """Runs one cell. Returns {"reply": content, "reply_s": seconds from execute_request sent to
        execute_reply received, "iopub": [(msg_type, content)] for that request, up to idle}."""
        reply, reply_s, seen = timed_cell(self.client, code, timeout,
                                          lambda message: fail(f"{self.name}: {message}"))
        messages = [(kind, content) for _, kind, content in seen if kind not in ("status", "execute_input")]
        if reply["status"] != "ok":
            errors = "".join(f"\n  {content.get('text', '')}" for kind, content in messages if kind == "stream")
            fail(f"{self.name}: cell {code!r} failed: {reply.get('ename')}: {reply.get('evalue')}{errors}")
        return {"reply": reply, "reply_s": reply_s, "iopub": messages}

    def stop(self):
        try:
            self.client.stop_channels()
            self.manager.shutdown_kernel(now=False)
        finally:
            self._log.close()


def stdout_of(result):
    return "".join(content["text"] for kind, content in result["iopub"]
                   if kind == "stream" and content["name"] == "stdout")


def displays_of(result):
    return [content["data"] for kind, content in result["iopub"] if kind in ("display_data", "execute_result")]


def assignments(text):
    """NAME=value lines as a dict."""
    found = {}
    for line in text.splitlines():
        name, equals, value = line.partition("=")
        if equals:
            found[name] = value
    return found


# ---- variables ----

def check_loaded(name, result):
    """The load cell's own output: tejun's display (header line naming the project and the
    environment, 9 variables), ipykernel's line."""
    if name == "tejun":
        shown = displays_of(result)
        text = shown[0].get("text/plain", "") if len(shown) == 1 else ""
        if not text.startswith(LOADED + ":"):
            fail(f"tejun's %gitlab variables showed {[d.get('text/plain', '')[:200] for d in shown]!r}, "
                 f"not a table headed {LOADED!r}")
    elif stdout_of(result).strip() != LOADED:
        fail(f"the python-gitlab cell printed {stdout_of(result)!r}, not {LOADED!r}")


def check_session(kernels):
    """Both sessions hold what a job on production sees (the check cells, untimed)."""
    for name, kernel in kernels.items():
        cells = TEJUN_CELLS if name == "tejun" else PYTHON_CELLS
        seen = assignments(stdout_of(kernel.cell(cells["check"])))
        if seen != EXPECTED:
            wrong = {key: seen.get(key) for key in EXPECTED if seen.get(key) != EXPECTED[key]}
            fail(f"{name}: after the load the session holds {wrong} (expected "
                 f"{ {key: EXPECTED[key] for key in wrong} })")


def unset(kernels):
    for name, kernel in kernels.items():
        cells = TEJUN_CELLS if name == "tejun" else PYTHON_CELLS
        kernel.cell(cells["unset"])
        seen = assignments(stdout_of(kernel.cell(cells["check"])))
        if (any(seen.get(key) != "<unset>" for key in KEYS if key != "PAGER_KEY")
                or seen.get("PAGER_KEY_SHA256") != hashlib.sha256(b"").hexdigest()):
            fail(f"{name}: the variables are still set after the unset cell: {seen}")


def variables(args, fake, kernels):
    times = {name: [] for name in kernels}
    requests = {}
    for round_number in range(args.runs + 1):
        unset(kernels)
        shown = []
        for name, kernel in kernels.items():
            cells = TEJUN_CELLS if name == "tejun" else PYTHON_CELLS
            if round_number == 0:
                fake.clear_requests()
            result = kernel.cell(cells["variables"])
            if round_number == 0:
                requests[name] = [f"{r['method']} {r['path']}" for r in fake.requests("/api/v4/")]
            else:
                times[name].append(result["reply_s"])
            check_loaded(name, result)
            shown.append(f"{name} {result['reply_s'] * 1000:.1f}")
        check_session(kernels)
        alongside = heavy_processes()
        log(f"variables {'warm-up round' if round_number == 0 else f'round {round_number}/{args.runs}'}: "
            f"{', '.join(shown)} ms" + (f" [alongside: {alongside}]" if alongside != "none" else ""))
    return {"cells": {name: (TEJUN_CELLS if name == "tejun" else PYTHON_CELLS)["variables"] for name in kernels},
            "runs": times, "requests": requests,
            "memory": {name: kernel.memory() for name, kernel in kernels.items()}}


# ---- http ----

def check_user(what, status, body):
    try:
        user = json.loads(body)
    except ValueError:
        fail(f"{what}: the body is not JSON: {body[:300]!r}")
    if status != 200 or not isinstance(user, dict) or user.get("username") != "root":
        fail(f"{what}: status {status}, user {user.get('username') if isinstance(user, dict) else user!r}, "
             "not 200 and root")


def check_http(name, result):
    if name == "tejun":
        shown = displays_of(result)
        if len(shown) != 1:
            fail(f"tejun's %%http showed {len(shown)} displays, not one")
        text = shown[0].get("text/plain", "")
        status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else None
        check_user("tejun %%http", status, json.dumps(shown[0].get("application/json")))
    else:
        status, _, body = stdout_of(result).partition("\n")
        check_user("requests in ipykernel", int(status) if status.isdigit() else None, body)


def curl(fake, environment, folder):
    """Seconds of one `curl -s` process; its answer is checked."""
    command = ["curl", "-s", "-H", f"PRIVATE-TOKEN: {ROOT_TOKEN}", f"{fake.url}/api/v4/user"]
    out_path = folder / "curl.out"
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=folder, env=environment, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
        _, status, _ = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    body = out_path.read_text(errors="replace")
    if code != 0:
        fail(f"curl exit status {code}: {body[:300]}")
    check_user("curl", 200, body)
    return elapsed


def http(args, fake, kernels, environment, folder):
    times = {name: [] for name in (*kernels, "curl")}
    for round_number in range(args.runs + 1):
        shown = []
        for name, kernel in kernels.items():
            result = kernel.cell((TEJUN_CELLS if name == "tejun" else PYTHON_CELLS)["http"])
            check_http(name, result)
            shown.append(f"{name} {result['reply_s'] * 1000:.1f}")
            if round_number:
                times[name].append(result["reply_s"])
        elapsed = curl(fake, environment, folder)
        shown.append(f"curl {elapsed * 1000:.1f}")
        if round_number:
            times["curl"].append(elapsed)
        alongside = heavy_processes()
        log(f"http {'warm-up round' if round_number == 0 else f'round {round_number}/{args.runs}'}: "
            f"{', '.join(shown)} ms" + (f" [alongside: {alongside}]" if alongside != "none" else ""))
    return {"cells": {name: (TEJUN_CELLS if name == "tejun" else PYTHON_CELLS)["http"] for name in kernels},
            "curl": CURL_SHOWN, "runs": times,
            "memory": {name: kernel.memory() for name, kernel in kernels.items()}}


# ---- demo ----

def point_the_variables_at(fake, cluster):
    """As alice, through the REST API (tests/gitlab/test_demo.py): ops/runbooks' DB_* variables
    name the cluster; DB_ENDPOINT the project's `production` one."""
    cluster.psql(f"create role {DB_USER} login password '{DB_PASSWORD}'", database="postgres")
    cluster.psql(f"create database {DB_NAME}", database="postgres")
    for key, value in {"DB_USER": DB_USER, "DB_PASSWORD": DB_PASSWORD, "DB_NAME": DB_NAME}.items():
        fake.api("PUT", f"/projects/42/variables/{key}", ALICE_TOKEN, json={"value": value}, expect=200)
    fake.api("PUT", "/projects/42/variables/DB_ENDPOINT", ALICE_TOKEN, json={"value": f"127.0.0.1:{cluster.port}"},
             params={"filter[environment_scope]": "production"}, expect=200)


def output_lines(notebook):
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                lines.extend(output["text"].splitlines())
            elif output["output_type"] in ("display_data", "execute_result"):
                lines.extend(str(output["data"].get("text/plain", "")).splitlines())
    return lines


def check_demo(name, work, done, cluster):
    """As tests/gitlab/test_demo.py: exit 0, a valid notebook, every step run and none failed,
    rows from the server as the demo's role, pg_isready's answer, no secret anywhere."""
    what = f"{name} demo"
    saved_path = work / "out.ipynb"
    if not saved_path.is_file():
        fail(f"{what}: no out.ipynb (exit {done.returncode}): {done.stderr[-2000:]}")
    saved = saved_path.read_text(encoding="utf-8")
    for secret in SECRETS:
        for text, where in ((saved, "the saved notebook"), (done.stdout, "its stdout"), (done.stderr, "its stderr")):
            if secret in text:
                fail(f"{what}: a secret ({secret[:4]}...) is in {where}")
    if done.returncode != 0:
        fail(f"{what}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    notebook = nbformat.reads(saved, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        if cell.source.strip() and not isinstance(cell.execution_count, int):
            fail(f"{what}: a step did not run: {cell.source[:200]!r}")
        errors = [o for o in cell.outputs if o["output_type"] == "error"]
        if errors:
            fail(f"{what}: a step failed: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    lines = output_lines(notebook)
    if not any("@alice" in line for line in lines):
        fail(f"{what}: no output says @alice")
    if not any("accepting connections" in line for line in lines):
        fail(f"{what}: no output holds pg_isready's 'accepting connections'")
    if name == "tejun":
        rows = []
        for cell in code:
            for output in cell.outputs:
                resource = output.get("data", {}).get(DATARESOURCE)
                if isinstance(resource, str):
                    resource = json.loads(resource)
                rows.extend((resource or {}).get("data", []))
        found = any(DB_USER in row.values() and DB_NAME in row.values() for row in rows)
        if not any(f"127.0.0.1:{cluster.port}" in line for line in lines):
            fail(f"{what}: DB_ENDPOINT is not the cluster's 127.0.0.1:{cluster.port}")
    else:
        found = any({DB_USER, DB_NAME} <= {c.strip() for c in line.split("|")} for line in lines)
    if not found:
        fail(f"{what}: no row from the server as {DB_USER} on {DB_NAME}")


def demo(args, fake, folder, environment):
    with PostgresCluster() as cluster:
        SECRETS.extend({cluster.password, urllib.parse.quote(cluster.password, safe="")})
        point_the_variables_at(fake, cluster)
        environment = {name: value for name, value in environment.items()
                       if not name.startswith(("GITLAB_", "CI_", "PG"))
                       and name not in ("PRIVATE_TOKEN", "DATABASE_URL", "TMPDIR")}
        commands, times = {}, {name: [] for name in DEMOS}
        for round_number in range(args.demo_runs + 1):
            shown = []
            for name, (runbook, options) in DEMOS.items():
                work = folder / f"demo-{name}"
                shutil.rmtree(work, ignore_errors=True)
                (work / "examples").mkdir(parents=True)
                (work / "tmp").mkdir()
                shutil.copy(REPO / "examples" / runbook, work / "examples" / runbook)
                arguments = [*options, f"examples/{runbook}", "out.ipynb"]
                commands[name] = shlex.join(["tejun", "run", *arguments])
                run_environment = dict(environment, GITLAB_URL=fake.url, GITLAB_PROJECT_ID="42",
                                       GITLAB_ACCESS_TOKEN=ALICE_TOKEN, TMPDIR=str(work / "tmp"),
                                       PYDEVD_DISABLE_FILE_VALIDATION="1")
                os.sync()
                start = time.perf_counter()
                done = subprocess.run([str(args.tejun), "run", *arguments], cwd=work, env=run_environment,
                                      stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DEADLINE)
                elapsed = time.perf_counter() - start
                check_demo(name, work, done, cluster)
                shown.append(f"{name} {elapsed * 1000:.0f}")
                if round_number:
                    times[name].append(elapsed)
            alongside = heavy_processes()
            log(f"demo {'warm-up round' if round_number == 0 else f'round {round_number}/{args.demo_runs}'}: "
                f"{', '.join(shown)} ms" + (f" [alongside: {alongside}]" if alongside != "none" else ""))
        server = cluster.psql("select version()").strip()
    return {"commands": commands, "runs": times, "server": server}


# ---- the report ----

def ms(seconds):
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def mib(value_kib):
    return f"{value_kib / 1024:.1f} MiB"


def summarise(results):
    rows = []

    def timed(label, tejun, anchor, anchor_name):
        for what, get in (("median", statistics.median), ("p90", lambda s: percentile(s, 0.9))):
            t, a = get(tejun), get(anchor)
            rows.append((f"{label}, {what} of {len(tejun)}", ms(t), f"{anchor_name} {ms(a)}", f"{a / t:.1f}x"))

    var, web, run = results["variables"], results["http"], results["demo"]
    timed("variables: 4 levels, production, set in the session", var["runs"]["tejun"], var["runs"]["ipykernel"],
          "python-gitlab")
    rows.append(("variables: API requests per load", str(len(var["requests"]["tejun"])),
                 f"python-gitlab {len(var['requests']['ipykernel'])}", ""))
    for when, measured in (("variables", var), ("http", web)):
        t, i = measured["memory"]["tejun"], measured["memory"]["ipykernel"]
        rows.append((f"kernel RSS after the {when} rounds", mib(t["rss_kib"]), f"ipykernel {mib(i['rss_kib'])}",
                     f"{i['rss_kib'] / t['rss_kib']:.1f}x"))
        rows.append((f"kernel peak RSS (VmHWM) after the {when} rounds", mib(t["peak_kib"]),
                     f"ipykernel {mib(i['peak_kib'])}", f"{i['peak_kib'] / t['peak_kib']:.1f}x"))
    timed("http: GET /api/v4/user, shown", web["runs"]["tejun"], web["runs"]["ipykernel"], "requests")
    timed("http: GET /api/v4/user, against a process", web["runs"]["tejun"], web["runs"]["curl"], "curl -s")
    t, i = run["runs"]["tejun"], run["runs"]["ipykernel"]
    rows.append((f"demo runbook, tejun run, median of {len(t)}", ms(statistics.median(t)),
                 f"ipykernel {ms(statistics.median(i))}", f"{statistics.median(i) / statistics.median(t):.1f}x"))
    rows.append(("demo runbook, min", ms(min(t)), f"ipykernel {ms(min(i))}", f"{min(i) / min(t):.1f}x"))
    return rows


def report(results, rows):
    info = results["info"]
    print(f"command: {info['command']}")
    print(f"tejun: {info['tejun']}, commit {info['commit']}")
    print(f"machine: {info['machine']['nproc']} CPUs ({info['machine']['cpu']}), {info['machine']['memory_gib']} GiB, "
          f"Linux {info['machine']['kernel']}")
    print(f"anchors: {info['anchors']}")
    print(f"GitLab stand-in: {info['fake']}; PostgreSQL: {results['demo']['server']}")
    print(f"other heavy processes: at start {info['heavy_at_start']}; at end {info['heavy_at_end']}; "
          f"seen at any check between measurements: {info['heavy_seen']}; "
          f"load average at start {info['load_at_start']}, at end {info['load_at_end']}")
    var, web, run = results["variables"], results["http"], results["demo"]
    print()
    print("variables (after a warm-up cell in each kernel; execute_request to execute_reply):")
    print(f"  tejun:     {var['cells']['tejun']!r} after {TEJUN_CELLS['connect']!r}")
    print("  ipykernel: after the warm-up cell")
    for line in PYTHON_CELLS["connect"].splitlines():
        print(f"               {line}")
    print("             the cell")
    for line in var["cells"]["ipykernel"].splitlines():
        print(f"               {line}")
    for name in ("tejun", "ipykernel"):
        print(f"  {name} runs (ms): {', '.join(f'{t * 1000:.1f}' for t in var['runs'][name])}")
        print(f"  {name} API requests per load: {', '.join(var['requests'][name])}")
    print("http:")
    print(f"  tejun:     {web['cells']['tejun']!r}")
    print(f"  ipykernel: {web['cells']['ipykernel']!r}")
    print(f"  curl:      {web['curl']}")
    for name in ("tejun", "ipykernel", "curl"):
        print(f"  {name} runs (ms): {', '.join(f'{t * 1000:.1f}' for t in web['runs'][name])}")
    print("demo (wall time of the process, from a folder holding copies of the examples):")
    for name in ("tejun", "ipykernel"):
        print(f"  {name}: {run['commands'][name]}")
        print(f"  {name} runs (ms): {', '.join(f'{t * 1000:.0f}' for t in run['runs'][name])}")
    print()
    print("| measurement | tejun | anchor | anchor / tejun |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def versions(tejun, fake):
    curl_version = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    ipykernel = subprocess.run([ipykernel_argv()[0], "-c", "import ipykernel; print(ipykernel.__version__)"],
                               capture_output=True, text=True).stdout.strip()
    gitlab_version = fake.api("GET", "/version", ROOT_TOKEN, expect=200).data["version"]
    return {"tejun": (f"{subprocess.run([tejun, '--version'], capture_output=True, text=True).stdout.strip()}"
                      f" ({shown_path(tejun)})"),
            "anchors": (f"ipykernel {ipykernel} ({shlex.join(ipykernel_argv())}), "
                        f"python-gitlab {importlib.metadata.version('python-gitlab')}, "
                        f"requests {importlib.metadata.version('requests')}, {' '.join(curl_version.split()[:2])}"),
            "fake": f"gitlab-fake (reports {gitlab_version}) on node {node}, {fake.url.rsplit(':', 1)[0]}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default=os.environ.get("TEJUN", str(REPO / "build/release/tejun")),
                        help="the tejun binary (default: $TEJUN, else build/release/tejun in the repository)")
    parser.add_argument("--runs", type=int, help="timed rounds of variables and http after one warm-up (default 30)")
    parser.add_argument("--demo-runs", type=int, help="timed demo rounds after one warm-up (default 5)")
    parser.add_argument("--quick", action="store_true", help="5 rounds and 2 demo rounds unless told otherwise")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    args.runs = args.runs or (5 if args.quick else 30)
    args.demo_runs = args.demo_runs or (2 if args.quick else 5)
    if args.runs < 1 or args.demo_runs < 1:
        parser.error("--runs and --demo-runs must be at least 1")
    args.tejun = pathlib.Path(args.tejun).resolve()
    if not args.tejun.is_file():
        sys.exit(f"no tejun binary at {args.tejun} (--tejun PATH or TEJUN=PATH)")
    if shutil.which("curl") is None:
        sys.exit("no curl on PATH (Debian: apt-get install curl)")

    command = shlex.join([sys.executable, *sys.argv])
    if "TEJUN" in os.environ:
        command = f"TEJUN={shlex.quote(os.environ['TEJUN'])} {command}"
    info = {"command": command, "commit": commit(), "machine": machine(),
            "heavy_at_start": heavy_processes(), "load_at_start": load()}
    if info["heavy_at_start"] != "none":
        log(f"gitlab_bench: warning: running alongside {info['heavy_at_start']}: the timings will be distorted")
    SECRETS.extend((ROOT_TOKEN, ALICE_TOKEN, DB_PASSWORD, PAGER_KEY))
    with tempfile.TemporaryDirectory(prefix="tejun-gitlab-bench-") as folder, GitlabFake() as fake:
        folder = pathlib.Path(folder)
        environment = {name: value for name, value in isolated_environment(folder / "home").items()
                       if not name.startswith(("GITLAB_", "CI_", "PG"))
                       and name not in ("PRIVATE_TOKEN", "DATABASE_URL")}
        info.update(versions(args.tejun, fake))
        kernel_environment = dict(environment, GITLAB_URL=fake.url, GITLAB_PROJECT_ID=str(PROJECT),
                                  GITLAB_ACCESS_TOKEN=ROOT_TOKEN, PYDEVD_DISABLE_FILE_VALIDATION="1")
        kernels = {}
        try:
            kernels["tejun"] = Kernel("tejun", [str(args.tejun), "kernel", "-f", "{connection_file}"], folder,
                                      kernel_environment)
            kernels["ipykernel"] = Kernel("ipykernel", ipykernel_argv(), folder, kernel_environment)
            said = stdout_of(kernels["tejun"].cell(TEJUN_CELLS["connect"]))
            if "as @root" not in said or f"{PROJECT_PATH} (#{PROJECT})" not in said:
                fail(f"%gitlab connect printed {said!r}")
            kernels["ipykernel"].cell(PYTHON_CELLS["connect"])
            results = {"info": info, "variables": variables(args, fake, kernels)}
            fake.clear_requests()
            results["http"] = http(args, fake, kernels, environment, folder)
        finally:
            for kernel in kernels.values():
                kernel.stop()
        fake.clear_requests()
        results["demo"] = demo(args, fake, folder, environment)
    info["heavy_at_end"] = heavy_processes()
    info["heavy_seen"] = ", ".join(sorted(HEAVY_SEEN)) or "none"
    info["load_at_end"] = load()
    rows = summarise(results)
    if args.json:
        json.dump({**results, "table": rows}, sys.stdout, indent=1)
        print()
        return
    report(results, rows)


if __name__ == "__main__":
    main()
