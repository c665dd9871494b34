"""The browser tests of tejun's web UI, end to end: a real PostgreSQL, a real `tejun server`, and
Debian's Chromium driven by playwright-core from Node's test runner (tests/e2e/*.test.mjs).

    TEJUN=$PWD/build/debug/tejun /usr/bin/python3 tests/e2e/run_e2e.py [--screenshots DIR] [--grep RE] [FILE...]

1. starts a throwaway PostgreSQL 15 (tests/python/postgres_cluster.py);
2. makes a temporary root folder: a copy of examples/ and the tests' own runbooks in e2e/;
3. starts `$TEJUN server --port 0 --root ROOT --token TOKEN` with DB_USER, DB_PASSWORD,
   DB_ENDPOINT and DB_NAME of that cluster in its environment (its kernels inherit them, as a
   CI job gets GitLab's variables);
4. runs `node --test` on the test files with TEJUN_URL (the server's base URL), TEJUN_TOKEN,
   TEJUN_ROOT, TEJUN_DB_PASSWORD and, with --screenshots or $TEJUN_SCREENSHOTS, TEJUN_SCREENSHOTS
   (the folder the tests save their screenshots in);
5. stops the server (SIGTERM) and the cluster, whatever happened (a failure, Ctrl-C, SIGTERM).

The exit status is node's (1 when the server did not stop cleanly; 130 after Ctrl-C, 143 after
SIGTERM). On failure the tail of the server's log is printed. Needs node, the npm packages
(`npm ci` in tests/e2e) and /usr/bin/chromium ($TEJUN_CHROMIUM to use another).
"""

import argparse
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
sys.path.insert(0, str(REPOSITORY / "tests" / "python"))
sys.path.insert(0, str(REPOSITORY / "tests" / "server"))

from gitlab_fake import ALICE_TOKEN, GitlabFake  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402
from server_support import process_table, terminate  # noqa: E402

START_DEADLINE = 20  # seconds for the server to print its URL
STOP_DEADLINE = 30  # seconds for SIGTERM to end the server and its kernels
NODE_DEADLINE = 840  # seconds for all the browser tests (ctest gives 900)
LOG_TAIL = 60  # lines of the server's log printed on failure
# The line the server prints once it listens: its URL (maybe of a page under it) with the token.
SERVING = re.compile(r"tejun server: serving on (http://127\.0\.0\.1:\d+)/(?:\S*/)?\?token=(\S+)\n")


class Stopped(Exception):
    """SIGTERM arrived: stop everything, as for Ctrl-C."""


def on_sigterm(signum, frame):
    raise Stopped()


def fail(message):
    print(f"run_e2e: {message}", file=sys.stderr)
    return 1


def tail(path, lines=LOG_TAIL):
    try:
        kept = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in kept) or "    (empty)"


