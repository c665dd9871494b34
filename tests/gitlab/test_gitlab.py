"""GitLab steps (`%gitlab connect|whoami|project|variables`) and HTTP steps (`%%http` cells and
```http runbook steps) on the tejun kernel, against the GitLab stand-in (tests/python/gitlab_fake.py,
one server for the module, reset between tests that change it).

Kernels are driven through jupyter_client in a sandboxed Jupyter tree
(tests/protocol/kernel_test_support.JupyterSandbox), each with its own working directory and
TMPDIR, an environment free of the caller's GitLab, CI and database variables, and the fake's
URL, project and a token in GITLAB_URL, GITLAB_PROJECT_ID and GITLAB_ACCESS_TOKEN (other users'
tokens in other variables, for --token-env). Cell code never holds a secret: tokens come from the
environment, masked values are compared through their SHA-256. Every iopub message of every cell
and every kernel's log (at debug level) are checked for the example's masked values and tokens.

The values a CI job would see come from the fake's README ("What a job sees"), walked as root.

Runs as `python3 -m unittest -v test_gitlab` in this folder with $TEJUN the tejun binary.
"""

import hashlib
import json
import os
import pathlib
import queue
import re
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = pathlib.Path(__file__).resolve().parent
# The shared helpers: tests/python (the GitLab fake) and tests/protocol (the Jupyter sandbox).
for folder in (HERE.parent / "python", HERE.parent / "protocol"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import nbformat  # noqa: E402
from jupyter_client.manager import start_new_kernel  # noqa: E402

import kernel_test_support as support  # noqa: E402
from gitlab_fake import (ALICE_EXPIRED_TOKEN, ALICE_TOKEN, CAROL_TOKEN, OLIVIA_TOKEN, ROOT_TOKEN,  # noqa: E402
                         GitlabFake)

TEJUN = os.environ.get("TEJUN", "tejun")
KERNEL_NAME = "tejun-gitlab"
TIMEOUT = 30  # seconds; a deadline for a cell that should take milliseconds
QUICK = 10  # seconds; what a step stopped by a 1 s timeout may take at most

# The example's masked values (fixtures.json) and every token a kernel here is given.
DB_PASSWORD = "S3cr3t-Passw0rd"  # ops/runbooks, masked
SHARED_TOKEN = "ops-Shared-T0ken-0010"  # group ops, masked
PAGER_KEY = "pgr-Sre-Key-0021"  # group platform/sre, masked and protected
# ops/runbooks' PRIVATE_TOKEN (masked and protected) is alice's token.
SECRETS = [DB_PASSWORD, SHARED_TOKEN, PAGER_KEY, ALICE_TOKEN, ROOT_TOKEN, OLIVIA_TOKEN, CAROL_TOKEN,
           ALICE_EXPIRED_TOKEN]
KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\n"  # ops/runbooks' file variable KUBECONFIG
KUBECONFIG_DATA_TEXT = ("apiVersion: v1\nkind: Config\nclusters:\n- name: ops\n  cluster:\n"
                        "    server: https://k8s.ops.example.internal\n")  # group ops' file variable
# Every key of the example's variables, unset before each load so that none survives from an earlier one.
ALL_KEYS = ["REGION", "LOG_LEVEL", "NOTIFY_URL", "DB_ENDPOINT", "SHARED_TOKEN", "KUBECONFIG_DATA",
            "ALERT_CHANNEL", "DEPLOY_HOST", "PAGER_KEY", "RUNBOOK_URL", "SCHEDULE_URL", "SERVICE_NAME",
            "DB_USER", "DB_PASSWORD", "DB_NAME", "PRIVATE_TOKEN", "DEPLOY_TARGET", "KUBECONFIG"]
SKIPPED = "%gitlab variables: skipped"
HEADER = re.compile(r"loaded (\d+) variables? from (\S+) \((?:environment (.+)|no environment)\):")

FAKE = None
SANDBOX = None


def setUpModule():
    global FAKE, SANDBOX
    FAKE = GitlabFake()
    try:
        SANDBOX = support.JupyterSandbox(KERNEL_NAME)
        # `tejun run` looks the kernel `tejun` up: this $TEJUN's, not one installed on the machine.
        support.install_kernel(SANDBOX.root / "prefix")
    except BaseException:
        FAKE.stop()
        raise


def tearDownModule():
    if SANDBOX is not None:
        SANDBOX.close()
    FAKE.stop()


def clean_environment(**extra):
    """The sandbox's environment without anything that picks a GitLab, a CI job or a database,
    plus EXTRA (a value of None leaves the name out)."""
    dropped = ("GITLAB_", "CI_", "PG")
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(dropped) and name not in ("PRIVATE_TOKEN", "DATABASE_URL", "TMPDIR")}
    for name, value in extra.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def strings(value):
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def redacted(text):
    """TEXT with every secret replaced, for failure messages: a failing test must not print them either."""
    for secret in SECRETS:
        text = text.replace(secret, "<secret>")
    return text


def assert_no_secrets(text, what):
    for secret in SECRETS:
        if secret in text:
            raise AssertionError(f"the secret {secret[:4]}… is in {redacted(what)}")


def table_cells(line):
    """The cells of a line of a text table, its columns set apart by `|` or by two spaces or more."""
    return [cell for cell in re.split(r"\s*\|\s*|\s{2,}", line.strip()) if cell]


def faulted(path_prefix="/api/v4/"):
    """The requests the fake answered with a fault (status, delay or drop)."""
    return [r for r in FAKE.requests(path_prefix) if r.get("fault")]


def sent_token(request):
    """The token a logged request carried (PRIVATE-TOKEN or Authorization: Bearer)."""
    headers = request["headers"]
    if "private-token" in headers:
        return headers["private-token"]
    return headers.get("authorization", "").removeprefix("Bearer ")


# ---- what a cell gave ----

class Cell(support.CellRun):
    """What one execute_request gave (the protocol tests' CellRun), with its code and every
    message (status and execute_input too, for the secrets check)."""

    def __init__(self, code, reply, messages, seconds):
        super().__init__(reply, messages)
        self.code = code
        self.all_messages = messages
        self.seconds = seconds

    @property
    def status(self):
        return self.reply["status"]

    @property
    def evalue(self):
        return self.reply.get("evalue", "")

    def displays(self):
        """The MIME bundles of its display_data and execute_result messages, in order."""
        return [m["content"]["data"] for m in self.messages if m["msg_type"] in ("display_data", "execute_result")]

    def display(self):
        displays = self.displays()
        if len(displays) != 1:
            raise AssertionError(f"expected one display, got {len(displays)}: {self}")
        return displays[0]

    def __str__(self):
        shown = [{"msg_type": m["msg_type"], "content": m["content"]} for m in self.messages]
        return redacted(f"cell {self.code!r}\nreply: {json.dumps(self.reply)[:3000]}\n"
                        f"messages: {json.dumps(shown)[:6000]}")


