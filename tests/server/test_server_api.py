"""`tejun server`: the rest of Jupyter Server's REST API over real HTTP (server and helpers:
server_support.py; /api/contents: test_contents.py).

Covered: /api, /api/status, /api/me, /api/kernelspecs; the token (header, query then cookie,
cookie alone); bad requests (malformed JSON, unknown ids, unknown routes, wrong methods, requests
that are not HTTP) after each of which the server still answers; kernels and sessions with the
`tejun kernel` processes they start and stop; SIGTERM with kernels running.

Runs as `python3 -m unittest -v test_server_api` in tests/server with $TEJUN the tejun binary.
"""

import http.cookies
import os
import shutil
import socket
import time
import unittest

import nbformat
from nbformat import v4

from server_support import (HTTP_TIMEOUT, KERNEL_KEYS, RUNBOOK, STOP_DEADLINE, TEJUN, TOKEN, UUID_SHAPE,
                            ServerTestCase, alive, wait_until)


# --- the API itself --------------------------------------------------------------------------


class ApiTest(ServerTestCase):
    """/api, /api/status, /api/me, /api/kernelspecs, and an idle server's empty lists."""

    def test_api_version_needs_no_token(self):
        response = self.request("GET", "/api", auth=False)
        self.assert_status(response, 200)
        self.assertEqual(response.headers["Content-Type"], "application/json")
        self.assertRegex(response.json["version"], r"^\d+\.\d+\.\d+")

    def test_status(self):
        status = self.get_json("/api/status")
        self.assert_iso(status["started"], "started")
        self.assert_iso(status["last_activity"], "last_activity")
        self.assertIsInstance(status["connections"], int)
        self.assertEqual(status["kernels"], 0)

    def test_me(self):
        me = self.get_json("/api/me")
        self.assertIsInstance(me["identity"], dict)
        for key in ("username", "name", "display_name"):
            self.assertIsInstance(me["identity"][key], str, key)
            self.assertTrue(me["identity"][key])
        self.assertIsInstance(me["permissions"], dict)

    def test_kernelspecs_have_the_tejun_kernel_of_this_binary(self):
        specs = self.get_json("/api/kernelspecs")
        self.assertEqual(specs["default"], "tejun")
        self.assertIn("tejun", specs["kernelspecs"])
        for name, spec in specs["kernelspecs"].items():
            self.assertEqual(spec["name"], name)
            self.assertIsInstance(spec["resources"], dict)
            self.assertIsInstance(spec["spec"]["argv"], list)
            self.assertTrue(all(isinstance(word, str) for word in spec["spec"]["argv"]))
            self.assertIsInstance(spec["spec"]["display_name"], str)
            self.assertIsInstance(spec["spec"]["language"], str)
        tejun = specs["kernelspecs"]["tejun"]["spec"]
        self.assertEqual(os.path.realpath(tejun["argv"][0]), os.path.realpath(shutil.which(TEJUN) or TEJUN))
        self.assertEqual(tejun["argv"][1:], ["kernel", "-f", "{connection_file}"])

    def test_no_kernels_nor_sessions_yet(self):
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertEqual(self.get_json("/api/sessions"), [])
        self.assertEqual(self.server.children(), {})


# --- the token -------------------------------------------------------------------------------


