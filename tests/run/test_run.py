"""`tejun run`: runbooks run headless, end to end, as an operator or CI would run them.

Each test writes its runbooks into a temporary folder, runs `$TEJUN run ...` there with a
deadline and checks the exit code, stdout/stderr and the files written, read back with Debian's
nbformat (every output notebook must pass nbformat.validate). Two kernels are used: tejun's own
(installed under its default name into a throwaway Jupyter tree, so that it is this $TEJUN that
runs the steps) and Debian's ipykernel, the `python3` kernelspec in /usr/share/jupyter.

Runs as `python3 -m unittest -v test_run` with $TEJUN the tejun binary (default: `tejun` on
PATH). Nothing is written outside temporary folders: HOME, the Jupyter and IPython folders
point into the sandbox made by setUpModule.
"""

import ast
import datetime
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import nbformat
from nbformat import v4

# tests/python: reading what a run saved (run_outputs).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "python"))

from run_outputs import code_cells, error_outputs, step_named, stream_text  # noqa: E402

TEJUN = os.environ.get("TEJUN", "tejun")
DEADLINE = 60  # seconds; for a run that should take one or two
QUICK = 15  # seconds; what a step stopped by a timeout, a signal or a dead kernel may take at most
INJECTED = "injected-parameters"
PYTHON_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
CALLER_VARIABLE = "TEJUN_RUN_TEST_VALUE"

SANDBOX = None


class Sandbox:
    """A temporary HOME and Jupyter tree with the tejun kernel installed in it by $TEJUN; the
    environment every run gets. ipykernel's `python3` is still found in /usr/share/jupyter."""

    def __init__(self):
        self._folder = tempfile.TemporaryDirectory(prefix="tejun-run-test-")
        self.root = pathlib.Path(self._folder.name).resolve()
        prefix = self.root / "prefix"
        installed = subprocess.run([TEJUN, "kernel", "install", "--prefix", str(prefix)],
                                   capture_output=True, text=True, timeout=DEADLINE)
        if installed.returncode != 0:
            self._folder.cleanup()
            raise AssertionError(f"tejun kernel install failed ({installed.returncode}): {installed.stderr}")
        home = self.root / "home"
        folders = {
            "HOME": home,
            "JUPYTER_PATH": prefix / "share" / "jupyter",
            "JUPYTER_DATA_DIR": home / "jupyter-data",
            "JUPYTER_CONFIG_DIR": home / "jupyter-config",
            "JUPYTER_RUNTIME_DIR": home / "jupyter-runtime",
            "IPYTHONDIR": home / "ipython",
            "XDG_CONFIG_HOME": home / "config",
            "XDG_DATA_HOME": home / "data",
            "XDG_STATE_HOME": home / "state",
            "XDG_CACHE_HOME": home / "cache",
            "MPLCONFIGDIR": home / "matplotlib",
        }
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.runtime_dir = folders["JUPYTER_RUNTIME_DIR"]
        self.environment = dict(os.environ)
        self.environment.update({name: str(value) for name, value in folders.items()})
        self.environment["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # ipykernel's debugger notice on stderr
        self.environment.pop(CALLER_VARIABLE, None)

    def close(self):
        self._folder.cleanup()


def setUpModule():
    global SANDBOX
    SANDBOX = Sandbox()


def tearDownModule():
    SANDBOX.close()


# ---- reading what a run wrote ----

def injected_cells(notebook):
    return [cell for cell in notebook.cells if INJECTED in cell.metadata.get("tags", [])]


def cell_with_id(notebook, cell_id):
    found = [cell for cell in notebook.cells if cell.get("id") == cell_id]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} cells with id {cell_id!r}")
    return found[0]


def python_literals(source):
    """The `name = literal` lines of an injected Python parameters cell, evaluated."""
    values = {}
    for line in source.splitlines()[1:]:
        if line.strip():
            name, literal = line.split(" = ", 1)
            values[name] = ast.literal_eval(literal)
    return values


def typed(values):
    """A dict's values with their types, so that 1, 1.0 and True are told apart."""
    return {name: (type(value).__name__, value) for name, value in values.items()}


def process_alive(pid):
    """Whether process PID runs (a zombie waiting to be reaped does not count)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def markdown_runbook(text):
    return textwrap.dedent(text).lstrip("\n")


class RunResult:
    """What one `tejun run` gave: exit code, stdout, stderr and the seconds it took."""

    def __init__(self, completed, seconds):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.seconds = seconds

    def summary(self):
        """The --json summary: exactly one JSON object on one line of stdout."""
        lines = self.stdout.splitlines()
        if len(lines) != 1:
            raise AssertionError(f"expected one line of JSON on stdout, got {self.stdout!r}")
        return json.loads(lines[0])

    def __str__(self):
        return f"exit {self.returncode} after {self.seconds:.1f} s\nstdout: {self.stdout}\nstderr: {self.stderr}"


class RunTestCase(unittest.TestCase):
    """A fresh temporary folder per test, with helpers to write runbooks, run them and read the
    output notebooks (validated)."""

    maxDiff = None

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="tejun-run-test-", dir=SANDBOX.root)
        self.addCleanup(folder.cleanup)
        self.folder = pathlib.Path(folder.name).resolve()

    def write(self, name, text):
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def write_notebook(self, name, cells, kernelspec=None):
        metadata = {"kernelspec": kernelspec} if kernelspec else {}
        notebook = v4.new_notebook(cells=cells, metadata=metadata)
        nbformat.validate(notebook)
        path = self.folder / name
        nbformat.write(notebook, path)
        return path

    def environment(self, **extra):
        environment = dict(SANDBOX.environment)
        environment.update(extra)
        return environment

    def tejun_run(self, *args, timeout=DEADLINE, env=None, input=None):
        """`tejun run ARGS...` in the test's folder, with a deadline; stdin is empty unless `input`."""
        command = [TEJUN, "run", *map(str, args)]
        started = time.monotonic()
        completed = subprocess.run(command, cwd=self.folder, env=env or self.environment(), input=input,
                                   stdin=None if input is not None else subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=timeout)
        return RunResult(completed, time.monotonic() - started)

    def assert_exit(self, result, code):
        self.assertEqual(result.returncode, code, str(result))

    def read_output(self, name):
        """An output notebook: it exists, nbformat reads and validates it."""
        path = self.folder / name
        self.assertTrue(path.is_file(), f"{name} was not written")
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        return notebook

    def assert_executed(self, cell, status="completed"):
        """A cell the run executed: a count, nbclient's timings, papermill's record."""
        self.assertIsInstance(cell.execution_count, int, cell)
        self.assertEqual(set(cell.metadata["execution"]),
                         {"iopub.status.busy", "iopub.execute_input", "shell.execute_reply", "iopub.status.idle"},
                         cell.metadata)
        papermill = cell.metadata["papermill"]
        self.assertEqual(papermill["status"], status, cell)
        self.assertEqual(papermill["exception"], status == "failed", cell)
        for key in ("start_time", "end_time", "duration"):
            self.assertIsNotNone(papermill[key], cell)

    def assert_not_run(self, cell):
        self.assertIsNone(cell.execution_count, cell)
        self.assertEqual(cell.outputs, [], cell)
        self.assertEqual(cell.metadata.get("papermill", {}).get("status", "pending"), "pending", cell)

    def assert_papermill_run(self, notebook, runbook, output, exception):
        """metadata.papermill of a finished run."""
        papermill = notebook.metadata["papermill"]
        self.assertLessEqual({"parameters", "input_path", "output_path", "start_time", "end_time", "duration",
                              "exception"}, set(papermill))
        self.assertEqual((self.folder / papermill["input_path"]).resolve(), (self.folder / runbook).resolve())
        self.assertEqual((self.folder / papermill["output_path"]).resolve(), (self.folder / output).resolve())
        self.assertIs(papermill["exception"], exception)
        self.assertGreaterEqual(papermill["duration"], 0)
        start = datetime.datetime.fromisoformat(papermill["start_time"])
        end = datetime.datetime.fromisoformat(papermill["end_time"])
        self.assertLessEqual(start, end)

    def assert_process_ends(self, pid_file, seconds=5):
        """The process whose id a step wrote to PID_FILE (the kernel, a step's child) is gone
        within SECONDS: tejun run leaves nothing running."""
        pid = int((self.folder / pid_file).read_text(encoding="utf-8"))
        deadline = time.monotonic() + seconds
        while process_alive(pid):
            self.assertLess(time.monotonic(), deadline, f"process {pid} ({pid_file}) still runs")
            time.sleep(0.05)

    def assert_no_connection_files(self):
        """The run removed its kernel's connection file."""
        self.assertEqual(sorted(p.name for p in SANDBOX.runtime_dir.glob("kernel-*.json")), [])


