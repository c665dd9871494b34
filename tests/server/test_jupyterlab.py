"""`tejun server` driven by the real Jupyter client library, @jupyterlab/services from npm: the
script jupyterlab/services_test.mjs (run with Node) creates a session for a notebook with a
`tejun` kernel, talks to it over the channels WebSocket (kernel info, execute, interrupt,
restart), saves, reads, renames, checkpoints and deletes a notebook through the contents API, and
shuts the session down.

Runs as `python3 -m unittest -v test_jupyterlab` in this folder with $TEJUN the tejun binary,
`node` on PATH and the npm packages installed (`npm ci` in jupyterlab/): without them it fails.
"""

import os
import pathlib
import shutil
import subprocess

from server_support import TOKEN, ServerTestCase

FOLDER = pathlib.Path(__file__).resolve().parent / "jupyterlab"
NODE_DEADLINE = 180  # seconds for the whole script (each step has 30 s of its own)


class JupyterLabServicesTest(ServerTestCase):
    def test_jupyterlab_services(self):
        if not (FOLDER / "node_modules" / "@jupyterlab" / "services").is_dir():
            self.fail("@jupyterlab/services is not installed: run npm ci in tests/server/jupyterlab")
        node = shutil.which("node")
        if node is None:
            self.fail("node is not on PATH: install Node.js 20, then run npm ci in tests/server/jupyterlab")
        environment = dict(os.environ, TEJUN_SERVER_URL=f"http://127.0.0.1:{self.server.port}/",
                           TEJUN_SERVER_TOKEN=TOKEN)
        try:
            result = subprocess.run([node, "services_test.mjs"], cwd=FOLDER, env=environment,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=NODE_DEADLINE)
        except subprocess.TimeoutExpired as expired:
            output = (expired.output or b"").decode(errors="replace")
            self.fail(f"node services_test.mjs did not end within {NODE_DEADLINE} s:\n{output}"
                      f"\n--- server log ---\n{self.server.stderr()}")
        output = result.stdout.decode(errors="replace")
        if result.returncode != 0:
            self.fail(f"node services_test.mjs exited with {result.returncode}:\n{output}"
                      f"\n--- server log ---\n{self.server.stderr()}")
        self.assertIn("PASS: every step", output)
