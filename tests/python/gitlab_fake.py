"""The GitLab stand-in (the shared gitlab-fake: `node server.mjs`) run for tests.

    fake = GitlabFake()              # its example data: users, tokens, projects 42 and 43, variables
    fake.api("GET", "/user", ALICE_TOKEN).data["username"]          # 'alice'
    fake.fault(path_prefix="/api/v4/projects/", status=500, count=10)
    fake.requests("/api/v4/projects/")                              # what reached it
    fake.stop()

The fake's folder is $TEJUN_GITLAB_FAKE, else `shared/gitlab-fake` beside the repository
(`<repository>/../shared/gitlab-fake`). It is used as it is, never copied; its example data
folder is only read. A missing folder or a missing `node` is an error, not a skip: the tests
that need the fake must fail where it is not there.
"""

import atexit
import json
import os
import pathlib
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent.parent
START_DEADLINE = 60  # seconds for the JSON line (the fake builds its repositories at start)
REQUEST_DEADLINE = 30  # seconds for one call to the fake

# The example's personal access tokens (gitlab-fake/README.md).
ROOT_TOKEN = "glpat-root-api-0000000000"  # admin: reads every level
ALICE_TOKEN = "glpat-alice-api-000000001"  # Maintainer of ops: project variables, not group ones
OLIVIA_TOKEN = "glpat-olivia-api-0000009"  # Owner of ops and platform: group variables too
CAROL_TOKEN = "glpat-carol-api-000000007"  # Reporter of ops/runbooks only: no variables
ALICE_EXPIRED_TOKEN = "glpat-alice-expired-00004"  # expired: 401
TOKENS = {"root": ROOT_TOKEN, "alice": ALICE_TOKEN, "olivia": OLIVIA_TOKEN, "carol": CAROL_TOKEN,
          "alice-expired": ALICE_EXPIRED_TOKEN}


class GitlabFakeError(RuntimeError):
    """The fake is not there, did not start, or answered a control call with an error."""


def fake_folder():
    """$TEJUN_GITLAB_FAKE, else <repository>/../shared/gitlab-fake; raises when it is not there."""
    configured = os.environ.get("TEJUN_GITLAB_FAKE")
    folder = pathlib.Path(configured) if configured else REPOSITORY.parent / "shared" / "gitlab-fake"
    if not (folder / "server.mjs").is_file():
        where = "$TEJUN_GITLAB_FAKE" if configured else "shared/gitlab-fake beside the repository"
        raise GitlabFakeError(
            f"the GitLab fake is not there: no server.mjs in {folder} ({where}). Check it out there, or set "
            "TEJUN_GITLAB_FAKE to its folder")
    return folder.resolve()