# ---- the tejun kernel, from Markdown ----

SHELL_RUNBOOK = markdown_runbook("""
    ---
    title: Check the host
    kernel: tejun
    ---

    # Check the host

    Every step runs in one shell session.

    ```sh {name=hello}
    echo "hello from a runbook"
    ```

    Set some state.

    ```sh {name=set-state}
    export GREETING=hi
    NAME=world
    say() { echo "said $1"; }
    ```

    ```sh {name=use-state}
    echo "$GREETING $NAME"
    say it
    ```

    ```sh {name=where}
    pwd -P
    cat notes.txt
    echo "caller: $TEJUN_RUN_TEST_VALUE"
    ```

    ```sh {name=streams}
    echo one
    sleep 0.3
    echo two
    echo $PPID > kernel.pid
    ```
    """)


class ShellRunbooks(RunTestCase):
    def test_markdown_runbook_runs_in_one_shell_in_its_folder(self):
        """A .md runbook on the tejun kernel: every step's output recorded, shell state kept
        from step to step, the runbook's folder as working directory, the caller's environment
        passed on, consecutive stream outputs merged, progress on stderr and nothing on stdout."""
        self.write("book/runbook.md", SHELL_RUNBOOK)
        self.write("book/notes.txt", "notes beside the runbook\n")
        caller_value = "from the caller: 'quoted' $HOME"
        (self.folder / "out").mkdir()
        result = self.tejun_run("book/runbook.md", "-o", "out/run.ipynb",
                                env=self.environment(**{CALLER_VARIABLE: caller_value}))
        self.assert_exit(result, 0)
        self.assertEqual(result.stdout, "")
        for name in ("hello", "set-state", "use-state", "where", "streams"):
            self.assertIn(name, result.stderr)

        notebook = self.read_output("out/run.ipynb")
        self.assertEqual(notebook.metadata["kernelspec"]["name"], "tejun")
        self.assertEqual(injected_cells(notebook), [])  # no parameters, nothing injected
        steps = code_cells(notebook)
        self.assertEqual(len(steps), 5)
        for cell in steps:
            self.assert_executed(cell)
        self.assertEqual([cell.execution_count for cell in steps], [1, 2, 3, 4, 5])
        self.assertEqual(stream_text(step_named(notebook, "hello")), "hello from a runbook\n")
        self.assertEqual(step_named(notebook, "set-state").outputs, [])
        self.assertEqual(stream_text(step_named(notebook, "use-state")), "hi world\nsaid it\n")
        self.assertEqual(stream_text(step_named(notebook, "where")),
                         f"{self.folder / 'book'}\nnotes beside the runbook\ncaller: {caller_value}\n")
        streams = step_named(notebook, "streams").outputs
        self.assertEqual([(o["output_type"], o["name"], o["text"]) for o in streams],
                         [("stream", "stdout", "one\ntwo\n")])
        self.assertEqual([c.cell_type for c in notebook.cells][:2], ["markdown", "code"])
        self.assertIn("Every step runs in one shell session.", notebook.cells[0].source)
        self.assert_papermill_run(notebook, "book/runbook.md", "out/run.ipynb", exception=False)
        self.assert_no_connection_files()
        self.assert_process_ends("book/kernel.pid")  # the kernel was shut down

    def test_cwd_option_sets_the_kernels_working_directory(self):
        """--cwd DIR: the steps run in DIR instead of the runbook's folder."""
        self.write("book/runbook.md", markdown_runbook("""
            ```sh {name=where}
            pwd -P
            cat notes.txt
            ```
            """))
        self.write("elsewhere/notes.txt", "notes in the other folder\n")
        result = self.tejun_run("book/runbook.md", "-o", "run.ipynb", "--cwd", "elsewhere")
        self.assert_exit(result, 0)
        notebook = self.read_output("run.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "where")),
                         f"{self.folder / 'elsewhere'}\nnotes in the other folder\n")

    def test_no_kernelspec_means_the_tejun_kernel(self):
        """An .ipynb with no kernelspec runs on tejun's own kernel."""
        self.write_notebook("plain.ipynb", [v4.new_code_cell('echo "$BASH_VERSION" | cut -c1')])
        result = self.tejun_run("plain.ipynb", "out.ipynb", "--json")
        self.assert_exit(result, 0)
        self.assertEqual(result.summary()["kernel"], "tejun")
        notebook = self.read_output("out.ipynb")
        self.assertRegex(stream_text(code_cells(notebook)[0]), r"^\d\n$")