class Kernel:
    """A tejun kernel with its log (debug level) captured, its own working directory (work) and
    TMPDIR (tmp). Every cell's messages are checked for secrets as they come."""

    def __init__(self, folder, environment):
        self.work = folder / "work"
        self.tmp = folder / "tmp"
        self.work.mkdir(parents=True)
        self.tmp.mkdir()
        self.log_path = folder / "kernel.log"
        self._log = open(self.log_path, "w", encoding="utf-8")
        environment = dict(environment, TMPDIR=str(self.tmp))
        try:
            self.km, self.kc = start_new_kernel(startup_timeout=TIMEOUT, kernel_name=KERNEL_NAME, env=environment,
                                                cwd=str(self.work), stdout=self._log, stderr=self._log,
                                                extra_arguments=["--log-level", "debug"])
        except BaseException:
            self._log.close()
            raise
        self.alive = True

    def shutdown(self):
        """A graceful shutdown (shutdown_request, then a kill after jupyter_client's wait): the
        kernel gets to remove its files."""
        if self.alive:
            self.alive = False
            try:
                self.kc.stop_channels()
                self.km.shutdown_kernel(now=False)
            finally:
                self._log.close()

    def close(self):
        """Shuts the kernel down and checks its log for secrets."""
        self.shutdown()
        assert_no_secrets(self.log_path.read_text(encoding="utf-8", errors="replace"), "the kernel's log")

    def run(self, code, timeout=TIMEOUT):
        """Runs CODE; the iopub messages up to its idle status and its execute_reply, checked for secrets."""
        started = time.monotonic()
        msg_id = self.kc.execute(code, allow_stdin=False, stop_on_error=False)
        deadline = started + timeout
        messages = []
        try:
            while True:
                message = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
                if message["parent_header"].get("msg_id") != msg_id:
                    continue
                if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    break
                messages.append(message)
            while True:
                reply = self.kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except queue.Empty:
            shown = [(m["msg_type"], m["content"]) for m in messages]
            raise AssertionError(redacted(f"cell not finished within {timeout} s: {code!r}; so far: {shown}")) from None
        cell = Cell(code, reply["content"], messages, time.monotonic() - started)
        for message in messages:
            if message["msg_type"] == "execute_input":
                continue  # the code as the user typed it (it never holds a secret here)
            for text in strings(message["content"]):
                assert_no_secrets(text, f"a {message['msg_type']} message of {cell}")
        assert_no_secrets(json.dumps(cell.reply), f"the reply of {cell}")
        return cell

    def ok(self, code, timeout=TIMEOUT):
        cell = self.run(code, timeout)
        if cell.status != "ok":
            raise AssertionError(f"the cell failed: {cell}")
        return cell

    def fail(self, code, ename=None, timeout=TIMEOUT):
        """A cell that must fail (with ENAME): one error message, the same as the reply's."""
        cell = self.run(code, timeout)
        if cell.status != "error":
            raise AssertionError(f"the cell did not fail: {cell}")
        if ename is not None and cell.reply["ename"] != ename:
            raise AssertionError(f"expected {ename}, got {cell.reply['ename']}: {cell}")
        errors = cell.of_type("error")
        if [(e["ename"], e["evalue"]) for e in errors] != [(cell.reply["ename"], cell.reply["evalue"])]:
            raise AssertionError(f"not one error message matching the reply: {cell}")
        return cell

    def values(self, *names):
        """Each NAME's value in the session (None when unset); masked ones read [MASKED]."""
        for name in names:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(name)
        cell = self.ok(textwrap.dedent(f"""\
            for __tejun_test_name in {' '.join(names)}; do
              if [ -n "${{!__tejun_test_name+set}}" ]; then
                printf '%s=%s\\n' "$__tejun_test_name" "${{!__tejun_test_name}}"
              else
                printf '%s unset\\n' "$__tejun_test_name"
              fi
            done
            unset __tejun_test_name"""))
        found = {}
        for line in cell.stdout.splitlines():
            name, equals, value = line.partition("=")
            if equals:
                found[name] = value
            else:
                found[line.split(" ", 1)[0]] = None
        if list(found) != list(names):
            raise AssertionError(f"could not read {names} back: {cell}")
        return found

    def digest(self, name):
        """The SHA-256 of NAME's value, computed in the session: compares a masked value without showing it."""
        return self.ok(f"printf '%s' \"${name}\" | sha256sum | cut -d' ' -f1").stdout.strip()

    def unset_all(self):
        self.ok("unset " + " ".join(ALL_KEYS))