def check_tools():
    """A message saying what is missing to run the tests, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js 20"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed: run `npm ci` in tests/e2e (scripts/test does)"
    chromium = os.environ.get("TEJUN_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        return f"no Chromium at {chromium}: install Debian's chromium (scripts/install-deps)"
    tejun = os.environ.get("TEJUN", "")
    if not tejun or not os.path.isfile(tejun) or not os.access(tejun, os.X_OK):
        return f"TEJUN must be the path of the tejun binary to test, it is {tejun!r}"
    os.environ["TEJUN"] = os.path.abspath(tejun)
    return None


def make_root(folder):
    """The server's root: examples/ and the tests' runbooks (tests/e2e/runbooks) in e2e/."""
    root = folder / "root"
    root.mkdir()
    shutil.copytree(REPOSITORY / "examples", root / "examples")
    shutil.copytree(HERE / "runbooks", root / "e2e")
    return root


class TejunServer:
    """`$TEJUN server` on ROOT with its own HOME and Jupyter folders inside FOLDER, and ENVIRONMENT
    added to ours; stderr goes to FOLDER/server.log (a pipe nobody reads would block the kernels)."""

    def __init__(self, folder, root, token, environment):
        self.token = token
        self.log = folder / "server.log"
        self.runtime = folder / "runtime"
        for name in ("runtime", "home", "data"):
            (folder / name).mkdir()
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("JUPYTER", "PG")) and name not in ("TEJUN_TOKEN", "DATABASE_URL")}
        env.update(HOME=str(folder / "home"), JUPYTER_DATA_DIR=str(folder / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.runtime), JUPYTER_CONFIG_DIR=str(folder / "home"))
        env.update(environment)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [os.environ["TEJUN"], "server", "--port", "0", "--root", str(root), "--token", token],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=folder,
                start_new_session=True)  # Ctrl-C reaches this script only, which stops it in order
        self.url = None

    def wait_until_serving(self):
        """Reads the base URL the server prints once it listens."""
        end = time.monotonic() + START_DEADLINE
        while self.url is None:
            found = SERVING.search(self.log.read_text(errors="replace"))
            if found:
                if found.group(2) != self.token:
                    raise RuntimeError("the server printed another token than the one it was given")
                self.url = found.group(1)
            elif self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode} before serving")
            elif time.monotonic() > end:
                raise RuntimeError(f"the server did not print its URL within {START_DEADLINE} s")
            else:
                time.sleep(0.02)

    def stop(self):
        """SIGTERM; its exit code, None if it had to be killed. Kernels it left are killed."""
        if self.process.poll() is None:
            code = terminate(self.process, STOP_DEADLINE)
        else:
            code = self.process.returncode
        for pid, (_, state, cmdline) in process_table().items():
            if str(self.runtime) in cmdline and state != "Z":  # a kernel of this server
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return code


def run_node(files, environment, grep):
    """node --test on FILES; its exit code. Node and the Chromiums it starts are a process group
    of their own, ended (SIGTERM, then SIGKILL) if this script is interrupted or the run is too long."""
    command = ["node", "--test", "--test-concurrency=1", "--test-reporter=spec"]
    if grep:
        command.append(f"--test-name-pattern={grep}")
    command += [str(path) for path in files]
    process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        return process.wait(timeout=NODE_DEADLINE)
    except subprocess.TimeoutExpired:
        print(f"run_e2e: the browser tests did not end within {NODE_DEADLINE} s", file=sys.stderr)
        return 1
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def main():
    parser = argparse.ArgumentParser(description="Runs the browser tests of tejun's web UI.")
    parser.add_argument("--screenshots", default=os.environ.get("TEJUN_SCREENSHOTS", ""),
                        help="a folder to save screenshots in (default: $TEJUN_SCREENSHOTS, else none)")
    parser.add_argument("--grep", help="run only the tests whose name matches this regular expression")
    parser.add_argument("files", nargs="*", help="test files (default: tests/e2e/*.test.mjs)")
    options = parser.parse_args()

    problem = check_tools()
    if problem:
        return fail(problem)
    files = [pathlib.Path(name).resolve() for name in options.files] or sorted(HERE.glob("*.test.mjs"))
    signal.signal(signal.SIGTERM, on_sigterm)

    folder = pathlib.Path(tempfile.mkdtemp(prefix="tejun-e2e-")).resolve()
    cluster = server = gitlab = None
    status = 1
    try:
        cluster = PostgresCluster()  # started; it cleans up after itself if it cannot start
        gitlab = GitlabFake()  # the shared GitLab stand-in, for `%gitlab variables` in the UI
        root = make_root(folder)
        token = secrets.token_hex(16)
        server = TejunServer(folder, root, token, {
            "DB_USER": cluster.user, "DB_PASSWORD": cluster.password,
            "DB_ENDPOINT": f"{cluster.host}:{cluster.port}", "DB_NAME": cluster.database,
            # as a user's server gets them from the hub: alice on project 42 (ops/runbooks)
            "GITLAB_URL": gitlab.url, "GITLAB_PROJECT_ID": "42", "GITLAB_ACCESS_TOKEN": ALICE_TOKEN,
        })
        server.wait_until_serving()
        print(f"run_e2e: PostgreSQL on {cluster.host}:{cluster.port}, tejun server on {server.url}, root {root}",
              flush=True)
        environment = {name: value for name, value in os.environ.items() if name != "TEJUN_SCREENSHOTS"}
        environment.update(TEJUN_URL=server.url, TEJUN_TOKEN=token, TEJUN_ROOT=str(root),
                           TEJUN_DB_PASSWORD=cluster.password)
        # Chromium's profiles (in TMPDIR) and its own files (crash reports, caches) go into the
        # temporary folder too, removed at the end even if node was killed.
        browser_home = folder / "browser-home"
        (browser_home / "tmp").mkdir(parents=True)
        environment.update(HOME=str(browser_home), XDG_CONFIG_HOME=str(browser_home / "config"),
                           XDG_CACHE_HOME=str(browser_home / "cache"), TMPDIR=str(browser_home / "tmp"))
        if options.screenshots:
            screenshots = pathlib.Path(options.screenshots).resolve()
            screenshots.mkdir(parents=True, exist_ok=True)
            environment["TEJUN_SCREENSHOTS"] = str(screenshots)
        status = run_node(files, environment, options.grep)
        code = server.stop()
        if code != 0:
            print(f"run_e2e: SIGTERM: the server exited with {code}, not 0", file=sys.stderr)
            status = status or 1
    except (KeyboardInterrupt, Stopped) as stop:
        print("run_e2e: interrupted; stopping the server and PostgreSQL", file=sys.stderr)
        status = 143 if isinstance(stop, Stopped) else 130
    except Exception as error:  # the cluster or the server did not start
        print(f"run_e2e: {error}", file=sys.stderr)
        status = 1
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleaning up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if server is not None:
            server.stop()
            if status != 0:
                print(f"run_e2e: the last lines of the server's log:\n{tail(server.log)}", file=sys.stderr)
        if cluster is not None:
            cluster.stop()
        if gitlab is not None:
            gitlab.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