# ---- ipykernel ----

    def test_step_durations_are_the_kernels(self):
        """Steps are all sent at once; each step's duration is still the time the kernel spent
        on it (from its busy to its idle status), not the moment this process looked at it."""
        self.write("slow.md", textwrap.dedent("""\
            ```sh {name=first}
            sleep 0.4
            ```

            ```sh {name=second}
            sleep 0.3
            ```
            """))
        result = self.tejun_run("slow.md", "out.ipynb", "--json")
        self.assert_exit(result, 0)
        durations = {step["name"]: step["duration_seconds"] for step in result.summary()["steps"]}
        self.assertGreaterEqual(durations["first"], 0.35)
        self.assertGreaterEqual(durations["second"], 0.25)
        cell = step_named(self.read_output("out.ipynb"), "second")
        self.assertGreaterEqual(cell.metadata["papermill"]["duration"], 0.25)


    def test_a_step_reading_the_terminal_fails_instead_of_stopping(self):
        """Started from a terminal, a step that reads /dev/tty (sudo, ssh, git asking for a
        password) fails at once: the kernel has no controlling terminal, so it can neither
        stop on it nor hang the run."""
        import fcntl
        import termios
        import threading
        self.write("tty.md", "```sh {name=ask}\nread -r answer < /dev/tty\n```\n")
        master, slave = os.openpty()

        def own_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        seen = bytearray()

        def drain():
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                seen.extend(chunk)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        process = subprocess.Popen([TEJUN, "run", "tty.md", "-o", "out.ipynb"], cwd=self.folder,
                                   env=self.environment(), stdin=slave, stdout=slave, stderr=slave,
                                   preexec_fn=own_terminal)
        os.close(slave)
        try:
            code = process.wait(timeout=QUICK)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self.fail(f"the run hung on a step reading /dev/tty: {bytes(seen)!r}")
        finally:
            os.close(master)
        self.assertEqual(code, 1, bytes(seen))
        cell = step_named(self.read_output("out.ipynb"), "ask")
        self.assertEqual(error_outputs(cell)[-1]["ename"], "exit status 1")
        self.assertIn("/dev/tty", error_outputs(cell)[-1]["evalue"])


class PythonNotebooks(RunTestCase):
    def parameters_notebook(self, name):
        return self.write_notebook(name, [
            v4.new_markdown_cell("# A report\n\nParameters below.", id="intro"),
            v4.new_code_cell("count = 0\nratio = 0.0\nflag = False\nlower = True\nnothing = 1\nnul = 1\n"
                             "text = ''\nraw = 0\nword = ''", id="defaults", metadata={"tags": ["parameters"]}),
            v4.new_code_cell("values = dict(count=count, ratio=ratio, flag=flag, lower=lower, nothing=nothing,\n"
                             "              nul=nul, text=text, raw=raw, word=word)\n"
                             "print(repr({k: (type(v).__name__, v) for k, v in values.items()}))", id="values"),
            v4.new_code_cell("import time\nprint('one')\ntime.sleep(0.3)\nprint('two')\n6 * 7", id="result"),
            v4.new_code_cell("from IPython.display import display, HTML\n"
                             "handle = display(HTML('<b>first</b>'), display_id=True)\n"
                             "draft = display('draft', display_id=True)\n"
                             "draft.update('final')", id="displays"),
            v4.new_code_cell("handle.update(HTML('<i>updated</i>'))", id="later-update"),
        ], kernelspec=PYTHON_KERNELSPEC)

    def test_typed_parameters_and_rich_outputs(self):
        """papermill's parameters on ipykernel (the kernelspec named in the notebook): -p values
        typed, -r kept as text, the injected cell right after the `parameters` cell; an
        execute_result, display_data, and update_display_data from the same and a later cell."""
        self.parameters_notebook("report.ipynb")
        text = "it's \"quoted\"\nand a second line \\ with a backslash"
        result = self.tejun_run("report.ipynb", "out.ipynb",
                                "-p", "count", "7", "-p", "ratio", "2.5", "-p", "flag", "True",
                                "-p", "lower", "false", "-p", "nothing", "None", "-p", "nul", "null",
                                "-p", "text", text, "-r", "raw", "5", "-p", "word", "hello")
        self.assert_exit(result, 0)
        expected = {"count": 7, "ratio": 2.5, "flag": True, "lower": False, "nothing": None, "nul": None,
                    "text": text, "raw": "5", "word": "hello"}

        notebook = self.read_output("out.ipynb")
        self.assertEqual([cell.get("id") for cell in notebook.cells][:2], ["intro", "defaults"])
        injected = notebook.cells[2]
        self.assertEqual(injected.cell_type, "code")
        self.assertEqual(injected.metadata["tags"], [INJECTED])
        self.assertEqual(injected_cells(notebook), [injected])
        self.assertTrue(injected.source.startswith("# Parameters\n"), injected.source)
        self.assertEqual(typed(python_literals(injected.source)), typed(expected))
        self.assert_executed(injected)
        self.assertEqual(typed(notebook.metadata["papermill"]["parameters"]), typed(expected))

        shown = ast.literal_eval(stream_text(cell_with_id(notebook, "values")))
        self.assertEqual(shown, typed(expected))

        result_cell = cell_with_id(notebook, "result")
        self.assertEqual([o["output_type"] for o in result_cell.outputs], ["stream", "execute_result"])
        self.assertEqual(result_cell.outputs[0]["text"], "one\ntwo\n")
        self.assertEqual(result_cell.outputs[1]["data"], {"text/plain": "42"})
        self.assertEqual(result_cell.outputs[1]["execution_count"], result_cell.execution_count)

        displays = cell_with_id(notebook, "displays").outputs
        self.assertEqual([o["output_type"] for o in displays], ["display_data", "display_data"])
        self.assertEqual(displays[0]["data"]["text/html"], "<i>updated</i>")  # from the later cell
        self.assertEqual(displays[1]["data"], {"text/plain": "'final'"})
        self.assertEqual(cell_with_id(notebook, "later-update").outputs, [])
        for cell in code_cells(notebook):
            self.assert_executed(cell)
        self.assert_papermill_run(notebook, "report.ipynb", "out.ipynb", exception=False)
        self.assert_no_connection_files()

    def test_rerun_of_an_output_replaces_the_injected_cell(self):
        """Running an executed notebook again with other parameters (and -k python3 over a
        kernelspec that names another kernel): one injected cell, the new values, no old output."""
        self.write_notebook("count.ipynb", [
            v4.new_code_cell("count = 0", id="defaults", metadata={"tags": ["parameters"]}),
            v4.new_code_cell("print('count is', count)", id="show"),
            v4.new_code_cell("import os\nwith open('kernel.pid', 'w') as pid:\n    pid.write(str(os.getpid()))",
                             id="pid"),
        ], kernelspec={"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"})
        first = self.tejun_run("count.ipynb", "first.ipynb", "-k", "python3", "-p", "count", "1")
        self.assert_exit(first, 0)
        self.assertEqual(stream_text(cell_with_id(self.read_output("first.ipynb"), "show")), "count is 1\n")

        second = self.tejun_run("first.ipynb", "second.ipynb", "-k", "python3", "-p", "count", "2")
        self.assert_exit(second, 0)
        notebook = self.read_output("second.ipynb")
        self.assertEqual(len(notebook.cells), 4)
        self.assertEqual(notebook.cells[0].get("id"), "defaults")
        self.assertEqual(injected_cells(notebook), [notebook.cells[1]])
        self.assertEqual(python_literals(notebook.cells[1].source), {"count": 2})
        self.assertEqual([o["text"] for o in cell_with_id(notebook, "show").outputs], ["count is 2\n"])
        self.assertEqual(notebook.metadata["papermill"]["parameters"], {"count": 2})
        self.assert_process_ends("kernel.pid")  # ipykernel was shut down

    def test_without_a_parameters_cell_they_go_before_the_first_step(self):
        """No cell tagged `parameters`: the injected cell is the first code cell; for the tejun
        kernel it exports each value, quoted for the shell."""
        self.write_notebook("steps.ipynb", [
            v4.new_markdown_cell("# Greet", id="intro"),
            v4.new_code_cell('echo "hello $who"', id="greet"),
        ])
        result = self.tejun_run("steps.ipynb", "out.ipynb", "-p", "who", "it's me", "-p", "times", "3")
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assertEqual([cell.get("id") for cell in notebook.cells][0], "intro")
        injected = notebook.cells[1]
        self.assertEqual(injected.metadata["tags"], [INJECTED])
        self.assertTrue(injected.source.startswith("# Parameters\n"), injected.source)
        self.assertIn("export times='3'\n", injected.source)
        self.assertIn("export who=", injected.source)
        self.assertEqual(stream_text(cell_with_id(notebook, "greet")), "hello it's me\n")