class ApiResponse:
    """One answer of the fake: status, headers (names lowercased) and the body, parsed when it is JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {name.lower(): value for name, value in headers.items()}
        self.body = body
        try:
            self.data = json.loads(body) if body else None
        except ValueError:
            self.data = body.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class GitlabFake:
    """A gitlab-fake server on a free loopback port, with the example data; a context manager.
    Attributes: url (http://127.0.0.1:PORT, no trailing slash), port, folder, process."""

    def __init__(self, data="example"):
        self.folder = fake_folder()
        node = shutil.which("node")
        if node is None:
            raise GitlabFakeError("the GitLab fake needs Node 20 and `node` is not on PATH: install nodejs")
        data_folder = self.folder / data
        if not (data_folder / "fixtures.json").is_file():
            raise GitlabFakeError(f"the GitLab fake has no data folder {data_folder} (fixtures.json)")
        self.url = None
        self.port = None
        self._stderr = tempfile.TemporaryFile(prefix="gitlab-fake-stderr-")
        self.process = subprocess.Popen([node, "server.mjs", "--port", "0", "--data", str(data_folder)],
                                        cwd=self.folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=self._stderr)
        atexit.register(self.stop)
        try:
            line = self._first_line()
            try:
                started = json.loads(line)
                self.url = started["url"].rstrip("/")
                self.port = started["port"]
            except (ValueError, KeyError, TypeError) as error:
                raise GitlabFakeError(f"the GitLab fake printed {line!r}, not its JSON line") from error
        except BaseException:
            self.stop()
            raise

    def _first_line(self):
        """The fake's first line on stdout, within START_DEADLINE; raises with its stderr if it ends first."""
        deadline = time.monotonic() + START_DEADLINE
        received = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while b"\n" not in received:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GitlabFakeError(f"the GitLab fake printed no JSON line within {START_DEADLINE} s:"
                                          f"{self._stderr_text()}")
                if selector.select(timeout=min(left, 0.5)):
                    chunk = os.read(self.process.stdout.fileno(), 4096)
                    if not chunk:
                        self.process.wait(timeout=10)
                        raise GitlabFakeError(f"the GitLab fake ended (exit {self.process.returncode}) before it "
                                              f"was ready:{self._stderr_text()}")
                    received += chunk
        return received.split(b"\n", 1)[0].decode("utf-8", errors="replace")

    def _stderr_text(self):
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", errors="replace").strip()
        return "\n    " + "\n    ".join(text.splitlines()[-30:]) if text else " (nothing on stderr)"

    # ---- lifecycle ----

    def stop(self):
        """SIGTERM (the fake removes its state folder), then waits; idempotent."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.process.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- HTTP ----

    def request(self, method, path, json_body=None, params=None, headers=None):
        """METHOD url+PATH (with PARAMS as its query), a JSON body if given; any status is an ApiResponse."""
        url = self.url + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        data = None
        all_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_DEADLINE) as response:
                return ApiResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return ApiResponse(error.code, dict(error.headers), error.read())

    def _control(self, method, path, json_body=None, params=None, expect=(200, 201, 204)):
        response = self.request(method, "/-/fake" + path, json_body, params)
        if response.status not in expect:
            raise GitlabFakeError(f"{method} /-/fake{path} answered {response.status}: {response.body[:500]!r}")
        return response.data

    def api(self, method, path, token=None, json=None, params=None, expect=None):
        """The REST API: METHOD /api/v4+PATH as the owner of TOKEN (PRIVATE-TOKEN). With EXPECT (a
        status), any other status raises GitlabFakeError quoting the body."""
        if not path.startswith("/"):
            path = "/" + path
        if not path.startswith("/api/"):
            path = "/api/v4" + path
        headers = {"PRIVATE-TOKEN": token} if token else {}
        response = self.request(method, path, json, params, headers)
        if expect is not None and response.status != expect:
            raise GitlabFakeError(f"{method} {path} answered {response.status}, not {expect}: {response.body[:500]!r}")
        return response

    # ---- the test-only control endpoints ----

    def reset(self):
        """Back to the fixtures: variables, tokens, repositories, the request log and the faults."""
        self._control("POST", "/reset")

    def fault(self, **fault):
        """The next `count` requests whose path starts with `path_prefix` (and of `method`) are delayed
        by `delay_ms`, answered with `status`, or dropped (action="drop")."""
        return self._control("POST", "/faults", fault)

    def clear_faults(self):
        self._control("DELETE", "/faults")

    def requests(self, path_prefix="", since=0):
        """The requests received (seq, time, method, path, query, headers, body, status, fault)."""
        return self._control("GET", "/requests", params={"path_prefix": path_prefix, "since": since})

    def clear_requests(self):
        self._control("DELETE", "/requests")


def main():
    """`python3 gitlab_fake.py`: starts the fake, shows who alice is and its URL, stops it."""
    with GitlabFake() as fake:
        user = fake.api("GET", "/user", ALICE_TOKEN, expect=200).data
        print(fake.url, user["username"], user["name"])


if __name__ == "__main__":
    main()