class GitlabTestCase(unittest.TestCase):
    """A temporary folder per class; kernels started in it with the fake's URL, project 42 and
    alice's token unless told otherwise. With `shared_environment` set, the class shares one
    kernel (self.k) started with it, and `prepare(kernel)` runs once on it."""

    maxDiff = None
    shared_environment = None

    @classmethod
    def setUpClass(cls):
        cls._folder = tempfile.TemporaryDirectory(prefix="gitlab-kernel-test-")
        cls.root = pathlib.Path(cls._folder.name).resolve()
        cls.kernel_count = 0
        cls.k = None
        try:
            FAKE.reset()
            if cls.shared_environment is not None:
                cls.k = cls.start_kernel(**cls.shared_environment)
                cls.prepare(cls.k)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.k is not None:
                kernel, cls.k = cls.k, None
                kernel.close()
        finally:
            FAKE.clear_faults()
            cls._folder.cleanup()

    @classmethod
    def prepare(cls, kernel):
        pass

    @classmethod
    def start_kernel(cls, **environment):
        cls.kernel_count += 1
        base = {"GITLAB_URL": FAKE.url, "GITLAB_PROJECT_ID": "42", "GITLAB_ACCESS_TOKEN": ALICE_TOKEN}
        base.update(environment)
        return Kernel(cls.root / f"kernel-{cls.kernel_count}", clean_environment(**base))

    def setUp(self):
        self.addCleanup(FAKE.clear_faults)

    def kernel(self, **environment):
        """A kernel of this test's own, closed (and its log checked) when the test ends."""
        kernel = self.start_kernel(**environment)
        self.addCleanup(kernel.close)
        return kernel

    # ---- checks ----

    def assert_values(self, kernel, expected):
        """The session's values are EXPECTED (None: unset)."""
        self.assertEqual(kernel.values(*expected), expected)

    def assert_masked(self, kernel, name, value):
        """NAME is set, prints as [MASKED], and holds VALUE."""
        self.assertEqual(kernel.values(name), {name: "[MASKED]"})
        self.assertEqual(kernel.digest(name), sha256(value), f"{name} does not hold the fixture's value")

    def variables_table(self, cell, project, environment=None, count=None):
        """The display of a successful `%gitlab variables`: text/plain and text/html, its header
        line naming PROJECT and ENVIRONMENT (and COUNT variables), the column names; returns the text."""
        data = cell.display()
        self.assertIn("text/html", data, str(cell))
        text = data["text/plain"]
        match = HEADER.match(text)
        self.assertIsNotNone(match, f"no `loaded N variables from ...:` header: {text!r}")
        self.assertEqual((match.group(2), match.group(3)), (project, environment), text)
        if count is not None:
            self.assertEqual(int(match.group(1)), count, text)
        self.assertEqual(table_cells(text.split("\n")[1]),
                         ["NAME", "LEVEL", "SCOPE", "TYPE", "MASKED", "PROTECTED", "RAW", "VALUE"], text)
        return text

    def table_row(self, text, name):
        """The line of the table for NAME."""
        rows = [line for line in text.split("\n") if table_cells(line)[:1] == [name]]
        self.assertEqual(len(rows), 1, f"not one row for {name}: {text}")
        return rows[0]

    def skipped_notices(self, cell):
        return [line for line in cell.stderr.splitlines() if line.startswith(SKIPPED)]


# ---- connecting ----

class Connect(GitlabTestCase):
    def setUp(self):
        super().setUp()
        FAKE.clear_requests()

    def test_token_from_gitlab_access_token(self):
        """The kernel's GITLAB_URL, GITLAB_PROJECT_ID and GITLAB_ACCESS_TOKEN: connect checks the
        token (GET /user with it) and the project, and says who and what; whoami and project."""
        k = self.kernel()
        cell = k.ok("%gitlab connect")
        self.assertIn(f"connected to {FAKE.url}", cell.stdout)
        self.assertIn("as @alice (Alice Operator)", cell.stdout)
        self.assertIn("project ops/runbooks (#42)", cell.stdout)
        users = FAKE.requests("/api/v4/user")
        self.assertTrue(users, "connect did not ask GitLab who the token is")
        self.assertEqual({sent_token(r) for r in users}, {ALICE_TOKEN})
        self.assertTrue(FAKE.requests("/api/v4/projects/"), "connect did not check the project")

        whoami = k.ok("%gitlab whoami").stdout
        for part in ("@alice (Alice Operator)", "user #2", "$GITLAB_ACCESS_TOKEN", "17.5.0-ee", FAKE.url):
            self.assertIn(part, whoami)
        project = k.ok("%gitlab project").stdout
        for part in ('ops/runbooks (#42) "Runbooks"', "private", "default branch main"):
            self.assertIn(part, project)

    def test_token_env_names_another_variable(self):
        """--token-env NAME takes the token from NAME; --project overrides GITLAB_PROJECT_ID."""
        k = self.kernel(OTHER_TOKEN=ROOT_TOKEN)
        cell = k.ok("%gitlab connect --token-env OTHER_TOKEN --project 43")
        self.assertIn("as @root (Administrator)", cell.stdout)
        self.assertIn("project platform/sre/oncall (#43)", cell.stdout)
        whoami = k.ok("%gitlab whoami").stdout
        self.assertIn("@root", whoami)
        self.assertIn("$OTHER_TOKEN", whoami)
        self.assertEqual({sent_token(r) for r in FAKE.requests("/api/v4/user")}, {ROOT_TOKEN})

    def test_private_token_is_the_fallback(self):
        """Without GITLAB_ACCESS_TOKEN, PRIVATE_TOKEN is the token."""
        k = self.kernel(GITLAB_ACCESS_TOKEN=None, PRIVATE_TOKEN=OLIVIA_TOKEN)
        self.assertIn("as @olivia (Olivia Owner)", k.ok("%gitlab connect").stdout)
        self.assertIn("$PRIVATE_TOKEN", k.ok("%gitlab whoami").stdout)

    def test_ci_server_url_and_ci_project_id(self):
        """Without GITLAB_URL and GITLAB_PROJECT_ID, a CI job's CI_SERVER_URL and CI_PROJECT_ID."""
        k = self.kernel(GITLAB_URL=None, GITLAB_PROJECT_ID=None, CI_SERVER_URL=FAKE.url, CI_PROJECT_ID="43",
                        GITLAB_ACCESS_TOKEN=ROOT_TOKEN)
        cell = k.ok("%gitlab connect")
        self.assertIn(f"connected to {FAKE.url}", cell.stdout)
        self.assertIn("platform/sre/oncall (#43)", cell.stdout)

    def test_defaults_are_read_from_the_session(self):
        """The defaults are the session's variables when the magic runs, not the kernel's start
        environment: a project path exported in a step is used."""
        k = self.kernel(ROOT_TOKEN=ROOT_TOKEN)
        k.ok("export GITLAB_PROJECT_ID=platform/sre/oncall")
        self.assertIn("platform/sre/oncall (#43)", k.ok("%gitlab connect --token-env ROOT_TOKEN").stdout)

    def test_whoami_connects_by_itself(self):
        """whoami, project and variables without an earlier connect connect with the defaults."""
        k = self.kernel()
        self.assertIn("@alice", k.ok("%gitlab whoami").stdout)
        self.assertIn("ops/runbooks (#42)", k.ok("%gitlab project").stdout)

    def test_no_url_is_a_magic_error(self):
        k = self.kernel(GITLAB_URL=None)
        cell = k.fail("%gitlab connect", "MagicError")
        self.assertIn("GITLAB_URL", cell.evalue)
        self.assertIn("CI_SERVER_URL", cell.evalue)


# ---- which variables a job sees ----

