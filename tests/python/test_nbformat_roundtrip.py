"""tejun against Jupyter's own nbformat (Debian's python3-nbformat).

- A notebook that nbformat wrote comes out of `tejun convert x.ipynb y.ipynb` byte for byte.
- For any notebook, tejun writes exactly what nbformat.write writes after nbformat.read.
- nbformat validates every notebook tejun writes, from .ipynb and from Markdown.
"""

import json
import unittest

import nbformat
from nbformat import v4

from tejun_test_support import CORPUS, TemporaryFolder, run_tejun

ODD_TEXT = "ü 手順 ✓ \"q\" back\\slash tab\t bell\x07 esc\x1b[0m cr\rcrlf\r\nvt\x0bff\x0cfs\x1cnel\x85ls\u2028ps\u2029end"


def jupyter_notebooks():
    """Notebooks built and written with nbformat's API, covering what nbformat 4 can hold."""
    minimal = v4.new_notebook()
    minimal.cells.append(v4.new_code_cell("kubectl get pods"))

    everything = v4.new_notebook(metadata={
        "kernelspec": {"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"},
        "language_info": {"name": "bash", "file_extension": ".sh", "mimetype": "text/x-sh"},
        "title": "Everything", "authors": [{"name": "SRE"}],
        "custom": {"float": 1.0, "small": 1e-7, "big": 12345678901234567890, "none": None, "list": [1, "a", True]},
    })
    everything.cells.append(v4.new_markdown_cell(
        "# Title\n\n![x](attachment:x.png)\n" + ODD_TEXT,
        attachments={"x.png": {"image/png": "iVBORw0KGgo="}, "t.txt": {"text/plain": "a\nb\n"}}))
    code = v4.new_code_cell("echo $DB_USER\nexit 3\n", execution_count=4, metadata={"tags": ["parameters"]})
    code.outputs = [
        v4.new_output("stream", name="stdout", text="line 1\nline 2\n" + ODD_TEXT),
        v4.new_output("stream", name="stderr", text="warn\n"),
        v4.new_output("execute_result", execution_count=4, data={
            "text/plain": "a\nb", "text/html": "<b>x</b>\n<i>y</i>", "image/svg+xml": "<svg>\n</svg>",
            "application/javascript": "f();\ng();", "application/json": {"k": [1, 2.5, None]},
            "application/vnd.dataresource+json": {"data": [], "schema": {"fields": []}},
            "image/png": "iVBORw0KGgo="}, metadata={"image/png": {"width": 10}}),
        v4.new_output("display_data", data={"text/markdown": "**b**"}),
        v4.new_output("error", ename="ExitStatus", evalue="3", traceback=["\x1b[31mExitStatus\x1b[0m", "3"]),
    ]
    everything.cells.append(code)
    everything.cells.append(v4.new_raw_cell("raw\n", metadata={"format": "text/plain"}))
    everything.cells.append(v4.new_code_cell(""))

    older = v4.new_notebook()
    older.nbformat_minor = 4
    older.cells.append(v4.new_markdown_cell("no ids in 4.4"))
    older.cells.append(v4.new_code_cell("true"))
    for cell in older.cells:
        del cell["id"]

    many = v4.new_notebook()
    for i in range(200):
        cell = v4.new_code_cell(f"seq 1 {i}", execution_count=i + 1)
        cell.outputs = [v4.new_output("stream", name="stdout", text="".join(f"{n}\n" for n in range(i)))]
        many.cells.append(cell)

    return {"minimal": minimal, "everything": everything, "v4_4": older, "many": many}


class JupyterWrittenNotebooks(unittest.TestCase):
    def setUp(self):
        self.folder = TemporaryFolder()
        self.addCleanup(self.folder.cleanup)

    def test_round_trip_is_byte_for_byte(self):
        for name, notebook in jupyter_notebooks().items():
            with self.subTest(notebook=name):
                source = self.folder.path / f"{name}.ipynb"
                target = self.folder.path / f"{name}.out.ipynb"
                nbformat.write(notebook, str(source))
                run_tejun("convert", source, target, check=True)
                self.assertEqual(source.read_bytes(), target.read_bytes())

    def test_tejun_writes_what_nbformat_writes(self):
        # Each corpus notebook, read by nbformat and written by it, against tejun's own rewrite.
        paths = sorted((CORPUS / "ipynb").glob("*.ipynb"))
        self.assertGreaterEqual(len(paths), 5)
        for path in paths:
            with self.subTest(notebook=path.name):
                expected = self.folder.path / f"{path.stem}.nbformat.ipynb"
                actual = self.folder.path / f"{path.stem}.tejun.ipynb"
                nbformat.write(nbformat.read(str(path), as_version=nbformat.NO_CONVERT), str(expected))
                run_tejun("convert", path, actual, check=True)
                self.assertEqual(expected.read_text(encoding="utf-8"), actual.read_text(encoding="utf-8"))


class ValidatedByNbformat(unittest.TestCase):
    def setUp(self):
        self.folder = TemporaryFolder()
        self.addCleanup(self.folder.cleanup)

    def assert_valid(self, path):
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
        nbformat.validate(raw, version=4, version_minor=raw["nbformat_minor"])

    def test_every_written_ipynb_is_valid(self):
        checked = 0
        for path in sorted((CORPUS / "ipynb").glob("*.ipynb")):
            with self.subTest(notebook=path.name):
                target = self.folder.path / path.name
                run_tejun("convert", path, target, check=True)
                try:
                    self.assert_valid(path)
                except nbformat.ValidationError:
                    # Unknown cell and output types are kept as they are, so an input that
                    # nbformat rejects stays rejected.
                    self.assertIn("unknown_types", path.name)
                    self.assertRaises(nbformat.ValidationError, self.assert_valid, target)
                    continue
                self.assert_valid(target)
                checked += 1
        self.assertGreaterEqual(checked, 4)

    def test_markdown_runbooks_become_valid_notebooks(self):
        paths = sorted((CORPUS / "markdown").glob("*.md"))
        self.assertGreaterEqual(len(paths), 3)
        for path in paths:
            with self.subTest(runbook=path.name):
                target = self.folder.path / f"{path.stem}.ipynb"
                run_tejun("convert", path, target, check=True)
                self.assert_valid(target)
                notebook = nbformat.read(str(target), as_version=4)
                self.assertEqual(notebook.nbformat_minor, 5)
                self.assertTrue(all(cell.get("id") for cell in notebook.cells))

    def test_markdown_and_back_keeps_what_both_forms_hold(self):
        source = CORPUS / "markdown" / "restart-database.md"
        notebook = self.folder.path / "restart.ipynb"
        back = self.folder.path / "restart.md"
        run_tejun("convert", source, notebook, check=True)
        run_tejun("convert", notebook, back, check=True)
        steps = [cell for cell in nbformat.read(str(notebook), as_version=4).cells if cell.cell_type == "code"]
        self.assertEqual(steps[0].metadata["tejun"], {"language": "sh", "attributes": {"name": "check-replicas"}})
        again = self.folder.path / "again.ipynb"
        run_tejun("convert", back, again, check=True)
        first = nbformat.read(str(notebook), as_version=4)
        second = nbformat.read(str(again), as_version=4)
        strip = lambda nb: [(c.cell_type, c.source, c.metadata) for c in nb.cells]  # noqa: E731
        self.assertEqual(strip(first), strip(second))
        self.assertEqual(first.metadata, second.metadata)


if __name__ == "__main__":
    unittest.main()