# ---- parameters of Markdown runbooks ----

PARAMETER_RUNBOOK = markdown_runbook("""
    ---
    kernel: tejun
    parameters:
      namespace: databases
      replicas: 2
      dry_run: true
    ---

    # Scale

    ```sh {name=show}
    echo "namespace=$namespace replicas=$replicas dry_run=$dry_run region=${region-unset}"
    ```
    """)


class MarkdownParameters(RunTestCase):
    def run_and_show(self, *args):
        """Runs the parameters runbook with ARGS (the output positional, as papermill's); returns
        what its step printed and the run's metadata.papermill.parameters."""
        result = self.tejun_run("scale.md", "out.ipynb", *args)
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(len(injected_cells(notebook)), 1)
        self.assertIs(code_cells(notebook)[0], injected_cells(notebook)[0])
        return stream_text(step_named(notebook, "show")), notebook.metadata["papermill"]["parameters"], result

    def test_front_matter_defaults(self):
        """The front matter's parameters are the defaults; the output is papermill's positional
        OUTPUT, and -o writes a second copy."""
        self.write("scale.md", PARAMETER_RUNBOOK)
        shown, parameters, _ = self.run_and_show("-o", "copy.ipynb")
        self.assertEqual(shown, "namespace=databases replicas=2 dry_run=true region=unset\n")
        self.assertEqual(typed(parameters), typed({"namespace": "databases", "replicas": 2, "dry_run": True}))
        injected = injected_cells(self.read_output("out.ipynb"))[0]
        self.assertIn("export replicas='2'\n", injected.source)
        copy = self.read_output("copy.ipynb")
        self.assertEqual(stream_text(step_named(copy, "show")), shown)

    def test_command_line_overrides(self):
        """-p NAME VALUE and -p NAME=VALUE override the defaults, typed as papermill types them."""
        self.write("scale.md", PARAMETER_RUNBOOK)
        shown, parameters, result = self.run_and_show("-p", "replicas", "5", "-p", "namespace=it's web",
                                                      "-p", "dry_run", "False")
        self.assertEqual(shown, "namespace=it's web replicas=5 dry_run=false region=unset\n")
        self.assertEqual(typed(parameters), typed({"namespace": "it's web", "replicas": 5, "dry_run": False}))
        self.assertNotIn("declared", result.stderr)

    def test_parameters_file_and_yaml_text(self):
        """-f FILE and -y TEXT give YAML mappings; -p given too wins over them."""
        self.write("scale.md", PARAMETER_RUNBOOK)
        self.write("params.yaml", "namespace: staging\nreplicas: 9\n")
        shown, parameters, _ = self.run_and_show("-f", "params.yaml", "-p", "replicas", "4")
        self.assertEqual(shown, "namespace=staging replicas=4 dry_run=true region=unset\n")
        self.assertEqual(typed(parameters), typed({"namespace": "staging", "replicas": 4, "dry_run": True}))
        shown, _, _ = self.run_and_show("-y", "namespace: qa")
        self.assertEqual(shown, "namespace=qa replicas=2 dry_run=true region=unset\n")

    def test_undeclared_parameter_warns_and_is_set(self):
        """A -p the front matter does not declare: a warning naming it on stderr, and it is set."""
        self.write("scale.md", PARAMETER_RUNBOOK)
        shown, parameters, result = self.run_and_show("-p", "region", "eu-west")
        self.assertEqual(shown, "namespace=databases replicas=2 dry_run=true region=eu-west\n")
        self.assertEqual(parameters["region"], "eu-west")
        self.assertRegex(result.stderr, r"(?m)^.*'?region'?.*declared.*$")

    def test_prepare_only_injects_and_runs_nothing(self):
        """--prepare-only writes the output with the parameters injected and no step run."""
        self.write("scale.md", PARAMETER_RUNBOOK)
        result = self.tejun_run("scale.md", "prepared.ipynb", "--prepare-only", "-p", "replicas", "3")
        self.assert_exit(result, 0)
        notebook = self.read_output("prepared.ipynb")
        self.assertIn("export replicas='3'\n", injected_cells(notebook)[0].source)
        for cell in code_cells(notebook):
            self.assertIsNone(cell.execution_count)
            self.assertEqual(cell.outputs, [])


# ---- failures, timeouts, a dying kernel, signals ----

FAILING_RUNBOOK = markdown_runbook("""
    ---
    kernel: tejun
    ---

    # Deploy

    Check the disk first.

    ```sh {name=disk}
    echo "disk ok"
    ```

    Then something breaks.

    ```sh {name=break}
    echo "about to fail"
    false
    ```

    ```sh {name=never}
    echo "after the failure"
    ```
    """)


class Failures(RunTestCase):
    def test_failing_step_stops_the_run(self):
        """Exit 1: the steps before keep their output, the failing one has an error output after
        what it printed, the later ones are not run; the JSON summary says so."""
        self.write("deploy.md", FAILING_RUNBOOK)
        result = self.tejun_run("deploy.md", "out.ipynb", "--json")
        self.assert_exit(result, 1)
        notebook = self.read_output("out.ipynb")
        self.assert_executed(step_named(notebook, "disk"))
        self.assertEqual(stream_text(step_named(notebook, "disk")), "disk ok\n")
        broken = step_named(notebook, "break")
        self.assert_executed(broken, status="failed")
        self.assertEqual(stream_text(broken), "about to fail\n")
        self.assertEqual(broken.outputs[-1]["output_type"], "error")
        self.assertEqual(len(error_outputs(broken)), 1)
        self.assert_not_run(step_named(notebook, "never"))
        self.assert_papermill_run(notebook, "deploy.md", "out.ipynb", exception=True)

        summary = result.summary()
        self.assertEqual((summary["status"], summary["exit_code"]), ("failed", 1))
        self.assertIn("break", summary["reason"])
        statuses = {step["name"]: step["status"] for step in summary["steps"]}
        self.assertEqual(statuses, {"disk": "ok", "break": "failed", "never": "pending"})
        failed = [step for step in summary["steps"] if step["name"] == "break"][0]
        self.assertEqual(failed["ename"], error_outputs(broken)[0]["ename"])
        self.assertIn("evalue", failed)

    def test_allow_errors_runs_the_rest_and_still_fails(self):
        """--allow-errors: every step runs, the failing one keeps its error, the exit code is 1."""
        self.write("deploy.md", FAILING_RUNBOOK)
        result = self.tejun_run("deploy.md", "out.ipynb", "--allow-errors")
        self.assert_exit(result, 1)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(len(error_outputs(step_named(notebook, "break"))), 1)
        self.assert_executed(step_named(notebook, "never"))
        self.assertEqual(stream_text(step_named(notebook, "never")), "after the failure\n")
        self.assertEqual([c.execution_count for c in code_cells(notebook)], [1, 2, 3])
        self.assertIs(notebook.metadata["papermill"]["exception"], True)


