"""`tejun server`: /api/contents over real HTTP (server and helpers: server_support.py).

Covered: GET of files, notebooks, Markdown runbooks and directories, PUT, POST untitled and copies,
PATCH rename, DELETE, checkpoints, with their status codes and model shapes; notebooks validated
with Debian's nbformat; atomic saves; 409 for a save based on a stale last_modified; paths out of
the root ('..', absolute paths, a symbolic link to /), NUL and bad percent-encoding, after each of
which the server still answers.

Runs as `python3 -m unittest -v test_contents` in tests/server with $TEJUN the tejun binary.
"""

import base64
import json
import os
import unittest

import nbformat
from nbformat import v4

from server_support import RUNBOOK, ServerTestCase, sample_notebook, validate


# --- contents --------------------------------------------------------------------------------


class ContentsReadTest(ServerTestCase):
    """GET /api/contents: directories, text and binary files, notebooks, Markdown runbooks."""

    def test_directory_listing(self):
        api, path = self.folder()
        (path / "a.txt").write_text("alpha\n")
        (path / "sub").mkdir()
        (path / "sub" / "inner.txt").write_text("inner")
        nbformat.write(v4.new_notebook(), str(path / "nb.ipynb"))
        (path / "runbook.md").write_text(RUNBOOK)
        (path / ".hidden").write_text("not listed")
        for target in (f"/api/contents/{api}", f"/api/contents/{api}/", f"/api/contents/{api}?content=1"):
            model = self.get_json(target)
            self.assert_contents_model(model, api, api, "directory", True)
            self.assertEqual(model["format"], "json")
            self.assertIsNone(model["mimetype"])
            children = {child["name"]: child for child in model["content"]}
            self.assertEqual(set(children), {"a.txt", "sub", "nb.ipynb", "runbook.md"}, target)
            for name, type_ in (("a.txt", "file"), ("sub", "directory"), ("nb.ipynb", "notebook"),
                                ("runbook.md", "file")):
                self.assert_contents_model(children[name], name, f"{api}/{name}", type_, False)
            self.assertEqual(children["a.txt"]["size"], 6)
        model = self.get_json(f"/api/contents/{api}?content=0")
        self.assert_contents_model(model, api, api, "directory", False)
        inner = self.get_json(f"/api/contents/{api}/sub")
        self.assertEqual([child["path"] for child in inner["content"]], [f"{api}/sub/inner.txt"])

    def test_root(self):
        for target in ("/api/contents", "/api/contents/"):
            model = self.get_json(target)
            self.assert_contents_model(model, "", "", "directory", True)
            self.assertIsInstance(model["content"], list)

    def test_text_file(self):
        api, path = self.folder()
        (path / "notes.txt").write_text("héllo\nworld\n", encoding="utf-8")
        model = self.get_json(f"/api/contents/{api}/notes.txt")
        self.assert_contents_model(model, "notes.txt", f"{api}/notes.txt", "file", True)
        self.assertEqual(model["format"], "text")
        self.assertEqual(model["mimetype"], "text/plain")
        self.assertEqual(model["content"], "héllo\nworld\n")
        model = self.get_json(f"/api/contents/{api}/notes.txt?format=base64")
        self.assertEqual(model["format"], "base64")
        self.assertEqual(base64.b64decode(model["content"]), "héllo\nworld\n".encode())
        model = self.get_json(f"/api/contents/{api}/notes.txt?content=0")
        self.assert_contents_model(model, "notes.txt", f"{api}/notes.txt", "file", False)
        model = self.get_json(f"/api/contents/{api}/notes.txt?type=file&format=text")
        self.assertEqual(model["content"], "héllo\nworld\n")

    def test_binary_file(self):
        api, path = self.folder()
        data = bytes(range(256)) * 3
        (path / "blob.bin").write_bytes(data)
        model = self.get_json(f"/api/contents/{api}/blob.bin")
        self.assert_contents_model(model, "blob.bin", f"{api}/blob.bin", "file", True)
        self.assertEqual(model["format"], "base64")
        self.assertEqual(model["mimetype"], "application/octet-stream")
        self.assertEqual(base64.b64decode(model["content"]), data)
        self.assertEqual(model["size"], len(data))
        self.assert_error(self.request("GET", f"/api/contents/{api}/blob.bin?format=text"), 400)
        self.assert_still_serving("format=text on a binary file")

    def test_notebook(self):
        api, path = self.folder()
        sent = sample_notebook()
        nbformat.write(nbformat.from_dict(sent), str(path / "nb.ipynb"))
        model = self.get_json(f"/api/contents/{api}/nb.ipynb")
        self.assert_contents_model(model, "nb.ipynb", f"{api}/nb.ipynb", "notebook", True)
        self.assertEqual(model["format"], "json")
        self.assertIsNone(model["mimetype"])
        validate(model["content"], "the notebook served")
        self.assertEqual(model["content"], sent)
        self.assertEqual(self.get_json(f"/api/contents/{api}/nb.ipynb?type=notebook")["content"], sent)
        # As a file: its JSON text.
        model = self.get_json(f"/api/contents/{api}/nb.ipynb?type=file")
        self.assertEqual(model["type"], "file")
        self.assertEqual(model["format"], "text")
        self.assertEqual(nbformat.reads(model["content"], as_version=4), nbformat.from_dict(sent))
        self.assertEqual(model["content"], (path / "nb.ipynb").read_text(encoding="utf-8"))
        model = self.get_json(f"/api/contents/{api}/nb.ipynb?content=0")
        self.assert_contents_model(model, "nb.ipynb", f"{api}/nb.ipynb", "notebook", False)

    # Jupyter Server serves a notebook as nbformat.read gives it: every multi-line string joined,
    # cell attachments included.
    def test_notebook_is_served_as_nbformat_reads_it(self):
        api, path = self.folder()
        notebook = v4.new_notebook(cells=[
            v4.new_markdown_cell("![a](attachment:a.txt)", attachments={"a.txt": {"text/plain": "one\ntwo\n"}}),
            v4.new_code_cell("x\ny", outputs=[v4.new_output("display_data", data={
                "image/svg+xml": "<svg>\n</svg>\n", "application/javascript": "a;\nb;\n", "text/plain": "p\nq"})]),
        ])
        nbformat.write(notebook, str(path / "lines.ipynb"))
        served = self.get_json(f"/api/contents/{api}/lines.ipynb")["content"]
        validate(served, "the notebook served")
        self.assertEqual(served, json.loads(json.dumps(nbformat.read(str(path / "lines.ipynb"), as_version=4))))

    def test_markdown_runbook_is_a_file_or_a_notebook(self):
        api, path = self.folder()
        (path / "runbook.md").write_text(RUNBOOK)
        model = self.get_json(f"/api/contents/{api}/runbook.md")
        self.assert_contents_model(model, "runbook.md", f"{api}/runbook.md", "file", True)
        self.assertEqual(model["mimetype"], "text/markdown")
        self.assertEqual(model["content"], RUNBOOK)
        model = self.get_json(f"/api/contents/{api}/runbook.md?type=notebook")
        self.assert_contents_model(model, "runbook.md", f"{api}/runbook.md", "notebook", True)
        self.assertEqual(model["format"], "json")
        validate(model["content"], "the Markdown runbook served as a notebook")
        cells = model["content"]["cells"]
        self.assertEqual([cell["cell_type"] for cell in cells], ["markdown", "code", "markdown"])
        self.assertEqual(cells[1]["source"], "kubectl get pods -l app=postgres")
        self.assertIn("Restart the database", json.dumps(model["content"]["metadata"]))

    def test_wrong_type_asked(self):
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        self.assert_error(self.request("GET", f"/api/contents/{api}?type=file"), 400, "a directory as a file")
        self.assert_error(self.request("GET", f"/api/contents/{api}/a.txt?type=directory"), 400)
        self.assert_error(self.request("GET", f"/api/contents/{api}/a.txt?type=notebook"), 400)
        self.assert_still_serving("a wrong type")

    def test_missing(self):
        api, _ = self.folder()
        for target in (f"/api/contents/{api}/missing.txt", f"/api/contents/{api}/no/such/folder"):
            message = self.assert_error(self.request("GET", target), 404, target)
            self.assertIn("missing" if "missing" in target else "no/such", message)

    def test_not_a_notebook(self):
        api, path = self.folder()
        (path / "broken.ipynb").write_text("{not json")
        self.assert_error(self.request("GET", f"/api/contents/{api}/broken.ipynb"), 400)
        self.assertEqual(self.get_json(f"/api/contents/{api}/broken.ipynb?type=file")["content"], "{not json")
        self.assert_still_serving("a broken notebook")