class Precedence(GitlabTestCase):
    """Walked as root (every level readable): the README's "What a job sees" table."""

    shared_environment = {"GITLAB_ACCESS_TOKEN": ROOT_TOKEN, "GITLAB_PROJECT_ID": "43"}

    def load(self, project, options=""):
        """Unsets every example key, connects to PROJECT and loads its variables with OPTIONS."""
        self.k.unset_all()
        self.k.ok(f"%gitlab connect --project {project}")
        return self.k.ok(f"%gitlab variables {options}".rstrip())

    ONCALL_COMMON = {"REGION": "us-east-1", "ALERT_CHANNEL": "#sre-oncall", "SERVICE_NAME": "oncall",
                     "RUNBOOK_URL": "https://runbooks.example.com/oncall",
                     "NOTIFY_URL": "https://notify.example.com/us-east-1",
                     "SCHEDULE_URL": "https://oncall.example.com/schedules/$SCHEDULE_ID",
                     "DB_USER": None, "DB_ENDPOINT": None, "SHARED_TOKEN": None}

    def test_oncall_without_an_environment(self):
        cell = self.load(43)
        self.assertEqual(self.skipped_notices(cell), [], "root may read every level")
        self.assert_values(self.k, {**self.ONCALL_COMMON, "LOG_LEVEL": "debug",
                                    "DEPLOY_HOST": "deploy.platform.example.internal"})
        self.assert_masked(self.k, "PAGER_KEY", PAGER_KEY)  # protected: loaded by default
        text = self.variables_table(cell, "platform/sre/oncall", count=9)
        self.assertIn("us-east-1", self.table_row(text, "REGION"))
        self.assertIn("platform", self.table_row(text, "REGION"))  # the level it came from
        self.assertIn("[MASKED]", self.table_row(text, "PAGER_KEY"))

    def test_oncall_production(self):
        cell = self.load(43, "--environment production")
        self.assert_values(self.k, {**self.ONCALL_COMMON, "LOG_LEVEL": "debug",
                                    "DEPLOY_HOST": "prod.sre.example.internal"})
        self.variables_table(cell, "platform/sre/oncall", "production", count=9)

    def test_oncall_review_app_1(self):
        self.load(43, "--environment review/app-1")
        self.assert_values(self.k, {**self.ONCALL_COMMON, "LOG_LEVEL": "trace",
                                    "DEPLOY_HOST": "app-1.review.platform.example.internal"})

    def test_oncall_review_app_2(self):
        self.load(43, "--environment review/app-2")
        self.assert_values(self.k, {**self.ONCALL_COMMON, "LOG_LEVEL": "trace",
                                    "DEPLOY_HOST": "review.platform.example.internal"})

    RUNBOOKS_COMMON = {"REGION": "eu-west-1", "LOG_LEVEL": "warn", "DEPLOY_HOST": None, "DB_USER": "runbook_ro",
                       "DB_NAME": "inventory", "NOTIFY_URL": "https://notify.example.com/eu-west-1",
                       "SERVICE_NAME": None}

    def test_runbooks_without_an_environment(self):
        cell = self.load(42)
        self.assert_values(self.k, {**self.RUNBOOKS_COMMON, "DB_ENDPOINT": "db.ops-shared.example.internal",
                                    "DEPLOY_TARGET": None})
        self.assert_masked(self.k, "DB_PASSWORD", DB_PASSWORD)
        self.assert_masked(self.k, "SHARED_TOKEN", SHARED_TOKEN)
        self.assert_masked(self.k, "PRIVATE_TOKEN", ALICE_TOKEN)
        self.variables_table(cell, "ops/runbooks")

    def test_runbooks_production(self):
        self.load(42, "--environment production")
        self.assert_values(self.k, {**self.RUNBOOKS_COMMON, "DB_ENDPOINT": "db.ops.example.internal",
                                    "DEPLOY_TARGET": "prod.example.internal"})

    def test_runbooks_staging(self):
        self.load(42, "--environment staging")
        self.assert_values(self.k, {**self.RUNBOOKS_COMMON, "DB_ENDPOINT": "db.ops-shared.example.internal",
                                    "DEPLOY_TARGET": "staging.example.internal"})

    def test_unprotected_leaves_out_protected_variables(self):
        """--unprotected: a job on an unprotected ref, without PAGER_KEY or PRIVATE_TOKEN."""
        self.load(43, "--unprotected")
        self.assert_values(self.k, {"PAGER_KEY": None, "REGION": "us-east-1", "LOG_LEVEL": "debug"})
        self.load(42, "--unprotected --environment production")
        self.assert_values(self.k, {"PRIVATE_TOKEN": None, "DB_USER": "runbook_ro",
                                    "DB_ENDPOINT": "db.ops.example.internal"})

    def test_raw_and_expanded_values(self):
        """NOTIFY_URL (instance, `.../$REGION`) is expanded against the REGION the job gets
        (platform's, over the instance's); SCHEDULE_URL is raw and keeps `$SCHEDULE_ID`."""
        self.load(43)
        self.assert_values(self.k, {"NOTIFY_URL": "https://notify.example.com/us-east-1",
                                    "SCHEDULE_URL": "https://oncall.example.com/schedules/$SCHEDULE_ID"})

    def test_expansion_rules(self):
        """$$ is a dollar, ${NAME} and $NAME come from the loaded set only (not the session),
        unknown names stay as written with a notice on stderr naming them, one pass."""
        self.addCleanup(FAKE.reset)
        for key, value in {"EXPAND_ME": "cost $$5 in ${SERVICE_NAME}/$REGION, $NO_SUCH_NAME and $SESSION_ONLY",
                           "LONG_VALUE": "x" * 100}.items():
            FAKE.api("POST", "/projects/43/variables", ROOT_TOKEN, json={"key": key, "value": value}, expect=201)
        self.k.ok("export SESSION_ONLY=from-the-session")
        cell = self.load(43, "--only EXPAND_ME,LONG_VALUE,SCHEDULE_URL")
        self.assert_values(self.k, {"EXPAND_ME": "cost $5 in oncall/us-east-1, $NO_SUCH_NAME and $SESSION_ONLY",
                                    "LONG_VALUE": "x" * 100,
                                    "SCHEDULE_URL": "https://oncall.example.com/schedules/$SCHEDULE_ID",
                                    "REGION": None, "SERVICE_NAME": None})
        self.assertIn("NO_SUCH_NAME", cell.stderr)
        self.assertIn("SESSION_ONLY", cell.stderr)
        self.assertNotIn("SCHEDULE_ID", cell.stderr, "a raw value is never expanded, so it names nothing unknown")
        text = self.variables_table(cell, "platform/sre/oncall", count=3)
        row = self.table_row(text, "LONG_VALUE")
        self.assertIn("x" * 50, row)
        self.assertNotIn("x" * 61, row, "values are cut at 60 characters in the table")

    def test_only_and_prefix(self):
        """--only K1,K2 and --prefix P load just those; other keys stay as they were."""
        cell = self.load(42, "--only DB_USER,DB_NAME")
        self.assert_values(self.k, {"DB_USER": "runbook_ro", "DB_NAME": "inventory", "DB_PASSWORD": None,
                                    "REGION": None, "KUBECONFIG": None})
        self.variables_table(cell, "ops/runbooks", count=2)
        self.load(42, "--prefix DB_")
        self.assert_values(self.k, {"DB_USER": "runbook_ro", "DB_NAME": "inventory", "DB_PASSWORD": "[MASKED]",
                                    "DB_ENDPOINT": "db.ops-shared.example.internal", "REGION": None,
                                    "KUBECONFIG": None, "PRIVATE_TOKEN": None})
        # expanded before the filter: NOTIFY_URL gets the job's REGION, which itself is not loaded
        self.load(43, "--only NOTIFY_URL")
        self.assert_values(self.k, {"NOTIFY_URL": "https://notify.example.com/us-east-1", "REGION": None})

    def test_only_with_a_missing_key_changes_nothing(self):
        self.k.unset_all()
        self.k.ok("export DB_USER=before")
        self.k.ok("%gitlab connect --project 42")
        cell = self.k.fail("%gitlab variables --only DB_USER,NO_SUCH_KEY", "GitLabError")
        self.assertIn("NO_SUCH_KEY", cell.evalue)
        self.assert_values(self.k, {"DB_USER": "before", "DB_NAME": None})


