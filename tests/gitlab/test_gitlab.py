"""GitLab steps (`%gitlab connect|whoami|project|variables`) on the tejun kernel, against the GitLab
stand-in (tests/python/gitlab_fake.py, one server for the module, reset between tests that change
it): connecting, which variables a job sees, levels, file variables, masking, and failures.
Kernels, environments and the secrets checks: gitlab_kernel.py.

The values a CI job would see come from the fake's README ("What a job sees"), walked as root.

Runs as `python3 -m unittest -v test_gitlab` in this folder with $TEJUN the tejun binary.
"""

import hashlib
import pathlib
import re
import stat
import unittest

from gitlab_kernel import (ALICE_EXPIRED_TOKEN, ALICE_TOKEN, CAROL_TOKEN, DB_PASSWORD, FAKE, OLIVIA_TOKEN,
                           PAGER_KEY, ROOT_TOKEN, SECRETS, SHARED_TOKEN, SKIPPED, GitlabTestCase, sent_token)
from gitlab_kernel import setUpModule  # noqa: F401 (unittest calls it: the fake and the sandbox for this module)

KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\n"  # ops/runbooks' file variable KUBECONFIG
KUBECONFIG_DATA_TEXT = ("apiVersion: v1\nkind: Config\nclusters:\n- name: ops\n  cluster:\n"
                        "    server: https://k8s.ops.example.internal\n")  # group ops' file variable
HEADER = re.compile(r"loaded (\d+) variables? from (\S+) \((?:environment (.+)|no environment)\):")


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def table_cells(line):
    """The cells of a line of a text table, its columns set apart by `|` or by two spaces or more."""
    return [cell for cell in re.split(r"\s*\|\s*|\s{2,}", line.strip()) if cell]


def faulted(path_prefix="/api/v4/"):
    """The requests the fake answered with a fault (status, delay or drop)."""
    return [r for r in FAKE.requests(path_prefix) if r.get("fault")]


class VariablesTestCase(GitlabTestCase):
    """GitlabTestCase with the checks of what `%gitlab variables` loaded and showed."""

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

class Connect(VariablesTestCase):
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

class Precedence(VariablesTestCase):
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
    RUNBOOKS_COMMON = {"REGION": "eu-west-1", "LOG_LEVEL": "warn", "DEPLOY_HOST": None, "DB_USER": "runbook_ro",
                       "DB_NAME": "inventory", "NOTIFY_URL": "https://notify.example.com/eu-west-1",
                       "SERVICE_NAME": None}
    COMMON = {43: ONCALL_COMMON, 42: RUNBOOKS_COMMON}  # what every job of the project sees

    def assert_job(self, project, environment=None, **values):
        """Loads PROJECT's variables (for ENVIRONMENT): the values every job of it sees, and VALUES
        (None: unset); returns the cell."""
        cell = self.load(project, f"--environment {environment}" if environment else "")
        self.assert_values(self.k, {**self.COMMON[project], **values})
        return cell

    def test_oncall_without_an_environment(self):
        cell = self.assert_job(43, LOG_LEVEL="debug", DEPLOY_HOST="deploy.platform.example.internal")
        self.assertEqual(self.skipped_notices(cell), [], "root may read every level")
        self.assert_masked(self.k, "PAGER_KEY", PAGER_KEY)  # protected: loaded by default
        text = self.variables_table(cell, "platform/sre/oncall", count=9)
        self.assertIn("us-east-1", self.table_row(text, "REGION"))
        self.assertIn("platform", self.table_row(text, "REGION"))  # the level it came from
        self.assertIn("[MASKED]", self.table_row(text, "PAGER_KEY"))

    def test_oncall_production(self):
        cell = self.assert_job(43, "production", LOG_LEVEL="debug", DEPLOY_HOST="prod.sre.example.internal")
        self.variables_table(cell, "platform/sre/oncall", "production", count=9)

    def test_oncall_review_app_1(self):
        self.assert_job(43, "review/app-1", LOG_LEVEL="trace", DEPLOY_HOST="app-1.review.platform.example.internal")

    def test_oncall_review_app_2(self):
        self.assert_job(43, "review/app-2", LOG_LEVEL="trace", DEPLOY_HOST="review.platform.example.internal")

    def test_runbooks_without_an_environment(self):
        cell = self.assert_job(42, DB_ENDPOINT="db.ops-shared.example.internal", DEPLOY_TARGET=None)
        self.assert_masked(self.k, "DB_PASSWORD", DB_PASSWORD)
        self.assert_masked(self.k, "SHARED_TOKEN", SHARED_TOKEN)
        self.assert_masked(self.k, "PRIVATE_TOKEN", ALICE_TOKEN)
        self.variables_table(cell, "ops/runbooks")

    def test_runbooks_production(self):
        self.assert_job(42, "production", DB_ENDPOINT="db.ops.example.internal", DEPLOY_TARGET="prod.example.internal")

    def test_runbooks_staging(self):
        self.assert_job(42, "staging", DB_ENDPOINT="db.ops-shared.example.internal",
                        DEPLOY_TARGET="staging.example.internal")

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


class Levels(VariablesTestCase):
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

class Masking(VariablesTestCase):
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
        SECRETS.assert_absent(saved, "the --out file")
        self.assertIn("[MASKED]", saved)


# ---- failures: all or nothing ----

class Faults(VariablesTestCase):
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


if __name__ == "__main__":
    unittest.main()
