"""What `tejun run` saved, read back with Debian's nbformat: the notebook (checked for secrets
together with what the run printed, then validated), its steps by name and their outputs."""

import json
import pathlib
import subprocess

import nbformat

from tejun_test_support import TEJUN

DATARESOURCE = "application/vnd.dataresource+json"


def tejun_run(folder, *args, environment, timeout=120):
    """`tejun run ARGS` in FOLDER with ENVIRONMENT (all of it) and nothing on stdin."""
    return subprocess.run([TEJUN, "run", *map(str, args)], cwd=folder, env=environment, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def read_saved(path, result, secrets):
    """The notebook the run RESULT saved at PATH: it and the run's output checked for SECRETS
    (tejun_test_support.Secrets), then parsed and validated."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise AssertionError(secrets.redacted(f"no {path.name}: exit {result.returncode}\n{result.stderr}"))
    saved = path.read_text(encoding="utf-8")
    secrets.assert_absent(saved, f"the saved {path.name}")
    secrets.assert_absent(result.stdout, "the run's stdout")
    secrets.assert_absent(result.stderr, "the run's stderr")
    notebook = nbformat.reads(saved, as_version=4)
    nbformat.validate(notebook)
    return notebook


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def step_named(notebook, name):
    """The code cell of a Markdown step ```sh {name=NAME} (or any other fence)."""
    found = [cell for cell in code_cells(notebook)
             if cell.metadata.get("tejun", {}).get("attributes", {}).get("name") == name]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} steps named {name!r}")
    return found[0]


def stream_text(cell, name="stdout"):
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream" and o["name"] == name)


def error_outputs(cell):
    return [o for o in cell.outputs if o["output_type"] == "error"]


def plain_texts(cell):
    """The text/plain of each display_data and execute_result of CELL."""
    return [o["data"]["text/plain"] for o in cell.outputs if o["output_type"] in ("display_data", "execute_result")]


def dataresource(output):
    """An output's table (application/vnd.dataresource+json) as a dict, or None."""
    resource = output.get("data", {}).get(DATARESOURCE)
    if isinstance(resource, str):  # a notebook may hold JSON MIME types as text
        resource = json.loads(resource)
    return resource