class Levels(GitlabTestCase):
    """Levels a token may not read are skipped with a notice; the rest are loaded."""

    shared_environment = {"OLIVIA_TOKEN": OLIVIA_TOKEN}

    def test_a_maintainer_gets_the_project_level_only(self):
        """alice, Maintainer of ops (not Owner, not admin), on ops/runbooks: the instance and group
        ops are skipped with a notice each on stderr; the project's variables are loaded."""
        self.k.unset_all()
        self.k.ok("%gitlab connect")
        cell = self.k.ok("%gitlab variables")
        notices = self.skipped_notices(cell)
        self.assertEqual(len(notices), 2, cell.stderr)
        self.assertTrue(any("instance" in n and "administrator" in n for n in notices), notices)
        self.assertTrue(any("ops" in n and "Owner" in n for n in notices), notices)
        self.assert_values(self.k, {"DB_USER": "runbook_ro", "DB_NAME": "inventory", "REGION": None,
                                    "SHARED_TOKEN": None, "DB_ENDPOINT": None, "DEPLOY_TARGET": None})
        self.assert_masked(self.k, "DB_PASSWORD", DB_PASSWORD)
        self.variables_table(cell, "ops/runbooks", count=5)
        self.k.unset_all()
        cell = self.k.ok("%gitlab variables --environment production")
        self.assert_values(self.k, {"DB_ENDPOINT": "db.ops.example.internal", "DEPLOY_TARGET": "prod.example.internal"})
        self.variables_table(cell, "ops/runbooks", "production", count=7)

    def test_a_group_owner_gets_the_group_level(self):
        """olivia, Owner of ops: group ops is read (its masked and file variables too); only the
        instance is skipped."""
        self.k.unset_all()
        self.k.ok("%gitlab connect --token-env OLIVIA_TOKEN")
        cell = self.k.ok("%gitlab variables")
        notices = self.skipped_notices(cell)
        self.assertEqual(len(notices), 1, cell.stderr)
        self.assertIn("instance", notices[0])
        self.assert_values(self.k, {"DB_ENDPOINT": "db.ops-shared.example.internal", "REGION": None})
        self.assert_masked(self.k, "SHARED_TOKEN", SHARED_TOKEN)
        path = pathlib.Path(self.k.values("KUBECONFIG_DATA")["KUBECONFIG_DATA"])
        self.assertEqual(path.read_text(encoding="utf-8"), KUBECONFIG_DATA_TEXT)

    def test_loaded_variables_are_exported(self):
        """A job's variables are in the environment of the programs a step starts."""
        self.k.unset_all()
        self.k.ok("%gitlab connect")
        self.k.ok("%gitlab variables --only DB_USER")
        self.assertEqual(self.k.ok("printenv DB_USER").stdout, "runbook_ro\n")

    def test_file_variables(self):
        """A file variable's value is the path of a file (mode 0600, the fixture's content) in a
        private folder (mode 0700, tejun-gitlab-* under TMPDIR), gone once the kernel has shut down."""
        k = self.kernel()
        cell = k.ok("%gitlab variables")
        path = pathlib.Path(k.values("KUBECONFIG")["KUBECONFIG"])
        self.assertTrue(path.is_absolute(), path)
        self.assertEqual(path.read_text(encoding="utf-8"), KUBECONFIG_TEXT)
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        # the private folder: in TMPDIR, named tejun-gitlab-*; the file may sit deeper in it
        folder = next((p for p in path.parents if p.name.startswith("tejun-gitlab-")), None)
        self.assertIsNotNone(folder, f"{path} is not in a tejun-gitlab-* folder")
        self.assertEqual(folder.parent.resolve(), k.tmp.resolve())
        self.assertEqual(stat.S_IMODE(folder.stat().st_mode), 0o700)
        row = table_cells(self.table_row(self.variables_table(cell, "ops/runbooks"), "KUBECONFIG"))
        self.assertEqual(row[3], "file", row)
        self.assertTrue(row[-1].startswith(str(path)[:40]), f"the table does not show the path: {row}")
        self.assertEqual(k.ok('cat "$KUBECONFIG"').stdout, KUBECONFIG_TEXT)
        k.shutdown()
        self.assertFalse(folder.exists(), "the file variables' folder outlived the kernel")


# ---- masked values ----