SLOW_RUNBOOK = markdown_runbook("""
    ```sh {name=warm-up}
    echo before
    echo $PPID > kernel.pid
    sleep 0.2
    ```

    ```sh {name=slow}
    echo sleeping
    sh -c 'echo $$ > sleep.pid; exec sleep 30'
    echo woke
    ```

    ```sh {name=never}
    echo never
    ```
    """)


class Timeouts(RunTestCase):
    def check_timed_out(self, result):
        self.assert_exit(result, 3)
        self.assertLess(result.seconds, QUICK)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "warm-up")), "before\n")
        slow = step_named(notebook, "slow")
        self.assertEqual(stream_text(slow), "sleeping\n")
        self.assertEqual(slow.outputs[-1]["output_type"], "error")
        self.assertEqual(slow.outputs[-1]["ename"], "CellTimeoutError")
        self.assertEqual(slow.metadata["papermill"]["status"], "failed")
        self.assert_not_run(step_named(notebook, "never"))
        summary = result.summary()
        self.assertEqual((summary["status"], summary["exit_code"]), ("timed out", 3))
        self.assertEqual({s["name"]: s["status"] for s in summary["steps"]},
                         {"warm-up": "ok", "slow": "timed_out", "never": "pending"})
        self.assert_no_connection_files()
        self.assert_process_ends("sleep.pid")  # the step's program was stopped, not left behind
        self.assert_process_ends("kernel.pid")

    def test_step_timeout(self):
        """--timeout 1 on a step sleeping 30 s: interrupted within seconds, CellTimeoutError, exit 3."""
        self.write("slow.md", SLOW_RUNBOOK)
        self.check_timed_out(self.tejun_run("slow.md", "out.ipynb", "--timeout", "1", "--json"))

    def test_total_timeout(self):
        """--total-timeout 2: the step running when the run's time is up is interrupted, exit 3."""
        self.write("slow.md", SLOW_RUNBOOK)
        self.check_timed_out(self.tejun_run("slow.md", "out.ipynb", "--total-timeout", "2", "--json"))


class KernelDeath(RunTestCase):
    def check_kernel_died(self, result, notebook, before, dying, after):
        self.assert_exit(result, 4)
        self.assertLess(result.seconds, QUICK + 5)
        self.assertEqual(stream_text(before), "before\n")
        self.assertEqual(stream_text(dying), "dying\n")  # what it printed before it died is kept
        self.assertEqual(dying.outputs[-1]["output_type"], "error")
        self.assertEqual(dying.outputs[-1]["ename"], "DeadKernelError")
        self.assert_not_run(after)
        summary = result.summary()
        self.assertEqual((summary["status"], summary["exit_code"]), ("kernel died", 4))
        self.assertIn("kernel_died", [s["status"] for s in summary["steps"]])
        self.assert_no_connection_files()

    def test_tejun_kernel_killed_mid_step(self):
        """A step that kills its kernel (the step's bash is the kernel's child): exit 4, outputs kept."""
        self.write("die.md", markdown_runbook("""
            ```sh {name=before}
            echo before
            ```

            ```sh {name=dying}
            echo dying
            sleep 0.2
            kill -9 $PPID
            ```

            ```sh {name=after}
            echo after
            ```
            """))
        result = self.tejun_run("die.md", "out.ipynb", "--json")
        notebook = self.read_output("out.ipynb")
        self.check_kernel_died(result, notebook, step_named(notebook, "before"), step_named(notebook, "dying"),
                               step_named(notebook, "after"))

    def test_ipykernel_killed_mid_step(self):
        """ipykernel killing itself (-k python3 on a notebook with no kernelspec): exit 4."""
        self.write_notebook("die.ipynb", [
            v4.new_code_cell("print('before')", id="before"),
            v4.new_code_cell("import os, time\nprint('dying', flush=True)\ntime.sleep(0.2)\n"
                             "os.kill(os.getpid(), 9)", id="dying"),
            v4.new_code_cell("print('after')", id="after"),
        ])
        result = self.tejun_run("die.ipynb", "out.ipynb", "-k", "python3", "--json")
        notebook = self.read_output("out.ipynb")
        self.assertEqual(result.summary()["kernel"], "python3")
        self.check_kernel_died(result, notebook, cell_with_id(notebook, "before"), cell_with_id(notebook, "dying"),
                               cell_with_id(notebook, "after"))


class KernelStart(RunTestCase):
    def test_kernel_that_cannot_start(self):
        """A kernelspec whose program exits at once, and one that never answers within
        --start-timeout: exit 4 quickly, naming the kernel, nothing left running, no step run."""
        kernels = self.folder / "jupyter" / "kernels"
        for name, argv in (("exits", ["false", "{connection_file}"]),
                           ("silent", ["sh", "-c", "echo $$ > silent.pid; exec sleep 30", "{connection_file}"])):
            (kernels / name).mkdir(parents=True)
            (kernels / name / "kernel.json").write_text(
                json.dumps({"argv": argv, "display_name": name, "language": "bash"}), encoding="utf-8")
        self.write("ok.md", "```sh {name=one}\necho one\n```\n")
        env = self.environment(
            JUPYTER_PATH=f"{self.folder / 'jupyter'}{os.pathsep}{SANDBOX.environment['JUPYTER_PATH']}")
        for name, start_timeout in (("exits", "20"), ("silent", "1")):
            with self.subTest(name):
                result = self.tejun_run("ok.md", "out.ipynb", "-k", name, "--start-timeout", start_timeout,
                                        "--json", env=env)
                self.assert_exit(result, 4)
                self.assertLess(result.seconds, QUICK)
                self.assertIn(name, result.stderr)
                summary = result.summary()
                self.assertEqual((summary["status"], summary["exit_code"], summary["kernel"]),
                                 ("kernel died", 4, name))
                self.assert_not_run(step_named(self.read_output("out.ipynb"), "one"))
        self.assert_process_ends("silent.pid")
        self.assert_no_connection_files()


