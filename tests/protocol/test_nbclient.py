"""Jupyter's own tools run notebooks on the tejun kernel: nbclient, and `jupyter nbconvert --execute`.

The kernel is installed under its default name, `tejun`, into a fresh prefix (see
kernel_test_support.JupyterSandbox). Runs as `python3 -m unittest test_nbclient` with $TEJUN
the tejun binary; $JUPYTER names the jupyter command (default: Debian's).
"""

import os
import subprocess
import unittest

import nbclient
import nbformat
from nbclient.exceptions import CellExecutionError
from nbformat import v4

from kernel_test_support import JupyterSandbox

JUPYTER = os.environ.get("JUPYTER", "/usr/bin/jupyter")
KERNEL_NAME = "tejun"
TIMEOUT = 60

SANDBOX = None


def setUpModule():
    global SANDBOX
    SANDBOX = JupyterSandbox(None)  # the default name


def tearDownModule():
    SANDBOX.close()


def runbook(*sources):
    """A notebook for the tejun kernel: a Markdown cell, then a code cell for each source."""
    notebook = v4.new_notebook(metadata={
        "kernelspec": {"name": KERNEL_NAME, "display_name": "Runbook (tejun)", "language": "bash"}})
    notebook.cells.append(v4.new_markdown_cell("# Restart the service\n\nEach step runs in one shell."))
    notebook.cells.extend(v4.new_code_cell(source) for source in sources)
    return notebook


def stdout_of(cell):
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream" and o["name"] == "stdout")


class NotebookExecution(unittest.TestCase):
    def setUp(self):
        self.folder = SANDBOX.root / "notebooks" / self.id().rsplit(".", 1)[-1]
        self.folder.mkdir(parents=True)
        self.folder = self.folder.resolve()

    def check_outputs(self, notebook):
        """The outputs of runbook(*STEPS) after a run, whoever ran it."""
        self.assertEqual(notebook.metadata["language_info"]["name"], "bash")
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        self.assertEqual([cell.execution_count for cell in code], [1, 2, 3, 4, 5])
        self.assertEqual(stdout_of(code[0]), "hello from a runbook\n")
        self.assertEqual(code[1].outputs, [])
        self.assertEqual(stdout_of(code[2]), "hi world\n")
        self.assertEqual(stdout_of(code[3]), f"{self.folder}\n")  # the kernel starts in the notebook's folder
        results = [o for o in code[4].outputs if o["output_type"] == "execute_result"]
        self.assertEqual([r["data"] for r in results], [{"text/plain": "hi"}])
        nbformat.validate(notebook)

    STEPS = ('echo "hello from a runbook"',
             "export GREETING=hi\nNAME=world",
             'echo "$GREETING $NAME"',
             "pwd -P",
             "%env GREETING")

    def test_nbclient(self):
        notebook = runbook(*self.STEPS)
        client = nbclient.NotebookClient(notebook, timeout=TIMEOUT, resources={"metadata": {"path": str(self.folder)}})
        client.execute()  # the kernel named by the notebook's kernelspec
        self.check_outputs(notebook)

    def test_nbconvert_execute(self):
        nbformat.write(runbook(*self.STEPS), self.folder / "in.ipynb")
        result = subprocess.run(
            [JUPYTER, "nbconvert", "--to", "notebook", "--execute",
             f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}", f"--ExecutePreprocessor.timeout={TIMEOUT}",
             "--output", "out", "in.ipynb"],
            cwd=self.folder, capture_output=True, text=True, timeout=TIMEOUT * 2)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.check_outputs(nbformat.read(self.folder / "out.ipynb", as_version=4))

    def test_failing_step_stops_the_run(self):
        notebook = runbook("echo before", "(exit 3)", "echo after")
        client = nbclient.NotebookClient(notebook, timeout=TIMEOUT, resources={"metadata": {"path": str(self.folder)}})
        with self.assertRaises(CellExecutionError) as raised:
            client.execute()
        self.assertIn("exit status 3", str(raised.exception))
        self.assertIn("exit status 3", raised.exception.ename)
        before, failed, after = notebook.cells[1:]
        self.assertEqual(stdout_of(before), "before\n")
        self.assertEqual([o["output_type"] for o in failed.outputs], ["error"])
        self.assertIn("exit status 3", failed.outputs[0]["ename"])
        self.assertIsNone(after.execution_count)
        self.assertEqual(after.outputs, [])

    def test_allow_errors_goes_on(self):
        notebook = runbook("(exit 3)", "echo after")
        nbclient.NotebookClient(notebook, timeout=TIMEOUT, allow_errors=True,
                                resources={"metadata": {"path": str(self.folder)}}).execute()
        failed, after = notebook.cells[1:]
        self.assertEqual([o["output_type"] for o in failed.outputs], ["error"])
        self.assertEqual(stdout_of(after), "after\n")


if __name__ == "__main__":
    unittest.main()
