"""How `tejun server` serves its embedded runbook UI, over plain HTTP (the browser tests in
tests/e2e drive the UI itself):

- the server's root leads to {base}ui/; a token in the address is swapped for the cookies and
  taken out of the address;
- a browser that is not signed in gets a page asking for the token, not the UI nor JSON;
- the page and its assets come with a Content-Security-Policy that allows no inline script, and
  the page has none; assets are gzipped for clients that accept it, and byte for byte the same
  as the plain ones; hashed assets are cached, the page is revalidated;
- all of it works under --base-url.
"""

import gzip
import re
import unittest

from server_support import TOKEN, ServerTestCase


class UiRoutesTest(ServerTestCase):
    base = "/"

    def get(self, target, headers=None, auth=True):
        return self.request("GET", self.base.rstrip("/") + target, headers=headers, auth=auth)

    def page(self):
        response = self.get("/ui/")
        self.assertEqual(response.status, 200, response)
        return response

    def test_root_leads_to_the_ui(self):
        for target in ("/", "/ui"):
            response = self.get(target)
            self.assertEqual(response.status, 302, f"{target}: {response}")
            self.assertEqual(response.headers["Location"], f"{self.base}ui/", target)

    def test_token_in_the_address_becomes_cookies_and_leaves_the_address(self):
        response = self.get(f"/ui/?token={TOKEN}", auth=False)
        self.assertEqual(response.status, 302, response)
        self.assertEqual(response.headers["Location"], f"{self.base}ui/")
        cookies = response.headers.get_all("Set-Cookie")
        self.assertTrue(any(c.startswith(f"tejun-token={TOKEN};") and "HttpOnly" in c for c in cookies), cookies)
        self.assertTrue(any(c.startswith("_xsrf=") for c in cookies), cookies)
        # The cookie alone opens the page.
        signed_in = self.get("/ui/", headers={"Cookie": f"tejun-token={TOKEN}"}, auth=False)
        self.assertEqual(signed_in.status, 200, signed_in)

    def test_not_signed_in_gets_a_sign_in_page(self):
        for target in ("/", "/ui/", "/ui/index.html"):
            response = self.get(target, auth=False)
            self.assertEqual(response.status, 403, f"{target}: {response}")
            self.assertTrue(response.headers["Content-Type"].startswith("text/html"), target)
            self.assertIn(b'name="token"', response.body, target)
            self.assertNotIn(b"<script", response.body, target)
            self.assertIn(f'action="{self.base}ui/"'.encode(), response.body)
        wrong = self.get("/ui/?token=wrong", auth=False)
        self.assertEqual(wrong.status, 403, wrong)
        self.assertIsNone(wrong.headers.get("Set-Cookie"))

    def test_the_page_has_no_inline_script_and_a_strict_policy(self):
        response = self.page()
        directives = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
        self.assertEqual(directives["script-src"], "'self'", "scripts from the server only: no inline script")
        self.assertEqual(directives["default-src"], "'self'")
        self.assertEqual(directives["connect-src"], "'self'")
        self.assertEqual(directives["object-src"], "'none'")
        self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response.headers["Cache-Control"], "no-cache")
        html = response.body.decode()
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        self.assertTrue(scripts, html)
        for attributes, body in scripts:
            self.assertIn('src="./assets/', attributes, html)
            self.assertEqual(body.strip(), "", f"an inline script: {body[:200]}")

    def test_assets_plain_and_gzipped(self):
        html = self.page().body.decode()
        assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', html)
        self.assertTrue(any(a.endswith(".js") for a in assets), html)
        self.assertTrue(any(a.endswith(".css") for a in assets), html)
        for asset in assets:
            plain = self.get(f"/ui/{asset}")
            self.assertEqual(plain.status, 200, asset)
            self.assertIsNone(plain.headers.get("Content-Encoding"), asset)
            self.assertEqual(plain.headers["Cache-Control"], "public, max-age=31536000, immutable")
            expected = "text/javascript" if asset.endswith(".js") else "text/css"
            self.assertTrue(plain.headers["Content-Type"].startswith(expected), asset)
            zipped = self.get(f"/ui/{asset}", headers={"Accept-Encoding": "gzip, deflate"})
            self.assertEqual(zipped.headers["Content-Encoding"], "gzip", asset)
            self.assertLess(len(zipped.body), len(plain.body), asset)
            self.assertEqual(gzip.decompress(zipped.body), plain.body, asset)
            refused = self.get(f"/ui/{asset}", headers={"Accept-Encoding": "gzip;q=0"})
            self.assertIsNone(refused.headers.get("Content-Encoding"), asset)

    def test_unknown_file_is_404_and_the_api_stays_json(self):
        response = self.get("/ui/assets/nothing-here.js")
        self.assertEqual(response.status, 404, response)
        self.assertIn("nothing-here.js", response.json["message"])
        api = self.get("/api/contents/", auth=False)
        self.assertEqual(api.status, 403, api)
        self.assertIsNotNone(api.json, api)


class UiUnderBaseUrlTest(UiRoutesTest):
    base = "/user/alice/"
    server_args = ("--base-url", "/user/alice/")


if __name__ == "__main__":
    unittest.main()
