"""The GitLab demo runbook end to end: examples/gitlab-demo.md, the same as a notebook
(examples/gitlab-demo.ipynb), and its Python variant (examples/gitlab-demo-python.ipynb, on
Debian's ipykernel with python3-gitlab and python3-psycopg2), each run with `tejun run` against
the GitLab stand-in (tests/python/gitlab_fake.py) and a real PostgreSQL server
(tests/python/postgres_cluster.py).

As alice (Maintainer of ops/runbooks), setUpModule points the project's variables at the test
server through GitLab's own API: DB_USER, DB_PASSWORD (masked), DB_ENDPOINT (host:port, the
`production` one) and DB_NAME. Each run gets only GITLAB_URL, GITLAB_PROJECT_ID=42 and alice's
token in GITLAB_ACCESS_TOKEN; it must succeed, show rows from the server, and leave neither the
password nor the token in the saved notebook or in what `tejun run` printed.

Runs as `python3 -m unittest -v test_demo` in this folder with $TEJUN the tejun binary.
"""

import pathlib
import re
import shutil
import unittest
import urllib.parse

# gitlab_kernel puts tests/python (the cluster) and tests/protocol (the Jupyter sandbox) on the path.
from gitlab_kernel import ALICE_TOKEN, SKIPPED, GitlabFake, alice_on_runbooks
import kernel_test_support as support
from postgres_cluster import PostgresCluster
from run_outputs import code_cells, dataresource, error_outputs, read_saved, stream_text, tejun_run
from tejun_test_support import Secrets, folder_for

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent.parent / "examples"
DEADLINE = 120  # seconds for one run of the demo

# The demo's database role. The cluster's own password ("p@ss:w/rd%1") cannot be a masked GitLab
# variable ('%' is not allowed), so the demo connects as a role of its own whose password can:
# 8 or more characters of GitLab's set for masked values, none that a URL must percent-encode.
DB_USER = "runbook_ro"
DB_PASSWORD = "Demo-Db-Passw0rd-4711"
DB_NAME = "inventory"
MASKABLE = re.compile(r"[\w@:.~+/=-]{8,}")  # GitLab's rule for a masked value, as the fake checks it

CLUSTER = None
FAKE = None
SECRETS = Secrets()  # texts that must never appear in a saved notebook or a run's output


def setUpModule():
    global CLUSTER, FAKE
    assert MASKABLE.fullmatch(DB_PASSWORD)
    CLUSTER = PostgresCluster()
    unittest.addModuleCleanup(CLUSTER.stop)
    FAKE = GitlabFake()
    unittest.addModuleCleanup(FAKE.stop)
    CLUSTER.psql(f"create role {DB_USER} login password '{DB_PASSWORD}'", database="postgres")
    CLUSTER.psql(f"create database {DB_NAME}", database="postgres")
    point_the_variables_at_the_cluster()
    # `tejun run` looks the kernel `tejun` up: this $TEJUN's, installed into a throwaway tree.
    # ipykernel's `python3` is still found in /usr/share/jupyter.
    unittest.addModuleCleanup(support.JupyterSandbox("tejun").close)
    for secret in (DB_PASSWORD, ALICE_TOKEN, CLUSTER.password):
        SECRETS.extend({secret, urllib.parse.quote(secret, safe="")})


def point_the_variables_at_the_cluster():
    """As alice, through the REST API: ops/runbooks' DB_* variables name the test server."""
    values = {"DB_USER": DB_USER, "DB_PASSWORD": DB_PASSWORD, "DB_NAME": DB_NAME}
    for key, value in values.items():
        FAKE.api("PUT", f"/projects/42/variables/{key}", ALICE_TOKEN, json={"value": value}, expect=200)
    # DB_ENDPOINT is the project's for `production` only (the group's default is left alone)
    FAKE.api("PUT", "/projects/42/variables/DB_ENDPOINT", ALICE_TOKEN, json={"value": f"127.0.0.1:{CLUSTER.port}"},
             params={"filter[environment_scope]": "production"}, expect=200)
    password = FAKE.api("GET", "/projects/42/variables/DB_PASSWORD", ALICE_TOKEN, expect=200).data
    if not password["masked"] or password["value"] != DB_PASSWORD:
        raise AssertionError(f"DB_PASSWORD is not the masked test password: {password['masked']=}")