class Signals(RunTestCase):
    def interrupt_during_sleep(self, signal_number, expected_code):
        """Starts the slow runbook, waits until its `slow` step is running, checks that the
        finished step is already on disk, sends the signal; returns the output notebook."""
        self.write("slow.md", SLOW_RUNBOOK)
        stderr_path = self.folder / "stderr.txt"
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen([TEJUN, "run", "slow.md", "out.ipynb", "--log-output", "--json"],
                                       cwd=self.folder, env=self.environment(), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=stderr)
        try:
            deadline = time.monotonic() + DEADLINE
            while ("sleeping\n" not in stderr_path.read_text(encoding="utf-8", errors="replace")
                   or not (self.folder / "sleep.pid").exists()):
                self.assertIsNone(process.poll(), stderr_path.read_text(encoding="utf-8", errors="replace"))
                self.assertLess(time.monotonic(), deadline, "the slow step never started")
                time.sleep(0.05)
            # The output is rewritten after every step: the finished one is on disk already.
            during = self.read_output("out.ipynb")
            self.assertEqual(stream_text(step_named(during, "warm-up")), "before\n")
            self.assertIsNone(step_named(during, "slow").execution_count)
            signalled = time.monotonic()
            process.send_signal(signal_number)
            stdout, _ = process.communicate(timeout=QUICK)
            self.assertLess(time.monotonic() - signalled, QUICK)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr_text = stderr_path.read_text(encoding="utf-8", errors="replace")
        self.assertEqual(process.returncode, expected_code, stderr_text)
        summary = json.loads(stdout)
        self.assertEqual((summary["status"], summary["exit_code"]), ("interrupted", expected_code))
        notebook = self.read_output("out.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "warm-up")), "before\n")
        slow = step_named(notebook, "slow")
        self.assertIn("sleeping\n", stream_text(slow))
        self.assertNotIn("woke", stream_text(slow))
        self.assertEqual(slow.metadata["papermill"]["status"], "failed")
        self.assert_not_run(step_named(notebook, "never"))
        self.assert_no_connection_files()
        self.assert_process_ends("sleep.pid")
        self.assert_process_ends("kernel.pid")

    def test_sigint_interrupts_the_step(self):
        """Ctrl-C (SIGINT) during a step: it is interrupted, the output written, exit 130."""
        self.interrupt_during_sleep(signal.SIGINT, 130)

    def test_sigterm_interrupts_the_step(self):
        """SIGTERM during a step: as SIGINT, with exit 143."""
        self.interrupt_during_sleep(signal.SIGTERM, 143)


class LargeOutput(RunTestCase):
    def test_20_mb_of_output_is_recorded_whole(self):
        """A step printing 20 MB: every byte in the .ipynb, which validates; the next step runs."""
        self.write("big.md", markdown_runbook("""
            ```sh {name=big}
            head -c 20000000 /dev/zero | tr '\\0' 'x' | fold -w 100
            ```

            ```sh {name=after}
            echo done
            ```
            """))
        result = self.tejun_run("big.md", "out.ipynb")
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        big = step_named(notebook, "big")
        self.assertEqual([o["output_type"] for o in big.outputs], ["stream"])
        text = stream_text(big)
        self.assertEqual(text.count("x"), 20_000_000)
        self.assertEqual(len(text), 20_000_000 + text.count("\n"))
        self.assertEqual({len(line) for line in text.splitlines()}, {100})
        self.assertEqual(len(text.splitlines()), 200_000)
        self.assertEqual(stream_text(step_named(notebook, "after")), "done\n")


# ---- input ----

INPUT_RUNBOOK = markdown_runbook("""
    ```sh {name=confirm}
    %confirm "Restart the database?"
    ```

    ```sh {name=restart}
    echo restarting
    ```
    """)

READ_RUNBOOK = markdown_runbook("""
    ```sh {name=who}
    read -r name
    echo "hello $name"
    ```

    ```sh {name=colour}
    read -r colour
    echo "colour $colour"
    ```
    """)


class Input(RunTestCase):
    def test_yes_answers_confirmations(self):
        """--yes answers %confirm's question."""
        self.write("restart.md", INPUT_RUNBOOK)
        result = self.tejun_run("restart.md", "out.ipynb", "--yes")
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "restart")), "restarting\n")

    def test_unanswered_confirmation_fails_without_hanging(self):
        """No --yes or --input: the step fails with InputRequired naming the question, exit 1."""
        self.write("restart.md", INPUT_RUNBOOK)
        result = self.tejun_run("restart.md", "out.ipynb", "--json", timeout=30)
        self.assert_exit(result, 1)
        self.assertLess(result.seconds, QUICK)
        notebook = self.read_output("out.ipynb")
        confirm = step_named(notebook, "confirm")
        self.assertEqual(confirm.outputs[-1]["output_type"], "error")
        self.assertEqual(confirm.outputs[-1]["ename"], "InputRequired")
        self.assertIn("Restart the database? [yes/no]", confirm.outputs[-1]["evalue"])
        self.assert_not_run(step_named(notebook, "restart"))
        step = [s for s in result.summary()["steps"] if s["name"] == "confirm"][0]
        self.assertEqual((step["status"], step["ename"]), ("failed", "InputRequired"))

    def test_input_file_and_stdin_answer_in_order(self):
        """--input FILE gives one answer per line, in order; --input - reads them from stdin."""
        self.write("ask.md", READ_RUNBOOK)
        self.write("answers.txt", "alice\nblue\n")
        result = self.tejun_run("ask.md", "out.ipynb", "--input", "answers.txt")
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "who")), "hello alice\n")
        self.assertEqual(stream_text(step_named(notebook, "colour")), "colour blue\n")

        result = self.tejun_run("ask.md", "out.ipynb", "--input", "-", input="carol\ngreen\n")
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "who")), "hello carol\n")
        self.assertEqual(stream_text(step_named(notebook, "colour")), "colour green\n")

    def test_yes_takes_confirmations_and_input_the_rest(self):
        """With --yes and --input, confirmations are answered yes and the lines go to the other
        prompts, in order."""
        self.write("both.md", textwrap.dedent("""\
            ```sh {name=confirm}
            %confirm "Go on?"
            ```

            ```sh {name=who}
            read -r name
            echo "hello $name"
            ```
            """))
        result = self.tejun_run("both.md", "out.ipynb", "--yes", "--input", "-", input="alice\n")
        self.assert_exit(result, 0)
        self.assertEqual(stream_text(step_named(self.read_output("out.ipynb"), "who")), "hello alice\n")

    def test_unanswered_read_fails_without_hanging(self):
        """A program reading stdin with nothing to answer it: InputRequired, exit 1."""
        self.write("ask.md", READ_RUNBOOK)
        result = self.tejun_run("ask.md", "out.ipynb", timeout=30)
        self.assert_exit(result, 1)
        self.assertLess(result.seconds, QUICK)
        notebook = self.read_output("out.ipynb")
        who = step_named(notebook, "who")
        self.assertEqual(who.outputs[-1]["output_type"], "error")
        self.assertEqual(who.outputs[-1]["ename"], "InputRequired")
        self.assert_not_run(step_named(notebook, "colour"))

    def test_python_input(self):
        """ipykernel's input(): answered from --input, else InputRequired without hanging."""
        self.write_notebook("ask.ipynb", [
            v4.new_code_cell("name = input('Name? ')\nprint('hi', name)", id="ask"),
        ], kernelspec=PYTHON_KERNELSPEC)
        self.write("answers.txt", "alice\n")
        answered = self.tejun_run("ask.ipynb", "answered.ipynb", "--input", "answers.txt")
        self.assert_exit(answered, 0)
        self.assertEqual(stream_text(cell_with_id(self.read_output("answered.ipynb"), "ask")), "hi alice\n")

        unanswered = self.tejun_run("ask.ipynb", "unanswered.ipynb", timeout=30)
        self.assert_exit(unanswered, 1)
        self.assertLess(unanswered.seconds, QUICK)
        cell = cell_with_id(self.read_output("unanswered.ipynb"), "ask")
        self.assertEqual(cell.outputs[-1]["output_type"], "error")
        self.assertEqual(cell.outputs[-1]["ename"], "InputRequired")
        self.assertIn("Name?", cell.outputs[-1]["evalue"])