class ContentsWriteTest(ServerTestCase):
    """PUT (save and create), atomic saves, 409 on a stale last_modified, Markdown stays Markdown."""

    def put(self, target, model, status):
        response = self.request("PUT", target, model)
        self.assert_status(response, status, f"PUT {target}")
        return response.json

    def test_put_notebook_reads_back_equal_and_valid(self):
        api, path = self.folder()
        sent = sample_notebook()
        model = self.put(f"/api/contents/{api}/saved.ipynb", {"type": "notebook", "content": sent}, 201)
        self.assert_contents_model(model, "saved.ipynb", f"{api}/saved.ipynb", "notebook", False)
        on_disk = nbformat.read(str(path / "saved.ipynb"), as_version=4)
        nbformat.validate(on_disk)
        self.assertEqual(on_disk, nbformat.from_dict(sent))
        served = self.get_json(f"/api/contents/{api}/saved.ipynb")
        self.assertEqual(served["content"], sent)
        self.assertEqual(served["last_modified"], model["last_modified"])
        # Saved again: 200, and what the client got back is what it saves (a Jupyter round trip).
        served["content"]["cells"][1]["source"] = "echo changed"
        model = self.put(f"/api/contents/{api}/saved.ipynb",
                         {"type": "notebook", "format": "json", "content": served["content"]}, 200)
        self.assertEqual(model["type"], "notebook")
        self.assertEqual(self.get_json(f"/api/contents/{api}/saved.ipynb")["content"], served["content"])
        validate(served["content"], "the saved notebook")

    def test_put_markdown_runbook_stays_markdown(self):
        api, path = self.folder()
        (path / "runbook.md").write_text(RUNBOOK)
        served = self.get_json(f"/api/contents/{api}/runbook.md?type=notebook")
        content = served["content"]
        content["cells"].append(v4.new_markdown_cell("Added from the browser."))
        content["cells"][1]["source"] = "kubectl get pods -l app=postgres -o wide"
        model = self.put(f"/api/contents/{api}/runbook.md",
                         {"type": "notebook", "format": "json", "content": content,
                          "last_modified": served["last_modified"]}, 200)
        self.assertEqual(model["type"], "notebook")
        self.assertEqual(model["name"], "runbook.md")
        text = (path / "runbook.md").read_text()
        self.assertTrue(text.startswith("---\ntitle: Restart the database\n"), text)
        self.assertIn("environment: staging", text)
        self.assertIn("```sh {name=check-replicas}\nkubectl get pods -l app=postgres -o wide\n```", text)
        self.assertIn("Added from the browser.", text)
        with self.assertRaises(json.JSONDecodeError):
            json.loads(text)
        again = self.get_json(f"/api/contents/{api}/runbook.md?type=notebook")
        validate(again["content"], "the Markdown runbook read back")
        self.assertEqual(again["content"]["cells"][1]["source"], "kubectl get pods -l app=postgres -o wide")
        self.assertEqual(again["content"]["cells"][-1]["source"], "Added from the browser.")
        self.assertEqual(sorted(os.listdir(path)), ["runbook.md"])

    def test_put_new_markdown_notebook_is_markdown(self):
        api, path = self.folder()
        notebook = v4.new_notebook(cells=[v4.new_markdown_cell("# Fresh"), v4.new_code_cell("echo hi")])
        model = self.put(f"/api/contents/{api}/fresh.md",
                         {"type": "notebook", "content": json.loads(json.dumps(notebook))}, 201)
        self.assertEqual(model["type"], "notebook")
        text = (path / "fresh.md").read_text()
        self.assertTrue(text.startswith("# Fresh"), text)
        self.assertIn("echo hi", text)
        self.assertFalse(text.lstrip().startswith("{"), text)

    def test_put_text_and_base64_files(self):
        api, path = self.folder()
        model = self.put(f"/api/contents/{api}/a.txt", {"type": "file", "format": "text", "content": "één\n"}, 201)
        self.assert_contents_model(model, "a.txt", f"{api}/a.txt", "file", False)
        self.assertEqual((path / "a.txt").read_text(encoding="utf-8"), "één\n")
        self.put(f"/api/contents/{api}/a.txt", {"type": "file", "format": "text", "content": "two\n"}, 200)
        self.assertEqual(self.get_json(f"/api/contents/{api}/a.txt")["content"], "two\n")
        data = bytes(range(256))
        self.put(f"/api/contents/{api}/b.bin",
                 {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}, 201)
        self.assertEqual((path / "b.bin").read_bytes(), data)
        self.put(f"/api/contents/{api}/empty.txt", {"type": "file", "format": "text", "content": ""}, 201)
        self.assertEqual((path / "empty.txt").read_bytes(), b"")

    def test_put_directory(self):
        api, path = self.folder()
        model = self.put(f"/api/contents/{api}/made", {"type": "directory"}, 201)
        self.assert_contents_model(model, "made", f"{api}/made", "directory", False)
        self.assertTrue((path / "made").is_dir())
        self.put(f"/api/contents/{api}/made", {"type": "directory"}, 200)

    def test_put_errors(self):
        api, path = self.folder()
        (path / "a.txt").write_text("kept")
        cases = (
            (f"/api/contents/{api}/no/such/x.txt", {"type": "file", "format": "text", "content": "x"}, 404),
            (f"/api/contents/{api}/x.txt", {"type": "strange", "content": "x"}, 400),
            (f"/api/contents/{api}/x.txt", {"type": "file", "format": "hex", "content": "78"}, 400),
            (f"/api/contents/{api}/x.txt", {"type": "file", "format": "text", "content": 5}, 400),
            (f"/api/contents/{api}/x.bin", {"type": "file", "format": "base64", "content": "@@@@"}, 400),
            (f"/api/contents/{api}/x.ipynb", {"type": "notebook", "content": "not an object"}, 400),
            (f"/api/contents/{api}/x.ipynb", {"type": "notebook", "content": {"cells": "nope"}}, 400),
            (f"/api/contents/{api}/a.txt", {"type": "directory"}, 400),
            (f"/api/contents/{api}/a.txt", {"type": "file", "format": "text", "content": "x",
                                            "last_modified": "yesterday"}, 400),
            ("/api/contents/", {"type": "directory"}, 400),
        )
        for target, body, status in cases:
            self.assert_error(self.request("PUT", target, body), status, f"PUT {target} {body}")
            self.assert_still_serving(f"PUT {target} {body}")
        self.assertEqual(sorted(os.listdir(path)), ["a.txt"])
        self.assertEqual((path / "a.txt").read_text(), "kept")

    def test_saves_are_atomic_and_leave_no_temporary_file(self):
        api, path = self.folder()
        target = f"/api/contents/{api}/nb.ipynb"
        self.put(target, {"type": "notebook", "content": sample_notebook()}, 201)
        # A reader that opened the old file keeps reading it whole: the save replaced it.
        with open(path / "nb.ipynb", "rb") as reader:
            before = (path / "nb.ipynb").read_bytes()
            inode = os.stat(path / "nb.ipynb").st_ino
            for round_ in range(5):
                notebook = sample_notebook()
                notebook["cells"][1]["source"] = f"echo round {round_}\n" * 2000
                self.put(target, {"type": "notebook", "content": notebook}, 200)
                self.put(f"/api/contents/{api}/a.txt", {"type": "file", "format": "text", "content": "x" * round_},
                         201 if round_ == 0 else 200)
            self.assertEqual(reader.read(), before)
        self.assertNotEqual(os.stat(path / "nb.ipynb").st_ino, inode, "the notebook was written in place")
        (path / "runbook.md").write_text(RUNBOOK)
        content = self.get_json(f"/api/contents/{api}/runbook.md?type=notebook")["content"]
        self.put(f"/api/contents/{api}/runbook.md", {"type": "notebook", "content": content}, 200)
        self.assertEqual(sorted(os.listdir(path)), ["a.txt", "nb.ipynb", "runbook.md"])

    def test_stale_last_modified_is_a_conflict(self):
        api, path = self.folder()
        target = f"/api/contents/{api}/shared.txt"
        model = self.put(target, {"type": "file", "format": "text", "content": "mine\n"}, 201)
        seen = model["last_modified"]
        # Someone else saves the file after this client read it.
        (path / "shared.txt").write_text("theirs\n")
        later = os.stat(path / "shared.txt").st_mtime + 5
        os.utime(path / "shared.txt", (later, later))
        response = self.request("PUT", target, {"type": "file", "format": "text", "content": "mine again\n",
                                                "last_modified": seen})
        message = self.assert_error(response, 409, "a save based on a stale last_modified")
        self.assertIn("shared.txt", message)
        self.assertEqual((path / "shared.txt").read_text(), "theirs\n")
        self.assert_still_serving("a 409")
        # Based on what is on disk now, the save goes through.
        current = self.get_json(f"{target}?content=0")["last_modified"]
        self.put(target, {"type": "file", "format": "text", "content": "merged\n", "last_modified": current}, 200)
        self.assertEqual((path / "shared.txt").read_text(), "merged\n")
        # A notebook too.
        notebook_target = f"/api/contents/{api}/nb.ipynb"
        model = self.put(notebook_target, {"type": "notebook", "content": sample_notebook()}, 201)
        os.utime(path / "nb.ipynb", (later + 5, later + 5))
        self.assert_error(self.request("PUT", notebook_target, {"type": "notebook", "content": sample_notebook(),
                                                                "last_modified": model["last_modified"]}), 409)