class Masking(GitlabTestCase):
    """As root on ops/runbooks, production: DB_PASSWORD, SHARED_TOKEN and PRIVATE_TOKEN (alice's
    token) are masked, and so is root's token itself. DSN is built from DB_PASSWORD by expansion."""

    shared_environment = {"GITLAB_ACCESS_TOKEN": ROOT_TOKEN}
    DSN = "postgresql://app:$DB_PASSWORD@db.example.internal/app"

    @classmethod
    def prepare(cls, kernel):
        FAKE.api("POST", "/projects/42/variables", ROOT_TOKEN, json={"key": "DSN", "value": cls.DSN}, expect=201)
        kernel.ok("%gitlab connect")
        cls.loaded = kernel.ok("%gitlab variables --environment production")
        FAKE.reset()

    def setUp(self):
        super().setUp()
        FAKE.clear_requests()

    def test_the_table_masks_them(self):
        text = self.variables_table(self.loaded, "ops/runbooks", "production")
        for name in ("DB_PASSWORD", "SHARED_TOKEN", "PRIVATE_TOKEN"):
            self.assertIn("[MASKED]", self.table_row(text, name))

    def test_printed_values_are_masked(self):
        cell = self.k.ok('echo "$DB_PASSWORD|$SHARED_TOKEN|$PRIVATE_TOKEN|$GITLAB_ACCESS_TOKEN"\n'
                         'echo "$DB_PASSWORD" >&2')
        self.assertEqual(cell.stdout, "[MASKED]|[MASKED]|[MASKED]|[MASKED]\n")
        self.assertEqual(cell.stderr, "[MASKED]\n")

    def test_a_value_split_across_two_writes(self):
        cell = self.k.ok("printf '%s' \"${DB_PASSWORD:0:5}\"; sleep 0.3; printf '%s\\n' \"${DB_PASSWORD:5}\"")
        self.assertEqual(cell.stdout, "[MASKED]\n")

    def test_a_value_expanded_into_another(self):
        self.assertEqual(self.k.ok('echo "$DSN"').stdout, "postgresql://app:[MASKED]@db.example.internal/app\n")

    def test_in_the_error_of_a_failing_step(self):
        cell = self.k.fail('echo "login failed for $DB_PASSWORD" >&2; false')
        self.assertIn("login failed for [MASKED]", cell.evalue)
        self.assertEqual(cell.stderr, "login failed for [MASKED]\n")

    def test_in_env(self):
        self.assertEqual(self.k.ok("%env DB_PASSWORD").displays()[0]["text/plain"].strip(), "[MASKED]")
        self.k.ok("%env")  # the whole listing; checked for every secret like every cell

    def test_in_the_url_of_a_failing_http_request(self):
        cell = self.k.fail("%%http --fail\nGET {GITLAB_URL}/api/v4/projects/42/variables/{DB_PASSWORD}\n"
                           "PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}", "HTTPError")
        self.assertIn("404", cell.evalue)
        self.assertIn("[MASKED]", cell.evalue)
        self.assertIn("[MASKED]", cell.stdout)  # the request as echoed

    def test_in_the_body_of_a_failing_http_response(self):
        """The fake's control routes echo an unknown path in a 404 body: the secret comes back in it."""
        cell = self.k.fail("%%http --fail\nGET {GITLAB_URL}/-/fake/{DB_PASSWORD}", "HTTPError")
        self.assertIn("404", cell.evalue)
        self.assertIn("[MASKED]", cell.evalue)

    def test_in_the_body_of_an_http_request(self):
        """A request body holding secrets, answered 400 (a key may not hold `-`): nothing shows them."""
        cell = self.k.fail('%%http --fail\nPOST {GITLAB_URL}/api/v4/projects/42/variables\n'
                           'PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}\nContent-Type: application/json\n\n'
                           '{"key": "{DB_PASSWORD}", "value": "{SHARED_TOKEN}"}', "HTTPError")
        self.assertIn("400", cell.evalue)
        posted = FAKE.requests("/api/v4/projects/42/variables")
        self.assertEqual(len(posted), 1)
        self.assertTrue(DB_PASSWORD in posted[0]["body"], "the request did not go out with the value itself")

    def test_in_an_http_response_and_its_out_file(self):
        """GitLab's answer holds the masked values: masked in the display and in --out FILE."""
        cell = self.k.ok("%%http --out variables.json\nGET {GITLAB_URL}/api/v4/projects/42/variables\n"
                         "PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}")
        self.assertIn('"value": "[MASKED]"', cell.display()["text/plain"])
        saved = (self.k.work / "variables.json").read_text(encoding="utf-8")
        assert_no_secrets(saved, "the --out file")
        self.assertIn("[MASKED]", saved)


# ---- failures: all or nothing ----

class Faults(GitlabTestCase):
    """As alice on ops/runbooks. Each failure is a GitLabError that leaves the session as it was:
    DB_USER and DB_NAME keep their sentinel values, DB_PASSWORD and KUBECONFIG stay unset."""

    shared_environment = {"CAROL_TOKEN": CAROL_TOKEN}
    SENTINEL = {"DB_USER": "before", "DB_NAME": "before", "DB_PASSWORD": None, "KUBECONFIG": None}
    VARIABLES = "/api/v4/projects/"  # the project's variables, by id or by path (connect has run already)

    def setUp(self):
        super().setUp()
        FAKE.reset()
        self.k.unset_all()
        self.k.ok("export DB_USER=before DB_NAME=before")
        self.k.ok("%gitlab connect")
        FAKE.clear_requests()

    def assert_unchanged(self):
        self.assert_values(self.k, self.SENTINEL)

    def test_500_after_the_retries(self):
        FAKE.fault(path_prefix=self.VARIABLES, method="GET", status=500, count=10)
        cell = self.k.fail("%gitlab variables", "GitLabError")
        self.assertIn("500", cell.evalue)
        self.assertEqual(len(faulted()), 3, "a GET is tried 3 times")
        self.assert_unchanged()

    def test_one_503_is_retried(self):
        FAKE.fault(path_prefix=self.VARIABLES, method="GET", status=503, count=1)
        cell = self.k.ok("%gitlab variables")
        self.assertEqual(len(faulted()), 1)
        self.variables_table(cell, "ops/runbooks")
        self.assert_values(self.k, {"DB_USER": "runbook_ro", "DB_NAME": "inventory"})

    def test_no_answer_within_the_timeout(self):
        self.k.ok("%gitlab connect --timeout 1")
        FAKE.fault(path_prefix=self.VARIABLES, method="GET", delay_ms=3000, count=5)
        cell = self.k.fail("%gitlab variables", "GitLabError")
        self.assertTrue("timed out" in cell.evalue or "no response within" in cell.evalue, cell.evalue)
        self.assertLess(cell.seconds, QUICK)
        self.assertEqual(len(faulted()), 1, "a timeout is not retried")
        self.assert_unchanged()

    def test_dropped_connections(self):
        FAKE.fault(path_prefix=self.VARIABLES, method="GET", action="drop", count=10)
        cell = self.k.fail("%gitlab variables", "GitLabError")
        self.assertIn("connection", cell.evalue.lower())
        self.assertGreaterEqual(len(faulted()), 2, "a dropped connection is retried")
        self.assert_unchanged()

    def test_403_names_the_role_needed(self):
        """carol, Reporter of ops/runbooks: connect works, its variables need Maintainer."""
        self.k.ok("%gitlab connect --token-env CAROL_TOKEN")
        cell = self.k.fail("%gitlab variables", "GitLabError")
        self.assertIn("Maintainer", cell.evalue)
        self.assertIn("CAROL_TOKEN", cell.evalue)
        self.assertIn("ops/runbooks", cell.evalue)
        self.assert_unchanged()

    def test_a_project_that_does_not_exist(self):
        for project in ("nope/missing", "999"):
            with self.subTest(project=project):
                cell = self.k.fail(f"%gitlab connect --project {project}", "GitLabError")
                self.assertIn("not found", cell.evalue)
                self.assertIn(project, cell.evalue)
        self.assert_unchanged()

    def test_401_names_the_token_variable(self):
        """An expired token in GITLAB_ACCESS_TOKEN: GitLab's message and the variable's name."""
        k = self.kernel(GITLAB_ACCESS_TOKEN=ALICE_EXPIRED_TOKEN)
        k.ok("export DB_USER=before DB_NAME=before")
        for code in ("%gitlab variables", "%gitlab connect"):
            with self.subTest(code=code):
                cell = k.fail(code, "GitLabError")
                self.assertIn("GITLAB_ACCESS_TOKEN", cell.evalue)
                self.assertIn("Token is expired", cell.evalue)
        self.assert_values(k, self.SENTINEL)