def output_texts(cell):
    """Each output of CELL as text: a stream's text, a display's text/plain and text/html, an error's."""
    texts = []
    for output in cell.outputs:
        if output["output_type"] == "stream":
            texts.append(output["text"])
        elif output["output_type"] in ("display_data", "execute_result"):
            texts.append("\n".join(str(output["data"].get(kind, "")) for kind in ("text/plain", "text/html")))
        elif output["output_type"] == "error":
            texts.append(output["ename"] + ": " + output["evalue"])
    return texts


def all_streams(notebook, name):
    """What every step of NOTEBOOK wrote on the stream NAME."""
    return "".join(stream_text(cell, name) for cell in code_cells(notebook))


def table_rows(notebook):
    """The rows of every table a cell showed (application/vnd.dataresource+json)."""
    rows = []
    for cell in code_cells(notebook):
        for output in cell.outputs:
            resource = dataresource(output)
            if resource:
                rows.extend(resource.get("data", []))
    return rows


class Demo(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.work = folder_for(self, "gitlab-demo-test-")
        self.tmp = self.work / "tmp"
        self.tmp.mkdir()

    def run_example(self, name, *options):
        """`tejun run NAME out.ipynb OPTIONS` on a copy of examples/NAME, with the GitLab variables
        (and TMPDIR) in its environment; checks the saved notebook and what the run printed for
        the secrets and validates the notebook; returns it."""
        example = EXAMPLES / name
        self.assertTrue(example.is_file(), f"examples/{name} is not there")
        shutil.copy(example, self.work / name)
        environment = alice_on_runbooks(FAKE.url, TMPDIR=str(self.tmp), PYDEVD_DISABLE_FILE_VALIDATION="1")
        result = tejun_run(self.work, name, "out.ipynb", *options, environment=environment, timeout=DEADLINE)
        notebook = read_saved(self.work / "out.ipynb", result, SECRETS)
        self.assertEqual(result.returncode, 0, SECRETS.redacted(f"exit {result.returncode}\nstdout: {result.stdout}\n"
                                                                f"stderr: {result.stderr}"))
        for cell in code_cells(notebook):
            if cell.source.strip():
                self.assertIsInstance(cell.execution_count, int, f"a step did not run: {cell.source[:200]}")
            self.assertEqual(error_outputs(cell), [], f"a step failed: {cell.source[:200]}")
        return notebook

    def check_tejun_demo(self, notebook):
        """What the tejun kernel's demo shows: alice signed in, two levels skipped, the server's
        answer as alice's role on the demo database, and the endpoint ready."""
        stdout = all_streams(notebook, "stdout")
        self.assertIn("@alice", stdout)
        skipped = [line for line in all_streams(notebook, "stderr").splitlines() if line.startswith(SKIPPED)]
        self.assertEqual(len(skipped), 2, "alice may read neither the instance nor group ops")
        rows = table_rows(notebook)
        self.assertTrue(any(DB_USER in row.values() and DB_NAME in row.values() for row in rows),
                        f"no row from the server as {DB_USER} on {DB_NAME}: {rows}")
        self.assertIn(f"127.0.0.1:{CLUSTER.port}", stdout)
        self.assertIn("accepting connections", stdout)  # pg_isready
        self.assertEqual([p.name for p in self.tmp.iterdir() if p.name.startswith("tejun-gitlab-")], [],
                         "the file variables' folder outlived the run")

    def test_markdown_runbook(self):
        self.check_tejun_demo(self.run_example("gitlab-demo.md"))

    def test_notebook(self):
        self.check_tejun_demo(self.run_example("gitlab-demo.ipynb"))

    def test_python_notebook(self):
        """The same flow on ipykernel with python-gitlab and psycopg2: rows from the server, and
        the notebook's own outputs hold neither the password nor the token."""
        notebook = self.run_example("gitlab-demo-python.ipynb", "-k", "python3")
        texts = [text for cell in code_cells(notebook) for text in output_texts(cell)]
        lines = [line for text in texts for line in text.splitlines()]
        self.assertTrue(any("@alice" in line for line in lines), texts)
        # a row of the server's answer: a table line (cells set apart by `|`) holding both
        rows = [line for line in lines if {DB_USER, DB_NAME} <= {cell.strip() for cell in line.split("|")}]
        self.assertTrue(rows, f"no output shows a row from the server as {DB_USER} on {DB_NAME}: {texts}")
        counts = [int(n) for line in lines for n in re.findall(r"^\((\d+) rows?\)$", line.strip())]
        self.assertTrue(counts and min(counts) >= 1, f"a query returned no rows: {texts}")
        self.assertTrue(any("accepting connections" in line for line in lines), texts)  # pg_isready


if __name__ == "__main__":
    unittest.main()