# ---- choosing steps ----

SELECTION_RUNBOOK = markdown_runbook("""
    ---
    kernel: tejun
    parameters:
      target: db1
    ---

    ```sh {name=alpha}
    echo "alpha $target"
    ```

    ```sh {name=beta}
    echo "beta $target"
    ```

    ```sh {name=gamma}
    echo "gamma $target"
    ```

    ```sh {name=delta}
    echo "delta $target"
    ```
    """)

STEP_NAMES = ["alpha", "beta", "gamma", "delta"]


class Selection(RunTestCase):
    def ran(self, *args):
        """Runs the selection runbook with ARGS; the names of the steps that ran, after checking
        that the others were left unrun and the parameters were still set."""
        result = self.tejun_run("steps.md", "out.ipynb", "--json", *args)
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assert_executed(injected_cells(notebook)[0])
        ran = []
        for name in STEP_NAMES:
            cell = step_named(notebook, name)
            if cell.execution_count is None:
                self.assert_not_run(cell)
            else:
                self.assertEqual(stream_text(cell), f"{name} db1\n")
                ran.append(name)
        statuses = {s["name"]: s["status"] for s in result.summary()["steps"] if s["name"] in STEP_NAMES}
        self.assertEqual(statuses, {name: "ok" if name in ran else "skipped" for name in STEP_NAMES})
        return ran

    def test_step_from_to(self):
        """--step, --from and --to by name or 1-based number (the injected parameters run anyway)."""
        self.write("steps.md", SELECTION_RUNBOOK)
        self.assertEqual(self.ran("--step", "beta"), ["beta"])
        self.assertEqual(self.ran("--step", "3"), ["gamma"])
        self.assertEqual(self.ran("--from", "beta", "--to", "gamma"), ["beta", "gamma"])
        self.assertEqual(self.ran("--from", "gamma"), ["gamma", "delta"])
        self.assertEqual(self.ran("--to", "2"), ["alpha", "beta"])

    def test_step_by_cell_id(self):
        """--step CELL_ID in an .ipynb."""
        self.write_notebook("steps.ipynb", [v4.new_code_cell("echo one", id="first-step"),
                                            v4.new_code_cell("echo two", id="second-step")])
        result = self.tejun_run("steps.ipynb", "out.ipynb", "--step", "second-step")
        self.assert_exit(result, 0)
        notebook = self.read_output("out.ipynb")
        self.assert_not_run(cell_with_id(notebook, "first-step"))
        self.assertEqual(stream_text(cell_with_id(notebook, "second-step")), "two\n")

    def test_unknown_step_is_a_usage_error(self):
        """An unknown --step/--from/--to: exit 2 naming it and listing the steps, nothing written."""
        self.write("steps.md", SELECTION_RUNBOOK)
        for option in ("--step", "--from", "--to"):
            with self.subTest(option=option):
                result = self.tejun_run("steps.md", "out.ipynb", option, "epsilon")
                self.assert_exit(result, 2)
                self.assertIn("epsilon", result.stderr)
                for name in STEP_NAMES:
                    self.assertIn(name, result.stderr)
                self.assertFalse((self.folder / "out.ipynb").exists())
        result = self.tejun_run("steps.md", "out.ipynb", "--step", "5")
        self.assert_exit(result, 2)
        result = self.tejun_run("steps.md", "out.ipynb", "--from", "delta", "--to", "alpha")
        self.assert_exit(result, 2)
        self.assertFalse((self.folder / "out.ipynb").exists())


# ---- bad input ----

class BadInput(RunTestCase):
    def assert_bad_input(self, args, *fragments):
        result = self.tejun_run(*args)
        self.assert_exit(result, 2)
        self.assertLess(result.seconds, QUICK)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertEqual(result.stdout, "")
        return result

    def test_bad_inputs_exit_2_naming_what_is_wrong(self):
        """Exit 2 with a message naming the file (or name) at fault, and no output written."""
        self.write("ok.md", "```sh {name=one}\necho one\n```\n")
        self.write("ok.txt", "```sh {name=one}\necho one\n```\n")
        self.write("broken.ipynb", '{\n "cells": [,\n}\n')
        self.write("bad.yaml", "replicas: [1, 2\nnamespace: : x\n")
        cases = {
            "missing runbook": (["missing.md", "out.ipynb"], "missing.md"),
            "runbook with a bad extension": (["ok.txt", "out.ipynb"], "ok.txt"),
            "broken runbook": (["broken.ipynb", "out.ipynb"], "broken.ipynb:2:"),
            "bad output extension": (["ok.md", "-o", "out.txt"], "out.txt"),
            "report over the runbook": (["ok.md", "-o", "ok.md"], "ok.md"),
            "unknown kernel": (["ok.md", "out.ipynb", "-k", "no-such-kernel"], "no-such-kernel"),
            "invalid parameter name": (["ok.md", "out.ipynb", "-p", "a-b", "1"], "a-b"),
            "malformed parameters file": (["ok.md", "out.ipynb", "-f", "bad.yaml"], "bad.yaml"),
            "missing parameters file": (["ok.md", "out.ipynb", "-f", "nope.yaml"], "nope.yaml"),
            "missing --input file": (["ok.md", "out.ipynb", "--input", "nope.txt"], "nope.txt"),
            "output in a missing folder": (["ok.md", "-o", "no-such-folder/out.ipynb"], "no-such-folder/out.ipynb"),
            "unknown option": (["ok.md", "out.ipynb", "--bogus"], "--bogus"),
            "infinite timeout": (["ok.md", "out.ipynb", "--timeout", "inf"], "--timeout"),
            "negative total timeout": (["ok.md", "out.ipynb", "--total-timeout", "-1"], "--total-timeout"),
            "huge start timeout": (["ok.md", "out.ipynb", "--start-timeout", "1e10"], "--start-timeout"),
        }
        for case, (args, fragment) in cases.items():
            with self.subTest(case):
                try:
                    self.assert_bad_input(args, fragment)
                    self.assertEqual(sorted(p.name for p in self.folder.iterdir()),
                                     ["bad.yaml", "broken.ipynb", "ok.md", "ok.txt"], "something was written")
                finally:
                    for written in set(self.folder.iterdir()) - {self.folder / n for n in
                                                                 ("bad.yaml", "broken.ipynb", "ok.md", "ok.txt")}:
                        shutil.rmtree(written) if written.is_dir() else written.unlink()
        self.assertEqual((self.folder / "ok.md").read_text(encoding="utf-8"), "```sh {name=one}\necho one\n```\n")

    def test_missing_cwd_is_found_before_anything_is_written(self):
        """--cwd naming no folder: exit 2 naming it, and no output written (as for every other bad
        input: the check comes before the output with the parameters injected is first written)."""
        self.write("ok.md", "```sh {name=one}\necho one\n```\n")
        self.assert_bad_input(["ok.md", "out.ipynb", "--cwd", "no-such-folder"], "no-such-folder")
        self.assertEqual(sorted(p.name for p in self.folder.iterdir()), ["ok.md"])