# ---- HTTP steps ----

class Http(GitlabTestCase):
    """%%http cells as alice; connected first, so that her token is one of the session's secrets."""

    shared_environment = {}
    USER = "%%http\nGET {GITLAB_URL}/api/v4/user\nPRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}"

    @classmethod
    def prepare(cls, kernel):
        kernel.ok("%gitlab connect")

    def setUp(self):
        super().setUp()
        FAKE.reset()

    def test_get_shows_the_response(self):
        """The request echoed on stdout (token masked), then a display: text/plain with the status
        line, headers and the JSON pretty-printed, and application/json."""
        cell = self.k.ok(self.USER)
        self.assertTrue(cell.stdout.startswith(f"GET {FAKE.url}/api/v4/user"), cell.stdout)
        self.assertIn("PRIVATE-TOKEN: [MASKED]", cell.stdout)
        data = cell.display()
        self.assertEqual(data["application/json"]["username"], "alice")
        self.assertTrue(data["text/plain"].startswith("HTTP/1.1 200"), data["text/plain"])
        self.assertIn('\n  "username": "alice"', data["text/plain"])
        self.assertEqual([sent_token(r) for r in FAKE.requests("/api/v4/user")], [ALICE_TOKEN])

    def test_comments_and_a_bare_url(self):
        cell = self.k.ok("%%http\n# which GitLab\n// answers\n{GITLAB_URL}/api/v4/version\n"
                         "PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}")
        self.assertTrue(cell.display()["application/json"]["version"].startswith("17.5.0"), str(cell))
        self.assertEqual([r["method"] for r in FAKE.requests("/api/v4/version")], ["GET"])

    def test_post_creates_a_variable(self):
        cell = self.k.ok('%%http\nPOST {GITLAB_URL}/api/v4/projects/42/variables\n'
                         'PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}\nContent-Type: application/json\n\n'
                         '{"key": "HTTP_TEST", "value": "made-by-http"}')
        self.assertTrue(cell.display()["text/plain"].startswith("HTTP/1.1 201"), str(cell))
        made = FAKE.api("GET", "/projects/42/variables/HTTP_TEST", ALICE_TOKEN, expect=200)
        self.assertEqual(made.data["value"], "made-by-http")
        cell = self.k.ok("%%http\nGET {GITLAB_URL}/api/v4/projects/42/variables/HTTP_TEST\n"
                         "PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}")
        self.assertEqual(cell.display()["application/json"]["value"], "made-by-http")

    def test_requests_separated_by_hashes_run_in_order(self):
        cell = self.k.ok('%%http\nPOST {GITLAB_URL}/api/v4/projects/42/variables\n'
                         'PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}\nContent-Type: application/json\n\n'
                         '{"key": "HASHES", "value": "two-steps"}\n'
                         '### then read it back\n'
                         'GET {GITLAB_URL}/api/v4/projects/42/variables/HASHES\nPRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}\n')
        displays = cell.displays()
        self.assertEqual([d["text/plain"].split("\n")[0].split(" ")[1] for d in displays], ["201", "200"], str(cell))
        self.assertEqual(displays[1]["application/json"]["value"], "two-steps")
        self.assertEqual([r["method"] for r in FAKE.requests("/api/v4/projects/42/variables")], ["POST", "GET"])

    def test_fail_makes_a_404_an_error(self):
        code = "%%http{}\nGET {{GITLAB_URL}}/api/v4/projects/999\nPRIVATE-TOKEN: {{GITLAB_ACCESS_TOKEN}}"
        cell = self.k.fail(code.format(" --fail"), "HTTPError")
        self.assertTrue(cell.evalue.startswith(f"GET {FAKE.url}/api/v4/projects/999: 404 Not Found"), cell.evalue)
        self.assertIn("Project Not Found", cell.evalue)  # the start of the body
        cell = self.k.ok(code.format(""))
        self.assertTrue(cell.display()["text/plain"].startswith("HTTP/1.1 404"), str(cell))

    def test_timeout(self):
        FAKE.fault(path_prefix="/api/v4/version", delay_ms=3000, count=5)
        cell = self.k.fail("%%http --timeout 1\nGET {GITLAB_URL}/api/v4/version", "TimeoutError")
        self.assertLess(cell.seconds, QUICK)

    def test_connection_refused(self):
        self.k.fail(f"%%http --timeout 5\nGET http://127.0.0.1:{free_port()}/", "ConnectionError")

    def test_limit_cuts_the_shown_body(self):
        cell = self.k.ok(self.USER.replace("%%http", "%%http --limit 100"))
        text = cell.display()["text/plain"]
        notice = re.search(r"(\d+) bytes in all; showing the first 100\b", text)
        self.assertIsNotNone(notice, text)
        self.assertGreater(int(notice.group(1)), 100)
        self.assertIn("--out", text)
        self.assertNotIn("commit_email", text, "the end of the body is shown")

    def test_out_writes_the_whole_body(self):
        self.k.ok(self.USER.replace("%%http", "%%http --limit 100 --out user.json"))
        saved = json.loads((self.k.work / "user.json").read_text(encoding="utf-8"))
        self.assertEqual(saved, FAKE.api("GET", "/user", ALICE_TOKEN, expect=200).data)

    def test_an_unset_variable_sends_nothing(self):
        FAKE.clear_requests()
        cell = self.k.fail("%%http\nGET {GITLAB_URL}/api/v4/user\nPRIVATE-TOKEN: {TEJUN_TEST_UNSET_NAME}")
        self.assertIn("TEJUN_TEST_UNSET_NAME", cell.evalue)
        self.assertEqual(FAKE.requests(), [])