class ContentsManageTest(ServerTestCase):
    """POST (untitled, copies), PATCH (rename), DELETE, checkpoints."""

    def post(self, target, body, status=201):
        response = self.request("POST", target, body)
        self.assert_status(response, status, f"POST {target} {body}")
        return response.json

    def test_new_untitled(self):
        api, path = self.folder()
        target = f"/api/contents/{api}"
        first = self.post(target, {"type": "notebook"})
        self.assert_contents_model(first, "Untitled.ipynb", f"{api}/Untitled.ipynb", "notebook", False)
        self.assertEqual(self.post(target, {"type": "notebook"})["name"], "Untitled1.ipynb")
        self.assertEqual(self.post(target, {"type": "notebook", "ext": ".ipynb"})["name"], "Untitled2.ipynb")
        validate(self.get_json(f"{target}/Untitled.ipynb")["content"], "a new notebook")
        nbformat.validate(nbformat.read(str(path / "Untitled1.ipynb"), as_version=4))
        made = self.post(target, {"type": "file"})
        self.assert_contents_model(made, "untitled.txt", f"{api}/untitled.txt", "file", False)
        self.assertEqual((path / "untitled.txt").read_bytes(), b"")
        self.assertEqual(self.post(target, {"type": "file"})["name"], "untitled1.txt")
        self.assertEqual(self.post(target, {"type": "file", "ext": ".md"})["name"], "untitled.md")
        self.assertEqual(self.post(target, {"type": "file", "ext": "py"})["name"], "untitled.py")
        folder = self.post(target, {"type": "directory"})
        self.assert_contents_model(folder, "Untitled Folder", f"{api}/Untitled Folder", "directory", False)
        self.assertTrue((path / "Untitled Folder").is_dir())
        self.assertEqual(sorted(os.listdir(path)),
                         ["Untitled Folder", "Untitled.ipynb", "Untitled1.ipynb", "Untitled2.ipynb",
                          "untitled.md", "untitled.py", "untitled.txt", "untitled1.txt"])
        # An empty body is a notebook, as in Jupyter Server.
        self.assertEqual(self.post(target, None)["name"], "Untitled3.ipynb")
        # In the root too.
        response = self.request("POST", "/api/contents/", {"type": "directory"})
        self.assert_status(response, 201)
        self.assertEqual(response.json["path"], "Untitled Folder")
        self.assertEqual(self.request("DELETE", "/api/contents/Untitled%20Folder").status, 204)

    # Jupyter Server names the second untitled folder "Untitled Folder 1" (a space before the
    # number, FileContentsManager.new_untitled's insert=" ").
    def test_second_untitled_folder_is_named_as_jupyter_names_it(self):
        api, _ = self.folder()
        self.assertEqual(self.post(f"/api/contents/{api}", {"type": "directory"})["name"], "Untitled Folder")
        self.assertEqual(self.post(f"/api/contents/{api}", {"type": "directory"})["name"], "Untitled Folder 1")

    def test_copy(self):
        api, path = self.folder()
        (path / "report.txt").write_text("the report\n")
        nbformat.write(nbformat.from_dict(sample_notebook()), str(path / "nb.ipynb"))
        (path / "sub").mkdir()
        copy = self.post(f"/api/contents/{api}", {"copy_from": f"{api}/report.txt"})
        self.assert_contents_model(copy, "report-Copy1.txt", f"{api}/report-Copy1.txt", "file", False)
        self.assertEqual((path / "report-Copy1.txt").read_text(), "the report\n")
        self.assertEqual(self.post(f"/api/contents/{api}", {"copy_from": f"{api}/report.txt"})["name"],
                         "report-Copy2.txt")
        copy = self.post(f"/api/contents/{api}/sub", {"copy_from": f"{api}/nb.ipynb"})
        self.assert_contents_model(copy, "nb-Copy1.ipynb", f"{api}/sub/nb-Copy1.ipynb", "notebook", False)
        self.assertEqual(self.get_json(f"/api/contents/{api}/sub/nb-Copy1.ipynb")["content"], sample_notebook())
        self.assert_error(self.request("POST", f"/api/contents/{api}", {"copy_from": f"{api}/missing.txt"}), 404)
        self.assert_error(self.request("POST", f"/api/contents/{api}/nowhere", {"type": "file"}), 404)
        self.assert_error(self.request("POST", f"/api/contents/{api}", {"type": "strange"}), 400)
        self.assert_still_serving("bad POSTs")
        self.assertEqual(sorted(os.listdir(path)),
                         ["nb.ipynb", "report-Copy1.txt", "report-Copy2.txt", "report.txt", "sub"])

    def test_rename(self):
        api, path = self.folder()
        (path / "old.txt").write_text("content")
        (path / "other.txt").write_text("other")
        (path / "sub").mkdir()
        response = self.request("PATCH", f"/api/contents/{api}/old.txt", {"path": f"{api}/new.txt"})
        self.assert_status(response, 200)
        self.assert_contents_model(response.json, "new.txt", f"{api}/new.txt", "file", False)
        self.assertFalse((path / "old.txt").exists())
        self.assertEqual((path / "new.txt").read_text(), "content")
        self.assert_error(self.request("GET", f"/api/contents/{api}/old.txt"), 404)
        # Into a folder, and a folder itself.
        moved = self.request("PATCH", f"/api/contents/{api}/new.txt", {"path": f"{api}/sub/moved.txt"})
        self.assert_status(moved, 200)
        self.assertEqual(moved.json["path"], f"{api}/sub/moved.txt")
        renamed = self.request("PATCH", f"/api/contents/{api}/sub", {"path": f"{api}/folder"})
        self.assert_status(renamed, 200)
        self.assertEqual(renamed.json["type"], "directory")
        self.assertEqual((path / "folder" / "moved.txt").read_text(), "content")
        # The target exists: 409, nothing changed.
        conflict = self.request("PATCH", f"/api/contents/{api}/folder/moved.txt", {"path": f"{api}/other.txt"})
        message = self.assert_error(conflict, 409)
        self.assertIn("other.txt", message)
        self.assertEqual((path / "other.txt").read_text(), "other")
        self.assertEqual((path / "folder" / "moved.txt").read_text(), "content")
        self.assert_error(self.request("PATCH", f"/api/contents/{api}/missing.txt", {"path": f"{api}/x.txt"}), 404)
        self.assert_error(self.request("PATCH", f"/api/contents/{api}/other.txt", {"name": "x.txt"}), 400)
        self.assert_error(self.request("PATCH", f"/api/contents/{api}/other.txt", {"path": 3}), 400)
        self.assert_still_serving("bad PATCHes")
        self.assertEqual(sorted(os.listdir(path)), ["folder", "other.txt"])

    def test_delete(self):
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        (path / "empty").mkdir()
        (path / "full").mkdir()
        (path / "full" / "f.txt").write_text("f")
        response = self.request("DELETE", f"/api/contents/{api}/a.txt")
        self.assert_status(response, 204)
        self.assertEqual(response.body, b"")
        self.assertFalse((path / "a.txt").exists())
        self.assert_error(self.request("GET", f"/api/contents/{api}/a.txt"), 404)
        self.assert_status(self.request("DELETE", f"/api/contents/{api}/empty"), 204)
        self.assertFalse((path / "empty").exists())
        message = self.assert_error(self.request("DELETE", f"/api/contents/{api}/full"), 400)
        self.assertIn("full", message)
        self.assertEqual((path / "full" / "f.txt").read_text(), "f")
        self.assert_error(self.request("DELETE", f"/api/contents/{api}/a.txt"), 404)
        self.assert_error(self.request("DELETE", "/api/contents/"), 400)
        self.assert_still_serving("bad DELETEs")
        self.assertTrue(self.server.root.is_dir())

    def test_checkpoints(self):
        api, path = self.folder()
        target = f"/api/contents/{api}/nb.ipynb"
        original = sample_notebook()
        self.assert_status(self.request("PUT", target, {"type": "notebook", "content": original}), 201)
        self.assertEqual(self.get_json(f"{target}/checkpoints"), [])
        response = self.request("POST", f"{target}/checkpoints")
        self.assert_status(response, 201)
        self.assertEqual(set(response.json), {"id", "last_modified"})
        self.assertEqual(response.json["id"], "checkpoint")
        self.assert_iso(response.json["last_modified"], "the checkpoint's last_modified")
        listed = self.get_json(f"{target}/checkpoints")
        self.assertEqual(listed, [response.json])
        # Checkpoints are not part of the listing.
        names = [child["name"] for child in self.get_json(f"/api/contents/{api}")["content"]]
        self.assertEqual(names, ["nb.ipynb"])
        changed = sample_notebook()
        changed["cells"] = changed["cells"][:1]
        self.assert_status(self.request("PUT", target, {"type": "notebook", "content": changed}), 200)
        self.assertEqual(self.get_json(target)["content"], changed)
        restore = self.request("POST", f"{target}/checkpoints/checkpoint")
        self.assert_status(restore, 204)
        self.assertEqual(restore.body, b"")
        self.assertEqual(self.get_json(target)["content"], original)
        nbformat.validate(nbformat.read(str(path / "nb.ipynb"), as_version=4))
        self.assert_error(self.request("POST", f"{target}/checkpoints/other"), 404)
        self.assert_error(self.request("DELETE", f"{target}/checkpoints/other"), 404)
        self.assert_status(self.request("DELETE", f"{target}/checkpoints/checkpoint"), 204)
        self.assertEqual(self.get_json(f"{target}/checkpoints"), [])
        self.assert_error(self.request("DELETE", f"{target}/checkpoints/checkpoint"), 404)
        self.assert_error(self.request("POST", f"{target}/checkpoints/checkpoint"), 404)
        self.assert_error(self.request("POST", f"/api/contents/{api}/missing.ipynb/checkpoints"), 404)
        self.assert_still_serving("checkpoint errors")

    def test_checkpoint_of_a_text_file(self):
        api, path = self.folder()
        (path / "a.txt").write_text("first")
        self.assert_status(self.request("POST", f"/api/contents/{api}/a.txt/checkpoints"), 201)
        (path / "a.txt").write_text("second")
        self.assert_status(self.request("POST", f"/api/contents/{api}/a.txt/checkpoints/checkpoint"), 204)
        self.assertEqual((path / "a.txt").read_text(), "first")