# ---- what a run reports ----

class Reports(RunTestCase):
    def test_json_summary(self):
        """--json: one JSON object on stdout with the run's outcome, parameters and every step,
        consistent with the output notebook."""
        self.write("scale.md", PARAMETER_RUNBOOK)
        result = self.tejun_run("scale.md", "out.ipynb", "-o", "report.md", "--json", "-p", "replicas", "3")
        self.assert_exit(result, 0)
        summary = result.summary()
        self.assertEqual(set(summary), {"runbook", "kernel", "outputs", "status", "exit_code", "reason",
                                        "start_time", "end_time", "duration_seconds", "parameters", "steps"})
        self.assertEqual((self.folder / summary["runbook"]).resolve(), self.folder / "scale.md")
        self.assertEqual([(self.folder / o).resolve() for o in summary["outputs"]],
                         [self.folder / "out.ipynb", self.folder / "report.md"])
        self.assertEqual(summary["kernel"], "tejun")
        self.assertEqual((summary["status"], summary["exit_code"]), ("succeeded", 0))
        self.assertIn(summary["reason"], ("", None))
        start = datetime.datetime.fromisoformat(summary["start_time"])
        end = datetime.datetime.fromisoformat(summary["end_time"])
        self.assertLessEqual(start, end)
        self.assertAlmostEqual(summary["duration_seconds"], (end - start).total_seconds(), delta=1)
        self.assertLess(summary["duration_seconds"], result.seconds + 1)
        self.assertEqual(typed(summary["parameters"]),
                         typed({"namespace": "databases", "replicas": 3, "dry_run": True}))

        notebook = self.read_output("out.ipynb")
        by_id = {cell.get("id"): cell for cell in code_cells(notebook)}
        own = [step for step in summary["steps"] if INJECTED not in by_id[step["cell_id"]].metadata.get("tags", [])]
        self.assertEqual([step["name"] for step in own], ["show"])
        # "number" is the runbook's own step number, as --step takes it; the injected
        # parameters are not one of the runbook's steps.
        numbers = [step["number"] for step in summary["steps"]]
        self.assertEqual(numbers, [None, 1])
        self.assertEqual([step["name"] for step in summary["steps"]], ["parameters", "show"])
        for step in summary["steps"]:
            self.assertLessEqual({"name", "number", "cell_id", "status", "duration_seconds", "execution_count"},
                                 set(step))
            self.assertEqual(step["status"], "ok")
            self.assertNotIn("ename", step)
            self.assertGreaterEqual(step["duration_seconds"], 0)
            self.assertEqual(step["execution_count"], by_id[step["cell_id"]].execution_count)

    def test_markdown_report(self):
        """-o report.md: a summary line, the prose, each step's code then its ✓/✗ status line and
        its output in fenced blocks; the step never run has no status mark and no output."""
        self.write("deploy.md", FAILING_RUNBOOK)
        result = self.tejun_run("deploy.md", "-o", "report.md", "-o", "out.ipynb")
        self.assert_exit(result, 1)
        self.read_output("out.ipynb")
        report = (self.folder / "report.md").read_text(encoding="utf-8")
        first_line = report.splitlines()[0]
        self.assertIn("deploy.md", first_line)
        self.assertIn("failed", first_line)
        self.assertIn("Check the disk first.", report)
        self.assertIn("Then something breaks.", report)

        def fenced(text, start):
            match = re.compile(r"^(`{3,})[^\n]*\n" + re.escape(text) + r"\1$", re.M).search(report, start)
            self.assertIsNotNone(match, f"no fenced block holding {text!r} after offset {start}:\n{report}")
            return match.end()

        def status_line(mark, name, start):
            match = re.compile(r"^.*" + mark + r".*\b" + re.escape(name) + r"\b.*$", re.M).search(report, start)
            self.assertIsNotNone(match, f"no {mark} line for {name} after offset {start}:\n{report}")
            return match.end()

        at = fenced('echo "disk ok"\n', 0)
        at = status_line("✓", "disk", at)
        at = fenced("disk ok\n", at)
        self.assertLess(at, report.index("Then something breaks."))
        at = fenced('echo "about to fail"\nfalse\n', at)
        at = status_line("✗", "break", at)
        at = fenced("about to fail\n", at)
        at = fenced('echo "after the failure"\n', at)
        self.assertNotRegex(report[at:], "[✓✗]")
        self.assertEqual(report.count("after the failure"), 1)  # its code, never an output
        self.assertNotRegex(report, r"(?m)^.*[✓✗].*\bnever\b")

    def test_log_output_streams_step_output_to_stderr(self):
        """--log-output copies each step's stdout and stderr to stderr as it comes; without it
        they are not there. --progress none leaves out the progress lines."""
        self.write("talk.md", markdown_runbook("""
            ```sh {name=talk}
            echo "line one"
            echo "to stderr" >&2
            ```
            """))
        logged = self.tejun_run("talk.md", "out.ipynb", "--log-output")
        self.assert_exit(logged, 0)
        self.assertIn("line one\n", logged.stderr)
        self.assertIn("to stderr\n", logged.stderr)
        self.assertEqual(logged.stdout, "")
        plain = self.tejun_run("talk.md", "out.ipynb")
        self.assert_exit(plain, 0)
        self.assertNotIn("line one", plain.stderr)
        self.assertIn("talk", plain.stderr)
        quiet = self.tejun_run("talk.md", "out.ipynb", "--progress", "none")
        self.assert_exit(quiet, 0)
        self.assertNotIn("talk", quiet.stderr)
        notebook = self.read_output("out.ipynb")
        self.assertEqual(stream_text(step_named(notebook, "talk")), "line one\n")
        self.assertEqual(stream_text(step_named(notebook, "talk"), "stderr"), "to stderr\n")


if __name__ == "__main__":
    unittest.main()
