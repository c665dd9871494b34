"""Shared helpers for tests that drive the tejun binary (given by $TEJUN)."""

import os
import pathlib
import socket
import subprocess
import tempfile

TEJUN = os.environ.get("TEJUN", "tejun")
DATA_DIR = pathlib.Path(os.environ.get("TEJUN_TEST_DATA_DIR", pathlib.Path(__file__).resolve().parent.parent))
CORPUS = DATA_DIR / "corpus"


def run_tejun(*args, check=False):
    """Runs tejun with a deadline; returns the CompletedProcess."""
    result = subprocess.run([TEJUN, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tejun {' '.join(map(str, args))} failed: {result.stderr}")
    return result


class TemporaryFolder:
    """A folder removed at the end of a test (use with addCleanup)."""

    def __init__(self):
        self._handle = tempfile.TemporaryDirectory(prefix="tejun-test-")
        self.path = pathlib.Path(self._handle.name)

    def cleanup(self):
        self._handle.cleanup()


def folder_for(test, prefix, parent=None):
    """A new temporary folder (its resolved path) in PARENT, removed when TEST (a TestCase) ends."""
    handle = tempfile.TemporaryDirectory(prefix=prefix, dir=parent)
    test.addCleanup(handle.cleanup)
    return pathlib.Path(handle.name).resolve()


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment_without(prefixes=(), names=(), **extra):
    """This process's environment without the variables whose names start with one of PREFIXES
    or are among NAMES, plus EXTRA (a value of None leaves the name out)."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(tuple(prefixes)) and name not in names}
    for name, value in extra.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


class Secrets(list):
    """Texts that must never show: not in a cell's output, a log, a saved file, nor in the message
    of a failing test (which names a secret by its first four characters only)."""

    def plus(self, *more):
        """These secrets and MORE."""
        return Secrets([*self, *more])

    def redacted(self, text):
        """TEXT with every secret replaced."""
        for secret in self:
            text = text.replace(secret, "<secret>")
        return text

    def assert_absent(self, text, what):
        """Fails when a secret is in TEXT, naming WHAT (a text, or a function giving it) redacted."""
        for secret in self:
            if secret in text:
                what = what() if callable(what) else what
                raise AssertionError(f"the secret {secret[:4]}… is in {self.redacted(what)}")
