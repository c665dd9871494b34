"""HTTP steps on the tejun kernel: `%%http` cells, and ```http runbook steps through `tejun run`,
against the GitLab stand-in (tests/python/gitlab_fake.py, one server for the module, reset between
tests that change it). Kernels, environments and the secrets checks: gitlab_kernel.py; every
notebook a run saves, and what the run printed, are checked for the example's secrets too.

Runs as `python3 -m unittest -v test_http` in this folder with $TEJUN the tejun binary.
"""

import json
import pathlib
import re
import time
import unittest

from gitlab_kernel import ALICE_TOKEN, FAKE, ROOT_TOKEN, SECRETS, GitlabTestCase, alice_on_runbooks, sent_token
from gitlab_kernel import setUpModule  # noqa: F401 (unittest calls it: the fake and the sandbox for this module)
from run_outputs import error_outputs, plain_texts, read_saved, step_named, stream_text, tejun_run
from tejun_test_support import folder_for, free_port


def wait_for(condition, seconds=30):
    """True once CONDITION() is, false after SECONDS (a deadline for what takes milliseconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


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
        self.assertIn("within 1 s", cell.evalue)

    def test_interrupt_stops_a_request_and_the_kernel_goes_on(self):
        """An interrupt ends a request that waits for a slow server (the kernel serves its control
        channel while it waits), for %%http and for %gitlab alike."""
        FAKE.fault(path_prefix="/api/v4/user", delay_ms=20000, count=5)
        for code in ("%%http --timeout 60\nGET {GITLAB_URL}/api/v4/user", "%gitlab connect --timeout 60"):
            msg_id = self.k.execute(code)
            self.assertTrue(wait_for(lambda: FAKE.requests("/api/v4/user")), "the request never reached the stand-in")
            self.k.km.interrupt_kernel()
            cell = self.k.collect(msg_id, code)
            self.assertEqual(cell.reply["ename"], "KeyboardInterrupt", str(cell))
            self.assertIn("interrupted", cell.evalue)
            FAKE.clear_requests()
        self.assertEqual(self.k.ok("echo alive").stdout, "alive\n")

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


class Runbooks(GitlabTestCase):
    def setUp(self):
        super().setUp()
        FAKE.reset()
        self.work = folder_for(self, "run-", self.root)

    def tejun_run(self, runbook, text, output, **environment):
        """`tejun run RUNBOOK OUTPUT` in self.work with the fake's variables; checks the saved
        notebook and the run's output for secrets; returns (completed process, notebook)."""
        (self.work / runbook).write_text(text, encoding="utf-8")
        result = tejun_run(self.work, runbook, output,
                           environment=alice_on_runbooks(FAKE.url, **{"TMPDIR": str(self.work), **environment}))
        return result, read_saved(self.work / output, result, SECRETS)

    def test_http_fences(self):
        """```http steps: attributes fail, timeout and out are %%http's options; a 404 with
        fail=true fails the run at that step."""
        result, notebook = self.tejun_run("ask.md", HTTP_RUNBOOK, "out.ipynb")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("@alice", stream_text(step_named(notebook, "connect")))
        user = step_named(notebook, "user")
        self.assertEqual(error_outputs(user), [])
        self.assertTrue(plain_texts(user)[0].startswith("HTTP/1.1 200"), user.outputs)
        self.assertIn("[MASKED]", stream_text(user))
        self.assertEqual(json.loads((self.work / "user.json").read_text(encoding="utf-8"))["username"], "alice")
        missing = error_outputs(step_named(notebook, "missing"))
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
        leak = error_outputs(step_named(notebook, "leak"))
        self.assertEqual([e["ename"] for e in leak], ["HTTPError"])
        self.assertIn("[MASKED]", leak[0]["evalue"])
        kubeconfig = pathlib.Path((self.work / "kubeconfig-path.txt").read_text(encoding="utf-8").strip())
        folder = next((p for p in kubeconfig.parents if p.name.startswith("tejun-gitlab-")), None)
        self.assertIsNotNone(folder, f"{kubeconfig} is not in a tejun-gitlab-* folder")
        self.assertEqual(folder.parent, self.work, "not in the run's TMPDIR")
        self.assertFalse(folder.exists(), "the file variables' folder outlived the run")


if __name__ == "__main__":
    unittest.main()