# --- paths out of the root and other bad paths on contents -----------------------------------


class ContentsBadRequestTest(ServerTestCase):
    """Paths out of the root ('..', absolute paths, a symbolic link to /), NUL and bad
    percent-encoding: each is refused with a JSON error and the server goes on."""

    def test_dot_dot_is_refused(self):
        api, _ = self.folder()
        outside = self.server.folder / "outside.txt"
        outside.write_text("MARKER-OUTSIDE")
        before = sorted(os.listdir(self.server.folder))
        for target in ("/api/contents/../outside.txt", "/api/contents/%2E%2E/outside.txt",
                       "/api/contents/%2e%2e/outside.txt", f"/api/contents/{api}/../../outside.txt",
                       f"/api/contents/{api}/%2E%2E/%2E%2E/outside.txt", "/api/contents/%2E%2E%2Foutside.txt",
                       "/api/contents/..", "/api/contents/%2E%2E", f"/api/contents/{api}/./x",
                       "/api/contents/..%5Coutside.txt"):
            for method, body in (("GET", None), ("PUT", {"type": "file", "format": "text", "content": "x"}),
                                 ("DELETE", None), ("PATCH", {"path": "moved.txt"}), ("POST", {"type": "file"})):
                response = self.request(method, target, body)
                message = self.assert_error(response, 400, f"{method} {target}")
                self.assertIn("root", message, f"{method} {target}: not a clear message")
                self.assertNotIn(b"MARKER-OUTSIDE", response.body)
                self.assert_still_serving(f"{method} {target}")
        self.assertEqual(outside.read_text(), "MARKER-OUTSIDE")
        self.assertEqual(sorted(os.listdir(self.server.folder)), before)

    def test_dot_dot_in_a_body_is_refused(self):
        api, path = self.folder()
        (path / "a.txt").write_text("a")
        outside = self.server.folder / "secret.txt"
        outside.write_text("secret")
        for body in ({"path": "../moved.txt"}, {"path": f"{api}/../../moved.txt"}):
            self.assert_error(self.request("PATCH", f"/api/contents/{api}/a.txt", body), 400, str(body))
        for body in ({"copy_from": "../secret.txt"}, {"copy_from": f"{api}/../../secret.txt"}):
            self.assert_error(self.request("POST", f"/api/contents/{api}", body), 400, str(body))
        self.assertEqual(sorted(os.listdir(path)), ["a.txt"])
        self.assertFalse((self.server.folder / "moved.txt").exists())
        self.assert_still_serving("'..' in bodies")

    def test_absolute_paths_stay_inside_the_root(self):
        # A leading slash (plain or encoded) names a path inside the root, never the real /.
        for target in ("/api/contents//etc/passwd", "/api/contents/%2Fetc%2Fpasswd", "/api/contents///etc/hostname"):
            response = self.request("GET", target)
            self.assertGreaterEqual(response.status, 400, f"GET {target}: {response!r}")
            self.assertLess(response.status, 500, f"GET {target}: {response!r}")
            self.assert_error(response, response.status, target)
            self.assertNotIn(b"root:", response.body)
            self.assert_still_serving(f"GET {target}")
        # The absolute path of an existing folder outside the root (the test's own).
        outside = self.server.folder
        response = self.request("PUT", f"/api/contents/{outside}/written.txt",
                                {"type": "file", "format": "text", "content": "x"})
        self.assertGreaterEqual(response.status, 400, response)
        self.assertFalse((outside / "written.txt").exists())
        self.assertNotIn(outside.parts[1], os.listdir(self.server.root))
        # As a body's path: inside the root, or refused.
        for body in ({"copy_from": "/etc/passwd"},):
            response = self.request("POST", "/api/contents/", body)
            self.assert_error(response, response.status, str(body))
            self.assertIn(response.status, (400, 403, 404), response)
        self.assertNotIn("etc", os.listdir(self.server.root))

    def test_nul_and_bad_encoding(self):
        api, path = self.folder()
        (path / "a").write_text("a")
        for target in (f"/api/contents/{api}/a%00.txt", f"/api/contents/{api}/a%00", "/api/contents/%00"):
            for method, body in (("GET", None), ("PUT", {"type": "file", "format": "text", "content": "x"}),
                                 ("DELETE", None)):
                message = self.assert_error(self.request(method, target, body), 400, f"{method} {target}")
                self.assertIn("NUL", message)
                self.assert_still_serving(f"{method} {target}")
        for target in ("/api/contents/%zz", "/api/contents/%", "/api/contents/a%2"):
            self.assert_error(self.request("GET", target), 400, target)
            self.assert_still_serving(target)
        self.assertEqual(sorted(os.listdir(path)), ["a"])

    def test_symlink_out_of_the_root(self):
        api, path = self.folder()
        os.symlink("/", path / "escape")
        # The test's own folder outside the root, reached through the link to /.
        outside = self.server.folder
        via_link = f"{api}/escape{outside}"
        os.symlink("/etc/passwd", path / "passwd")
        (path / "real.txt").write_text("real")
        os.symlink("real.txt", path / "inside.txt")
        for target in (f"/api/contents/{api}/escape", f"/api/contents/{api}/escape/etc/passwd",
                       f"/api/contents/{api}/escape/etc", f"/api/contents/{api}/passwd",
                       f"/api/contents/{api}/escape/etc/passwd?type=file&format=text"):
            response = self.request("GET", target)
            self.assert_error(response, 403, f"GET {target}")
            self.assertNotIn(b"root:", response.body)
            self.assert_still_serving(f"GET {target}")
        for method, target, body in (
                ("PUT", f"/api/contents/{via_link}/via-link.txt",
                 {"type": "file", "format": "text", "content": "x"}),
                ("PUT", f"/api/contents/{api}/passwd", {"type": "file", "format": "text", "content": "x"}),
                ("DELETE", f"/api/contents/{api}/escape", None),
                ("DELETE", f"/api/contents/{via_link}/server.log", None),
                ("PATCH", f"/api/contents/{api}/escape", {"path": f"{api}/renamed"}),
                ("PATCH", f"/api/contents/{api}/real.txt", {"path": f"{via_link}/moved.txt"}),
                ("POST", f"/api/contents/{via_link}", {"type": "file"}),
                ("POST", f"/api/contents/{api}", {"copy_from": f"{api}/passwd"}),
                ("POST", f"/api/contents/{api}/passwd/checkpoints", None),
                ("GET", f"/api/contents/{api}/escape/etc/checkpoints", None)):
            self.assert_error(self.request(method, target, body), 403, f"{method} {target}")
            self.assert_still_serving(f"{method} {target}")
        self.assertFalse((outside / "via-link.txt").exists())
        self.assertFalse((outside / "moved.txt").exists())
        self.assertFalse((outside / "untitled.txt").exists())
        self.assertTrue((outside / "server.log").exists())
        self.assertEqual(sorted(os.listdir(path)), ["escape", "inside.txt", "passwd", "real.txt"])
        self.assertEqual(os.readlink(path / "escape"), "/")
        # Not listed; a link that stays inside the root is.
        names = [child["name"] for child in self.get_json(f"/api/contents/{api}")["content"]]
        self.assertEqual(sorted(names), ["inside.txt", "real.txt"])
        self.assertEqual(self.get_json(f"/api/contents/{api}/inside.txt")["content"], "real")


if __name__ == "__main__":
    unittest.main()
