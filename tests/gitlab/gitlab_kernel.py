"""What the GitLab tests (test_gitlab, test_http, test_demo) share: the GitLab stand-in
(tests/python/gitlab_fake.py) of the test module, the example's secrets, the environment a kernel
or a run gets, and tejun kernels started for a test class.

Kernels are driven through jupyter_client in a sandboxed Jupyter tree
(tests/protocol/kernel_test_support.JupyterSandbox), each with its own working directory and
TMPDIR, an environment free of the caller's GitLab, CI and database variables, and the fake's
URL, project and a token in GITLAB_URL, GITLAB_PROJECT_ID and GITLAB_ACCESS_TOKEN (other users'
tokens in other variables, for --token-env). Cell code never holds a secret: tokens come from the
environment, masked values are compared through their SHA-256. Every iopub message of every cell
and every kernel's log (at debug level) are checked for the example's masked values and tokens.

Importing this module puts tests/python and tests/protocol on sys.path: import it before their
modules. A test module that imports setUpModule from here gets one fake (FAKE) and one Jupyter
sandbox for its tests.
"""

import pathlib
import re
import sys
import tempfile
import textwrap
import unittest

HERE = pathlib.Path(__file__).resolve().parent
# The shared helpers: tests/python (the GitLab fake, the cluster) and tests/protocol (the Jupyter sandbox).
sys.path[:0] = [str(HERE.parent / "python"), str(HERE.parent / "protocol")]

import kernel_test_support as support  # noqa: E402
from gitlab_fake import (ALICE_EXPIRED_TOKEN, ALICE_TOKEN, CAROL_TOKEN, OLIVIA_TOKEN, ROOT_TOKEN,  # noqa: E402
                         GitlabFake)
from tejun_test_support import Secrets, environment_without  # noqa: E402

KERNEL_NAME = "tejun-gitlab"

# The example's masked values (fixtures.json) and every token a kernel here is given.
DB_PASSWORD = "S3cr3t-Passw0rd"  # ops/runbooks, masked
SHARED_TOKEN = "ops-Shared-T0ken-0010"  # group ops, masked
PAGER_KEY = "pgr-Sre-Key-0021"  # group platform/sre, masked and protected
# ops/runbooks' PRIVATE_TOKEN (masked and protected) is alice's token.
SECRETS = Secrets([DB_PASSWORD, SHARED_TOKEN, PAGER_KEY, ALICE_TOKEN, ROOT_TOKEN, OLIVIA_TOKEN, CAROL_TOKEN,
                   ALICE_EXPIRED_TOKEN])
# Every key of the example's variables, unset before each load so that none survives from an earlier one.
ALL_KEYS = ["REGION", "LOG_LEVEL", "NOTIFY_URL", "DB_ENDPOINT", "SHARED_TOKEN", "KUBECONFIG_DATA",
            "ALERT_CHANNEL", "DEPLOY_HOST", "PAGER_KEY", "RUNBOOK_URL", "SCHEDULE_URL", "SERVICE_NAME",
            "DB_USER", "DB_PASSWORD", "DB_NAME", "PRIVATE_TOKEN", "DEPLOY_TARGET", "KUBECONFIG"]
SKIPPED = "%gitlab variables: skipped"  # how a notice of a level the token may not read starts


class RunningFake:
    """The GitLab stand-in of the test module being run: started by setUpModule, stopped once
    the module's tests are done. Its attributes are the running GitlabFake's."""

    def __init__(self):
        self._fake = None

    def start(self):
        self._fake = GitlabFake()

    def stop(self):
        fake, self._fake = self._fake, None
        if fake is not None:
            fake.stop()

    def __getattr__(self, name):
        if self._fake is None:
            raise AttributeError(f"no GitLab stand-in is running (setUpModule starts it): {name}")
        return getattr(self._fake, name)


FAKE = RunningFake()


def setUpModule():
    """One GitLab stand-in (FAKE) and one Jupyter sandbox for the module's tests."""
    FAKE.start()
    unittest.addModuleCleanup(FAKE.stop)
    unittest.addModuleCleanup(support.sandbox_for_runs(KERNEL_NAME).close)


def clean_environment(**extra):
    """The sandbox's environment without anything that picks a GitLab, a CI job or a database,
    plus EXTRA (a value of None leaves the name out)."""
    return environment_without(("GITLAB_", "CI_", "PG"), ("PRIVATE_TOKEN", "DATABASE_URL", "TMPDIR"), **extra)


def alice_on_runbooks(url, **extra):
    """A clean environment with GitLab at URL, project 42 (ops/runbooks) and alice's token, plus EXTRA."""
    return clean_environment(**{"GITLAB_URL": url, "GITLAB_PROJECT_ID": "42", "GITLAB_ACCESS_TOKEN": ALICE_TOKEN,
                                **extra})


def sent_token(request):
    """The token a logged request carried (PRIVATE-TOKEN or Authorization: Bearer)."""
    headers = request["headers"]
    if "private-token" in headers:
        return headers["private-token"]
    return headers.get("authorization", "").removeprefix("Bearer ")


class Kernel(support.LoggedKernel):
    """A tejun kernel (kernel_test_support.LoggedKernel) with its own working directory (work)
    and TMPDIR (tmp). Every cell's messages are checked for SECRETS as they come."""

    def __init__(self, folder, environment):
        self.work = folder / "work"
        self.tmp = folder / "tmp"
        self.work.mkdir(parents=True)
        self.tmp.mkdir()
        super().__init__(KERNEL_NAME, dict(environment, TMPDIR=str(self.tmp)), self.work, folder / "kernel.log",
                         SECRETS)

    def shutdown(self, now=False):
        """A graceful shutdown by default: the kernel gets to remove its files."""
        super().shutdown(now)

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
        return Kernel(cls.root / f"kernel-{cls.kernel_count}", alice_on_runbooks(FAKE.url, **environment))

    def setUp(self):
        self.addCleanup(FAKE.clear_faults)

    def kernel(self, **environment):
        """A kernel of this test's own, closed (and its log checked) when the test ends."""
        kernel = self.start_kernel(**environment)
        self.addCleanup(kernel.close)
        return kernel