# ---- in runbooks, through `tejun run` ----

HTTP_RUNBOOK = """\
---
kernel: tejun
---

# Ask GitLab

```sh {name=connect}
%gitlab connect
```

```http {name=user fail=true timeout=5 out=user.json}
GET {GITLAB_URL}/api/v4/user
PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}
```

```http {name=missing fail=true timeout=5}
GET {GITLAB_URL}/api/v4/projects/999
PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}
```

```sh {name=never}
echo never
```
"""

MASKING_RUNBOOK = """\
---
kernel: tejun
---

```sh {name=variables}
%gitlab variables --environment production
```

```sh {name=show}
echo "password $DB_PASSWORD token $PRIVATE_TOKEN shared $SHARED_TOKEN"
printf '%s' "${DB_PASSWORD:0:5}"; sleep 0.3; printf '%s\\n' "${DB_PASSWORD:5}"
echo "$KUBECONFIG" > kubeconfig-path.txt
```

```http {name=variable fail=true timeout=5}
GET {GITLAB_URL}/api/v4/projects/42/variables/DB_PASSWORD
PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}
```

```http {name=leak fail=true timeout=5}
GET {GITLAB_URL}/api/v4/projects/42/variables/{DB_PASSWORD}
PRIVATE-TOKEN: {GITLAB_ACCESS_TOKEN}
```
"""


def step_named(notebook, name):
    found = [cell for cell in notebook.cells if cell.cell_type == "code"
             and cell.metadata.get("tejun", {}).get("attributes", {}).get("name") == name]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} steps named {name!r}")
    return found[0]


def stream_text(cell, name="stdout"):
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream" and o["name"] == name)


def errors_of(cell):
    return [o for o in cell.outputs if o["output_type"] == "error"]


def plain_texts(cell):
    return [o["data"]["text/plain"] for o in cell.outputs if o["output_type"] in ("display_data", "execute_result")]


class Runbooks(GitlabTestCase):
    def setUp(self):
        super().setUp()
        FAKE.reset()
        folder = tempfile.TemporaryDirectory(prefix="run-", dir=self.root)
        self.addCleanup(folder.cleanup)
        self.work = pathlib.Path(folder.name)

    def tejun_run(self, runbook, text, output, **environment):
        """`tejun run RUNBOOK OUTPUT` in self.work with the fake's variables; checks the saved
        notebook and the run's output for secrets; returns (completed process, notebook)."""
        (self.work / runbook).write_text(text, encoding="utf-8")
        base = {"GITLAB_URL": FAKE.url, "GITLAB_PROJECT_ID": "42", "GITLAB_ACCESS_TOKEN": ALICE_TOKEN,
                "TMPDIR": str(self.work)}
        base.update(environment)
        result = subprocess.run([TEJUN, "run", runbook, output], cwd=self.work, env=clean_environment(**base),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        saved = (self.work / output).read_text(encoding="utf-8")
        assert_no_secrets(saved, f"the saved {output}")
        assert_no_secrets(result.stdout + result.stderr, "the output of tejun run")
        notebook = nbformat.reads(saved, as_version=4)
        nbformat.validate(notebook)
        return result, notebook

    def test_http_fences(self):
        """```http steps: attributes fail, timeout and out are %%http's options; a 404 with
        fail=true fails the run at that step."""
        result, notebook = self.tejun_run("ask.md", HTTP_RUNBOOK, "out.ipynb")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("@alice", stream_text(step_named(notebook, "connect")))
        user = step_named(notebook, "user")
        self.assertEqual(errors_of(user), [])
        self.assertTrue(plain_texts(user)[0].startswith("HTTP/1.1 200"), user.outputs)
        self.assertIn("[MASKED]", stream_text(user))
        self.assertEqual(json.loads((self.work / "user.json").read_text(encoding="utf-8"))["username"], "alice")
        missing = errors_of(step_named(notebook, "missing"))
        self.assertEqual([e["ename"] for e in missing], ["HTTPError"])
        self.assertIn("404", missing[0]["evalue"])
        never = step_named(notebook, "never")
        self.assertIsNone(never.execution_count)
        self.assertEqual(never.outputs, [])

    def test_masked_values_stay_masked_in_the_saved_notebook(self):
        """As root: every masked value, the token, a value split across writes and a value in a
        failing request's URL are [MASKED] in the notebook; the file variables' folder is gone
        after the run."""
        result, notebook = self.tejun_run("mask.md", MASKING_RUNBOOK, "out.ipynb", GITLAB_ACCESS_TOKEN=ROOT_TOKEN)
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(stream_text(step_named(notebook, "show")),
                         "password [MASKED] token [MASKED] shared [MASKED]\n[MASKED]\n")
        self.assertIn('"value": "[MASKED]"', plain_texts(step_named(notebook, "variable"))[0])
        leak = errors_of(step_named(notebook, "leak"))
        self.assertEqual([e["ename"] for e in leak], ["HTTPError"])
        self.assertIn("[MASKED]", leak[0]["evalue"])
        kubeconfig = pathlib.Path((self.work / "kubeconfig-path.txt").read_text(encoding="utf-8").strip())
        folder = next((p for p in kubeconfig.parents if p.name.startswith("tejun-gitlab-")), None)
        self.assertIsNotNone(folder, f"{kubeconfig} is not in a tejun-gitlab-* folder")
        self.assertEqual(folder.parent, self.work, "not in the run's TMPDIR")
        self.assertFalse(folder.exists(), "the file variables' folder outlived the run")


if __name__ == "__main__":
    unittest.main()