class AuthTest(ServerTestCase):
    def test_no_token_is_forbidden(self):
        for method, target in (("GET", "/api/status"), ("GET", "/api/contents/"), ("GET", "/api/kernels"),
                               ("GET", "/api/sessions"), ("GET", "/api/me"), ("GET", "/api/kernelspecs")):
            self.assert_error(self.request(method, target, auth=False), 403, target)

    def test_nothing_is_done_without_the_token(self):
        self.assert_error(self.request("POST", "/api/kernels", {"name": "tejun"}, auth=False), 403)
        self.assert_error(self.request("PUT", "/api/contents/made.txt",
                                       {"type": "file", "format": "text", "content": "x"}, auth=False), 403)
        self.assert_error(self.request("POST", "/api/contents/", {"type": "notebook"}, auth=False), 403)
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertEqual(self.server.children(), {})
        self.assertEqual(sorted(os.listdir(self.server.root)), [])

    def test_wrong_token_is_forbidden(self):
        wrong = TOKEN[:-1] + ("0" if TOKEN[-1] != "0" else "1")
        for headers, target in (({"Authorization": f"token {wrong}"}, "/api/status"),
                                ({"Authorization": "token "}, "/api/status"),
                                ({"Authorization": TOKEN}, "/api/status"),  # no scheme
                                ({"Authorization": f"token {TOKEN}x"}, "/api/status"),
                                ({}, f"/api/status?token={wrong}"),
                                ({}, f"/api/status?token={TOKEN[:8]}"),
                                ({"Cookie": f"tejun-token={wrong}"}, "/api/status"),
                                ({"Cookie": f"other-cookie={TOKEN}"}, "/api/status")):
            response = self.request("GET", target, headers=headers, auth=False)
            self.assert_error(response, 403, f"{headers} {target}")
            self.assertIsNone(response.headers.get("Set-Cookie"), f"{headers} {target}")

    def test_header_token(self):
        response = self.request("GET", "/api/status", headers={"Authorization": f"token {TOKEN}"}, auth=False)
        self.assert_status(response, 200)
        self.assertIsNone(response.headers.get("Set-Cookie"))

    def test_query_token_sets_a_cookie_that_works_alone(self):
        response = self.request("GET", f"/api/status?token={TOKEN}", auth=False)
        self.assert_status(response, 200)
        cookies = http.cookies.SimpleCookie()
        cookies.load(response.headers["Set-Cookie"])
        self.assertIn("tejun-token", cookies)
        cookie = cookies["tejun-token"]
        self.assertEqual(cookie.value, TOKEN)
        self.assertTrue(cookie["httponly"])
        self.assertEqual(cookie["samesite"].lower(), "strict")
        self.assertEqual(cookie["path"], "/")
        # The cookie alone (among others, as a browser sends them).
        for header in (f"tejun-token={TOKEN}", f"theme=dark; tejun-token={TOKEN}; x=y"):
            response = self.request("GET", "/api/contents/", headers={"Cookie": header}, auth=False)
            self.assert_status(response, 200, header)
            self.assertEqual(response.json["type"], "directory")

    def test_api_version_needs_no_token_even_with_a_wrong_one(self):
        self.assert_status(self.request("GET", "/api", auth=False), 200)
        self.assert_status(self.request("GET", "/api", headers={"Authorization": "token wrong"}, auth=False), 200)

    def test_cookie_requests_that_change_state_need_the_xsrf_token(self):
        """A browser authenticated by the cookie must echo the _xsrf cookie in X-XSRFToken to POST,
        PUT, PATCH or DELETE; reads need no more than the cookie."""
        response = self.request("GET", f"/api/status?token={TOKEN}", auth=False)
        cookies = http.cookies.SimpleCookie()
        for header in response.headers.get_all("Set-Cookie"):
            cookies.load(header)
        self.assertIn("_xsrf", cookies)
        self.assertFalse(cookies["_xsrf"]["httponly"], "the page's script must be able to read _xsrf")
        xsrf = cookies["_xsrf"].value
        cookie = f"tejun-token={TOKEN}; _xsrf={xsrf}"
        refused = self.request("POST", "/api/contents/", {"type": "notebook"}, headers={"Cookie": cookie}, auth=False)
        self.assert_error(refused, 403)
        self.assertIn("X-XSRFToken", refused.json["message"])
        wrong = self.request("POST", "/api/contents/", {"type": "notebook"},
                             headers={"Cookie": cookie, "X-XSRFToken": xsrf[:-1]}, auth=False)
        self.assert_error(wrong, 403)
        self.assertEqual(sorted(os.listdir(self.server.root)), [])
        made = self.request("POST", "/api/contents/", {"type": "notebook"},
                            headers={"Cookie": cookie, "X-XSRFToken": xsrf}, auth=False)
        self.assert_status(made, 201)
        self.assert_status(self.request("DELETE", "/api/contents/" + made.json["path"],
                                        headers={"Cookie": cookie, "X-XSRFToken": xsrf}, auth=False), 204)
        # The token header needs no XSRF token: no browser sends it by itself.
        self.assert_status(self.request("POST", "/api/contents/", {"type": "directory"}), 201)
        self.assert_status(self.request("DELETE", "/api/contents/Untitled%20Folder"), 204)

    def test_metrics_and_request_ids(self):
        """/metrics in Prometheus' text format (behind the token); every response names its request
        id, which the server's log line for it carries too, and the log never holds the token."""
        self.assert_error(self.request("GET", "/metrics", auth=False), 403)
        self.assert_status(self.request("GET", "/api/status"), 200)
        response = self.request("GET", "/metrics")
        self.assert_status(response, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain"), response.headers)
        text = response.body.decode()
        self.assertRegex(text, r'tejun_http_requests_total\{method="GET",code="200"\} [1-9]')
        self.assertRegex(text, r'tejun_http_requests_total\{method="GET",code="403"\} [1-9]')
        self.assertRegex(text, r'tejun_http_request_duration_seconds_bucket\{le="\+Inf"\} [1-9]')
        self.assertIn("tejun_kernels 0\n", text)
        request_id = response.headers["X-Request-Id"]
        self.assertRegex(request_id, r"^[0-9a-f]{16}$")
        self.assertNotEqual(self.request("GET", "/api").headers["X-Request-Id"], request_id)
        self.request("GET", f"/api/status?token={TOKEN}", auth=False)
        log = self.server.stderr()
        self.assertIn(f"{request_id} GET /metrics 200", log)
        self.assertNotIn(TOKEN, log.split("serving on", 1)[1].split("\n", 1)[1])


# --- bad requests ----------------------------------------------------------------------------


class BadRequestTest(ServerTestCase):
    """Malformed bodies, unknown ids and routes, wrong methods, requests that are not HTTP: each is
    refused with a JSON error and the server goes on. (Bad paths in /api/contents: test_contents.py.)"""

    def test_malformed_json_bodies(self):
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        for method, target in (("PUT", f"/api/contents/{api}/x.txt"), ("POST", f"/api/contents/{api}"),
                               ("PATCH", f"/api/contents/{api}/a.txt"), ("POST", "/api/kernels"),
                               ("POST", "/api/sessions"), ("PATCH", "/api/sessions/nope")):
            for body in ('{"type": ', "not json", "[1, 2]", '"a string"', "{\"path\": \"x\"}}", b"\xff\xfe{}"):
                response = self.request(method, target, body, headers={"Content-Type": "application/json"})
                self.assert_error(response, 400, f"{method} {target} {body!r}")
                self.assertEqual(response.json["reason"], "Bad Request")
                self.assert_still_serving(f"{method} {target} {body!r}")
        self.assertEqual(sorted(os.listdir(path)), ["a.txt"])
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertEqual(self.get_json("/api/sessions"), [])
    def test_unknown_kernel_and_session(self):
        for method, target in (("GET", "/api/kernels/no-such-kernel"), ("DELETE", "/api/kernels/no-such-kernel"),
                               ("POST", "/api/kernels/no-such-kernel/interrupt"),
                               ("POST", "/api/kernels/no-such-kernel/restart"),
                               ("GET", "/api/kernels/00000000-0000-0000-0000-000000000000"),
                               ("GET", "/api/sessions/no-such-session"), ("DELETE", "/api/sessions/no-such-session"),
                               ("PATCH", "/api/sessions/no-such-session")):
            body = {"path": "x.ipynb"} if method == "PATCH" else None
            message = self.assert_error(self.request(method, target, body), 404, f"{method} {target}")
            self.assertIn(target.split("/")[3], message)
            self.assert_still_serving(f"{method} {target}")
        self.assert_error(self.request("POST", "/api/kernels", {"name": "no-such-kernelspec"}), 404)
        self.assert_error(self.request("POST", "/api/sessions", {"path": "a.ipynb", "type": "notebook",
                                                                 "kernel": {"name": "no-such-kernelspec"}}), 404)
        self.assert_error(self.request("POST", "/api/sessions", {"path": "a.ipynb",
                                                                 "kernel": {"id": "no-such-kernel"}}), 404)
        self.assert_error(self.request("POST", "/api/sessions", {"name": "a.ipynb", "kernel": {"name": "tejun"}}),
                          400)
        self.assert_still_serving("unknown kernels and sessions")
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertEqual(self.get_json("/api/sessions"), [])
        self.assertEqual(self.server.children(), {})

    def test_unreadable_http(self):
        # Not HTTP at all: 400, and the connection is closed.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=HTTP_TIMEOUT) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:200])
        self.assert_still_serving("a request that is not HTTP")
        # A body shorter than its Content-Length, then the client goes away.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=HTTP_TIMEOUT) as raw:
            raw.sendall(f"PUT /api/contents/cut.txt HTTP/1.1\r\nHost: x\r\nAuthorization: token {TOKEN}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode()
                        + b'{"type": "file", "format": "text", "content": "')
        self.assert_still_serving("a request cut short")
        self.assertFalse((self.server.root / "cut.txt").exists())

    def test_unknown_routes(self):
        for target in ("/api/nothing", "/nothing", "/api/kernels/a/b/c", "/api/kernels/x/explode",
                       "/api/sessions/a/b", "/api/statusx", "/uix", "/api/contentsx/a"):
            self.assert_error(self.request("GET", target), 404, target)
            self.assert_still_serving(target)

    def test_wrong_methods(self):
        for method, target in (("DELETE", "/api/status"), ("POST", "/api/status"), ("PUT", "/api/kernels"),
                               ("DELETE", "/api/kernels"), ("PATCH", "/api/kernels/some-id"),
                               ("GET", "/api/kernels/some-id/interrupt"), ("GET", "/api/kernels/some-id/restart"),
                               ("PUT", "/api/sessions"), ("PUT", "/api/sessions/some-id"),
                               ("POST", "/api/kernelspecs"), ("POST", "/api/me"), ("POST", "/api")):
            response = self.request(method, target)
            self.assert_error(response, 405, f"{method} {target}")
            self.assertTrue(response.headers.get("Allow"), f"{method} {target}: no Allow header")
            self.assertNotIn(method, response.headers["Allow"].replace(" ", "").split(","))
            self.assert_still_serving(f"{method} {target}")


# --- kernels and sessions --------------------------------------------------------------------


class KernelsTest(ServerTestCase):
    """POST /api/kernels starts a `tejun kernel` child; interrupt, restart and DELETE act on it."""

    def assert_kernel_model(self, model, name="tejun"):
        self.assertEqual(set(model), KERNEL_KEYS, model)
        self.assertRegex(model["id"], UUID_SHAPE)
        self.assertEqual(model["name"], name)
        self.assert_iso(model["last_activity"], "last_activity")
        self.assertIn(model["execution_state"], ("starting", "idle", "busy"))
        self.assertIsInstance(model["connections"], int)

    def start_kernel(self, body):
        before = set(self.server.children())
        response = self.request("POST", "/api/kernels", body)
        self.assert_status(response, 201, f"POST /api/kernels {body}")
        self.assert_kernel_model(response.json)
        self.assertEqual(response.headers.get("Location"), f"/api/kernels/{response.json['id']}")
        new = set(self.server.children()) - before
        self.assertEqual(len(new), 1, f"one new child process expected: {self.server.children()}")
        (pid,) = new
        cmdline = self.server.children()[pid]
        self.assertIn(" kernel -f ", cmdline)
        self.assertEqual(os.path.realpath(f"/proc/{pid}/exe"), os.path.realpath(shutil.which(TEJUN) or TEJUN))
        return response.json, pid

    def test_lifecycle(self):
        kernel, pid = self.start_kernel({"name": "tejun"})
        kernel_id = kernel["id"]
        self.assertIn(kernel_id, [k["id"] for k in self.get_json("/api/kernels")])
        got = self.get_json(f"/api/kernels/{kernel_id}")
        self.assert_kernel_model(got)
        self.assertEqual(got["id"], kernel_id)
        self.assertGreaterEqual(self.get_json("/api/status")["kernels"], 1)
        # The kernel works in the server's root.
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), str(self.server.root))

        interrupted = self.request("POST", f"/api/kernels/{kernel_id}/interrupt")
        self.assert_status(interrupted, 204)
        self.assertEqual(interrupted.body, b"")
        time.sleep(0.3)
        self.assertTrue(alive(pid), "an interrupt ended the kernel")
        self.assertNotEqual(self.get_json(f"/api/kernels/{kernel_id}")["execution_state"], "dead")

        restarted = self.request("POST", f"/api/kernels/{kernel_id}/restart")
        self.assert_status(restarted, 200)
        self.assert_kernel_model(restarted.json)
        self.assertEqual(restarted.json["id"], kernel_id)
        self.assertGreaterEqual(restarted.json["last_activity"], kernel["last_activity"])
        self.assertTrue(wait_until(lambda: not alive(pid)), "the kernel before the restart is still running")
        children = self.server.children()
        self.assertEqual(len(children), 1, children)
        (new_pid,) = children
        self.assertNotEqual(new_pid, pid)
        self.assertEqual([k["id"] for k in self.get_json("/api/kernels")], [kernel_id])

        self.assert_deleted(f"/api/kernels/{kernel_id}", new_pid, "DELETE left the kernel running")
        self.assertEqual(self.get_json("/api/kernels"), [])
        self.assertEqual(self.get_json("/api/status")["kernels"], 0)
        self.assertEqual(self.server.children(), {})

    def test_default_kernel_and_several_at_once(self):
        first, first_pid = self.start_kernel(None)  # no body: the default kernel
        second, second_pid = self.start_kernel({})
        self.assertNotEqual(first["id"], second["id"])
        self.assertEqual(sorted(k["id"] for k in self.get_json("/api/kernels")), sorted([first["id"], second["id"]]))
        self.assert_status(self.request("DELETE", f"/api/kernels/{first['id']}"), 204)
        self.assertTrue(wait_until(lambda: not alive(first_pid)))
        self.assertTrue(alive(second_pid), "deleting one kernel ended another")
        self.assertEqual([k["id"] for k in self.get_json("/api/kernels")], [second["id"]])
        self.assert_status(self.request("DELETE", f"/api/kernels/{second['id']}"), 204)
        self.assertTrue(wait_until(lambda: not alive(second_pid)))


