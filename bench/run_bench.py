#!/usr/bin/python3
"""`tejun run` against `jupyter nbconvert --to notebook --execute`, end to end, side by side.

Generates, with nbformat, two pairs of notebooks in a temporary folder:
  n100  100 code cells and 100 Markdown cells, interleaved;
  n1    1 code cell and 1 Markdown cell (the fixed start-up cost, apart from the per-cell cost);
each once for ipykernel (code `x = i`, kernelspec python3) and once for the tejun kernel (code
`true`, kernelspec tejun, which `tejun run` finds without installation). Then runs, each as a
fresh process writing a new output file, from the temporary folder:
  nbconvert + ipykernel    python3 -m nbconvert --to notebook --execute n100-ipykernel.ipynb --output OUT
  tejun run + ipykernel    tejun run n100-ipykernel.ipynb -o OUT.ipynb --progress none
  tejun run + tejun kernel tejun run n100-tejun.ipynb -o OUT.ipynb --progress none
(and the same on n1). nbconvert is Debian's, started as `/usr/bin/python3 -m nbconvert`: the
same program as `jupyter nbconvert`, minus the `jupyter` dispatcher's and the entry-point
script's own start-up (0.1-0.3 s here), so the ratios are, if anything, in nbconvert's favour.

Wall time is time.perf_counter() around subprocess.run(); `sync` runs before each run. One round
runs every tool on every notebook (n100: A B C, then n1: A B C); one warm-up round is run and
not counted, then --runs rounds. The table shows the median and the min of each, the fixed cost
(n1's median) and the cost per extra cell ((n100 - n1) / 99, from the medians).

Every output notebook is checked after its run: nbformat.validate accepts it, it has the input's
cells in order, every code cell has an execution_count and no output is an error. A run that
fails, or whose output fails a check, stops the script (a run that did nothing must not count).

The bars (ratios of medians, nbconvert + ipykernel over tejun):
  tejun run + ipykernel    >= 3x   on n100 (the issue's bar) and on n1 (shown as well)
  tejun run + tejun kernel >= 20x  on n100 and on n1

All three run with HOME, IPYTHONDIR and the Jupyter and XDG folders in the temporary folder, so
no user configuration or kernelspec changes what they do.

Usage: bench/run_bench.py [--tejun build/release/tejun] [--runs 5] [--cells 100] [--json]
       (TEJUN in the environment sets the default of --tejun)
"""

import argparse
import importlib.metadata
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbformat import v4

from bench_support import isolated_environment

REPO = pathlib.Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"  # Debian's, with Debian's nbconvert, nbclient and ipykernel
DEADLINE = 600  # seconds for one run
KERNELSPECS = {
    "ipykernel": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "tejun": {"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"},
}
CODE = {"ipykernel": "x = {}", "tejun": "true"}
TOOLS = {  # tool: (label, kernel it runs)
    "nbconvert": ("nbconvert + ipykernel", "ipykernel"),
    "tejun-ipykernel": ("tejun run + ipykernel", "ipykernel"),
    "tejun-tejun": ("tejun run + tejun kernel", "tejun"),
}
BARS = (("tejun-ipykernel", 3), ("tejun-tejun", 20))


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def generate(path, kernel, cells):
    notebook = v4.new_notebook(metadata={"kernelspec": KERNELSPECS[kernel]})
    for i in range(cells):
        notebook.cells.append(v4.new_code_cell(CODE[kernel].format(i)))
        notebook.cells.append(v4.new_markdown_cell(f"## Step {i}\n\nCheck the *service* before going on."))
    nbformat.write(notebook, str(path))


