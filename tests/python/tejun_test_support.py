"""Shared helpers for tests that drive the tejun binary (given by $TEJUN)."""

import os
import pathlib
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