class SessionsTest(ServerTestCase):
    """A session for a notebook starts a kernel in the notebook's folder; the same path gives the
    same session; DELETE ends the kernel."""

    def assert_session_model(self, model, path, name, type_):
        self.assertLessEqual({"id", "path", "name", "type", "kernel"}, set(model), model)
        self.assertRegex(model["id"], UUID_SHAPE)
        self.assertEqual(model["path"], path)
        self.assertEqual(model["name"], name)
        self.assertEqual(model["type"], type_)
        self.assertEqual(set(model["kernel"]), KERNEL_KEYS)
        self.assertRegex(model["kernel"]["id"], UUID_SHAPE)
        self.assertEqual(model["kernel"]["name"], "tejun")

    def kernel_ids(self):
        return sorted(kernel["id"] for kernel in self.get_json("/api/kernels"))

    def test_session_lifecycle(self):
        api, path = self.folder()
        nbformat.write(v4.new_notebook(), str(path / "a.ipynb"))
        before = set(self.server.children())
        body = {"path": f"{api}/a.ipynb", "name": "a.ipynb", "type": "notebook", "kernel": {"name": "tejun"}}
        response = self.request("POST", "/api/sessions", body)
        self.assert_status(response, 201)
        session = response.json
        self.assert_session_model(session, f"{api}/a.ipynb", "a.ipynb", "notebook")
        kernel_id = session["kernel"]["id"]
        self.assertEqual(self.kernel_ids(), [kernel_id])
        new = set(self.server.children()) - before
        self.assertEqual(len(new), 1, self.server.children())
        (pid,) = new
        # Jupyter starts a notebook's kernel in the notebook's folder.
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), str(path))

        # The same path again: the same session and kernel, no new process.
        again = self.request("POST", "/api/sessions", body)
        self.assertIn(again.status, (200, 201), again)
        self.assertEqual(again.json["id"], session["id"])
        self.assertEqual(again.json["kernel"]["id"], kernel_id)
        self.assertEqual(set(self.server.children()), before | {pid})
        self.assertEqual([s["id"] for s in self.get_json("/api/sessions")], [session["id"]])

        got = self.get_json(f"/api/sessions/{session['id']}")
        self.assert_session_model(got, f"{api}/a.ipynb", "a.ipynb", "notebook")
        self.assertEqual(got["kernel"]["id"], kernel_id)

        # Renamed notebook: same kernel.
        patched = self.request("PATCH", f"/api/sessions/{session['id']}", {"path": f"{api}/b.ipynb", "name": "b.ipynb"})
        self.assert_status(patched, 200)
        self.assert_session_model(patched.json, f"{api}/b.ipynb", "b.ipynb", "notebook")
        self.assertEqual(patched.json["kernel"]["id"], kernel_id)
        self.assertTrue(alive(pid))

        # Another kernel for the session: the old one is shut down.
        switched = self.request("PATCH", f"/api/sessions/{session['id']}", {"kernel": {"name": "tejun"}})
        self.assert_status(switched, 200)
        new_kernel_id = switched.json["kernel"]["id"]
        self.assertNotEqual(new_kernel_id, kernel_id)
        self.assertEqual(self.kernel_ids(), [new_kernel_id])
        self.assertTrue(wait_until(lambda: not alive(pid)), "the session's previous kernel is still running")
        children = self.server.children()
        self.assertEqual(len(children), 1, children)
        (new_pid,) = children

        self.assert_deleted(f"/api/sessions/{session['id']}", new_pid, "DELETE of the session left its kernel running")
        self.assertEqual(self.get_json("/api/sessions"), [])
        self.assertEqual(self.kernel_ids(), [])
        self.assertEqual(self.server.children(), {})

    def test_session_on_an_existing_kernel_and_a_markdown_runbook(self):
        api, path = self.folder()
        (path / "runbook.md").write_text(RUNBOOK)
        kernel = self.request("POST", "/api/kernels", {"name": "tejun"})
        self.assert_status(kernel, 201)
        response = self.request("POST", "/api/sessions", {"path": f"{api}/runbook.md", "name": "runbook.md",
                                                          "type": "notebook", "kernel": {"id": kernel.json["id"]}})
        self.assert_status(response, 201)
        self.assert_session_model(response.json, f"{api}/runbook.md", "runbook.md", "notebook")
        self.assertEqual(response.json["kernel"]["id"], kernel.json["id"])
        self.assertEqual(self.kernel_ids(), [kernel.json["id"]])
        # Another path: another session with its own kernel.
        other = self.request("POST", "/api/sessions", {"path": f"{api}/other.ipynb", "name": "other.ipynb",
                                                       "type": "notebook", "kernel": {"name": "tejun"}})
        self.assert_status(other, 201)
        self.assertNotEqual(other.json["id"], response.json["id"])
        self.assertEqual(len(self.kernel_ids()), 2)
        self.assertEqual(len(self.get_json("/api/sessions")), 2)
        # Deleting the kernel ends its session.
        self.assert_status(self.request("DELETE", f"/api/kernels/{kernel.json['id']}"), 204)
        self.assertEqual([s["id"] for s in self.get_json("/api/sessions")], [other.json["id"]])
        self.assert_status(self.request("DELETE", f"/api/sessions/{other.json['id']}"), 204)
        self.assertEqual(self.kernel_ids(), [])
        self.assertTrue(wait_until(lambda: not self.server.children()), self.server.children())


class ShutdownTest(ServerTestCase):
    """SIGTERM with kernels and a session running: exit 0, every kernel ended."""

    def test_sigterm_ends_the_kernels(self):
        for body in ({"name": "tejun"}, {"name": "tejun"}):
            self.assert_status(self.request("POST", "/api/kernels", body), 201)
        self.assert_status(self.request("POST", "/api/sessions", {"path": "s.ipynb", "name": "s.ipynb",
                                                                  "type": "notebook", "kernel": {"name": "tejun"}}),
                           201)
        kernels = self.server.kernel_processes()
        self.assertEqual(len(kernels), 3, kernels)
        self.assertEqual(set(kernels), set(self.server.children()))
        started = time.monotonic()
        self.assertEqual(self.server.stop(), 0, self.server.stderr())
        self.assertLess(time.monotonic() - started, STOP_DEADLINE)
        self.assertTrue(wait_until(lambda: not any(alive(pid) for pid in kernels)),
                        f"kernels left after SIGTERM: {self.server.kernel_processes()}")
        self.assertEqual(self.server.kernel_processes(), {})
        # Their connection files are gone too.
        self.assertEqual([name for name in os.listdir(self.server.runtime) if name.endswith(".json")], [])


if __name__ == "__main__":
    unittest.main()