def output(command, environment):
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=DEADLINE)
    if done.returncode != 0:
        sys.exit(f"failed: {shlex.join(command)}\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def versions(tejun, nbconvert, environment):
    """What each command runs: the binary's version, nbconvert's own, and the python3 kernelspec
    (found as nbconvert finds it, in the same environment) with its interpreter's ipykernel."""
    spec = json.loads(output([PYTHON, "-c",
                              "import json; from jupyter_client.kernelspec import KernelSpecManager\n"
                              "spec = KernelSpecManager().get_kernel_spec('python3')\n"
                              "print(json.dumps({'argv': spec.argv, 'dir': spec.resource_dir}))"], environment))
    ipykernel = output([spec["argv"][0], "-c", "import ipykernel; print(ipykernel.__version__)"], environment)
    return {"tejun": output([tejun, "--version"], environment),
            "nbconvert": output([*nbconvert, "--version"], environment),
            "nbclient": importlib.metadata.version("nbclient"),
            "nbformat": nbformat.__version__,
            "ipykernel": ipykernel,
            "python3 kernelspec": f"{spec['dir']}: {shlex.join(spec['argv'])}"}


def check(source, result, label):
    """Stops the script unless `result` is a valid notebook holding `source`'s cells, all code cells run."""
    if not result.is_file():
        sys.exit(f"{label}: wrote no {result.name}")
    notebook = nbformat.read(str(result), as_version=nbformat.NO_CONVERT)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        sys.exit(f"{label}: {result.name} is not a valid notebook: {error}")
    original = nbformat.read(str(source), as_version=nbformat.NO_CONVERT)
    if [(c.cell_type, c.source) for c in notebook.cells] != [(c.cell_type, c.source) for c in original.cells]:
        sys.exit(f"{label}: {result.name} does not hold the cells of {source.name}")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    missing = [n for n, cell in enumerate(code) if not isinstance(cell.get("execution_count"), int)]
    if missing:
        sys.exit(f"{label}: {len(missing)} of {len(code)} code cells of {result.name} have no execution_count "
                 f"(the first: code cell {missing[0]})")
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    if errors:
        sys.exit(f"{label}: {result.name} holds {len(errors)} error outputs, the first: {errors[0].get('ename')}: "
                 f"{errors[0].get('evalue')}")
    return len(code)


def measure(command, result, folder, environment, label):
    """Runs `command` as a fresh process in `folder`, writing a new `result`: seconds."""
    result.unlink(missing_ok=True)
    os.sync()  # no write-back left over from the run before
    log_path = folder / "run.log"
    with open(log_path, "wb") as log_file:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=folder, env=environment, stdin=subprocess.DEVNULL, stdout=log_file,
                              stderr=log_file, timeout=DEADLINE)
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        sys.exit(f"{label}: exit status {done.returncode}: {shlex.join(command)}\n{tail}")
    return elapsed


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default=os.environ.get("TEJUN", str(REPO / "build/release/tejun")),
                        help="the tejun binary (default: $TEJUN, else build/release/tejun in the repository)")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds after one warm-up round (default 5)")
    parser.add_argument("--cells", type=int, default=100,
                        help="code cells (and as many Markdown cells) of the large notebook (default 100)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    if args.runs < 1 or args.cells < 2:
        parser.error("--runs must be at least 1 and --cells at least 2")
    tejun = pathlib.Path(args.tejun).resolve()
    if not tejun.is_file():
        sys.exit(f"no tejun binary at {tejun} (--tejun PATH or TEJUN=PATH)")
    if not pathlib.Path(PYTHON).is_file():
        sys.exit(f"no {PYTHON}: Debian's python3 with python3-nbconvert and python3-ipykernel is needed")
    nbconvert = [PYTHON, "-m", "nbconvert"]
    sizes = {f"n{args.cells}": args.cells, "n1": 1}

    with tempfile.TemporaryDirectory(prefix="tejun-run-bench-") as folder:
        folder = pathlib.Path(folder)
        environment = isolated_environment(folder / "home")
        runs = {}  # (tool, size): [(command, source, result)]
        for size, cells in sizes.items():
            for kernel in KERNELSPECS:
                generate(folder / f"{size}-{kernel}.ipynb", kernel, cells)
            for tool, (_, kernel) in TOOLS.items():
                source = f"{size}-{kernel}.ipynb"
                result = f"out-{tool}-{size}"
                if tool == "nbconvert":
                    command = [*nbconvert, "--to", "notebook", "--execute", source, "--output", result]
                else:
                    command = [str(tejun), "run", source, "-o", result + ".ipynb", "--progress", "none"]
                runs[tool, size] = (command, folder / source, folder / (result + ".ipynb"))
        found = versions(str(tejun), nbconvert, environment)

        times = {key: [] for key in runs}
        code_cells = {}
        for round_number in range(args.runs + 1):
            name = "warm-up round" if round_number == 0 else f"round {round_number}/{args.runs}"
            shown = []
            for key, (command, source, result) in runs.items():
                label = f"{TOOLS[key[0]][0]}, {key[1]}"
                elapsed = measure(command, result, folder, environment, label)
                code_cells[key] = check(source, result, label)
                if round_number:
                    times[key].append(elapsed)
                shown.append(f"{key[0]} {key[1]} {elapsed * 1000:.0f}")
            log(f"{name}: {', '.join(shown)} ms")

    summary = {}
    for (tool, size), samples in times.items():
        summary.setdefault(tool, {})[size] = {"median": statistics.median(samples), "min": min(samples),
                                              "runs": samples, "code_cells_run": code_cells[tool, size]}
    large = f"n{args.cells}"
    for tool in TOOLS:
        per_cell = (summary[tool][large]["median"] - summary[tool]["n1"]["median"]) / (args.cells - 1)
        summary[tool]["fixed"] = summary[tool]["n1"]["median"]
        summary[tool]["per_cell"] = per_cell
    ratios, bars = {}, []
    for tool, bar in BARS:
        for size in sizes:
            ratio = summary["nbconvert"][size]["median"] / summary[tool][size]["median"]
            ratio_min = summary["nbconvert"][size]["min"] / summary[tool][size]["min"]
            ratios[f"{tool} {size}"] = {"median": ratio, "min": ratio_min}
            bars.append({"bar": f"{size}: {TOOLS[tool][0]} >= {bar}x faster than nbconvert + ipykernel",
                         "ratio": ratio, "pass": ratio >= bar})
    descriptions = {large: f"{args.cells} code + {args.cells} Markdown cells", "n1": "1 code + 1 Markdown cell"}
    commands = {f"{tool} {size}": shlex.join(runs[tool, size][0]) for tool, size in runs}

    if args.json:
        json.dump({"versions": found, "commands": commands, "notebooks": descriptions, "rounds": args.runs,
                   "results": summary, "ratios": ratios, "bars": bars}, sys.stdout, indent=1)
        print()
        return

    for name, version in found.items():
        print(f"{name}: {version}")
    print("commands (run in the temporary folder, one fresh process each):")
    for key, (command, _, _) in runs.items():
        print(f"  {shlex.join(command)}")
    print(f"{args.runs} round{'s' if args.runs > 1 else ''} after a warm-up round; each round: "
          f"{large} A B C, then n1 A B C")
    print()
    header = ("notebook", "tool", "median", "min", "runs (ms)")
    rows = []
    for size in sizes:
        for n, tool in enumerate(TOOLS):
            result = summary[tool][size]
            rows.append((f"{size}: {descriptions[size]}" if n == 0 else "", TOOLS[tool][0], ms(result["median"]),
                         ms(result["min"]), ", ".join(f"{t * 1000:.0f}" for t in result["runs"])))
    for n, tool in enumerate(TOOLS):
        rows.append(("fixed cost (n1 median)" if n == 0 else "", TOOLS[tool][0], ms(summary[tool]["fixed"]), "", ""))
    for n, tool in enumerate(TOOLS):
        rows.append((f"per extra cell ((n{args.cells} - n1) / {args.cells - 1})" if n == 0 else "", TOOLS[tool][0],
                     ms(summary[tool]["per_cell"]), "", ""))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(5)]
    for r in (header, *rows):
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}".rstrip())
    print()
    print("nbconvert + ipykernel / tejun:")
    for tool, _ in BARS:
        for size in sizes:
            ratio = ratios[f"{tool} {size}"]
            print(f"  {TOOLS[tool][0]:<24}  {size:>4}  median {ratio['median']:5.1f}x   min {ratio['min']:5.1f}x")
    print()
    for bar in bars:
        print(f"{'PASS' if bar['pass'] else 'FAIL'}  {bar['bar']} ({bar['ratio']:.1f}x)")


if __name__ == "__main__":
    main()
