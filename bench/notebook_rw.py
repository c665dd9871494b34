#!/usr/bin/python3
"""Read + write of one large notebook: tejun against Jupyter's nbformat, side by side.

Generates a notebook of 2,000 code cells (and 2,000 prose cells) with ~100 MB of outputs
(stream text, HTML tables, base64 PNG), written by nbformat itself. Then, each as a fresh
process writing a new file, several times (--order grouped: each tool's runs back to back
after a warm-up run; --order interleaved: alternating):
  tejun:    tejun convert big.ipynb out.ipynb       (read, write, fsync, rename, fsync dir)
  nbformat: nbformat.write(nbformat.read(big.ipynb), out.ipynb)   (read, validate, write)
and reports the median wall time, the peak RSS of each, and the ratios. Both outputs are
checked to be byte-identical, so both did the same work.

Usage: bench/notebook_rw.py [--tejun build/release/tejun] [--runs 5] [--cells 2000] [--order grouped]
"""

import argparse
import base64
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbformat import v4


def generate(path, cells, seed=7):
    rng = random.Random(seed)
    notebook = v4.new_notebook(metadata={
        "kernelspec": {"name": "tejun", "display_name": "Runbook (tejun)", "language": "bash"}})
    png = base64.b64encode(rng.randbytes(11_000)).decode()  # ~15 KB of base64
    for i in range(cells):
        notebook.cells.append(v4.new_markdown_cell(f"## Step {i}\n\nCheck the *service* before going on."))
        cell = v4.new_code_cell(f"kubectl logs deploy/api-{i} --since=1h | tail -n 300", execution_count=i + 1)
        log = "".join(
            f"2026-11-27T03:{n % 60:02d}:{rng.randrange(60):02d}Z level=info pod=api-{i}-{rng.randrange(10**6):06d} "
            f"msg=\"request served\" status={rng.choice((200, 200, 200, 404, 500))} ms={rng.random() * 90:.3f}\n"
            for n in range(300))
        rows = "".join(f"<tr><td>{n}</td><td>replica-{n}</td><td>{rng.random():.6f}</td></tr>\n" for n in range(120))
        cell.outputs = [
            v4.new_output("stream", name="stdout", text=log),
            v4.new_output("display_data", data={"text/html": f"<table>\n{rows}</table>", "image/png": png,
                                                 "text/plain": "<table of replicas>"}),
        ]
        notebook.cells.append(cell)
    nbformat.write(notebook, str(path))


def measure(command, output):
    """Runs `command` as a fresh process writing a new `output`: (seconds, peak RSS in MiB)."""
    output.unlink(missing_ok=True)  # both write a new file: no old one to truncate or replace
    os.sync()  # no write-back left over from the run before (nbformat does not fsync)
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime


NBFORMAT_RW = ("import sys, nbformat\n"
               "nbformat.write(nbformat.read(sys.argv[1], as_version=nbformat.NO_CONVERT), sys.argv[2])\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tejun", default="build/release/tejun")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--order", choices=("grouped", "interleaved"), default="grouped")
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(pathlib.Path(args.generate), args.cells)
        return

    with tempfile.TemporaryDirectory(prefix="tejun-bench-") as folder:
        folder = pathlib.Path(folder)
        source = folder / "big.ipynb"
        # In a child process: a parent that had built the notebook would lend its memory to
        # every process it forks, and ru_maxrss would count it.
        subprocess.run(["/usr/bin/python3", __file__, "--generate", str(source), "--cells", str(args.cells)],
                       check=True)
        size_mib = source.stat().st_size / 2**20
        print(f"notebook: {args.cells * 2} cells, {size_mib:.1f} MiB, written by nbformat {nbformat.__version__}")

        outputs = {"tejun": folder / "tejun.ipynb", "nbformat": folder / "nbformat.ipynb"}
        commands = {
            "tejun": [args.tejun, "convert", str(source), str(outputs["tejun"])],
            "nbformat": ["/usr/bin/python3", "-c", NBFORMAT_RW, str(source), str(outputs["nbformat"])],
        }
        results = {name: [] for name in commands}
        if args.order == "interleaved":
            # Each run follows a run of the other tool: on this VM, memory the other process
            # just freed is slow to touch again (see docs/benchmarks.md).
            for _ in range(args.runs):
                for name, command in commands.items():
                    results[name].append(measure(command, outputs[name]))
        else:
            # Each tool's runs back to back, after one warm-up run that is shown, not counted.
            for name, command in commands.items():
                warm_up = measure(command, outputs[name])
                print(f"{name:9} warm-up run {warm_up[0] * 1000:8.1f} ms (user {warm_up[2] * 1000:.0f}, "
                      f"sys {warm_up[3] * 1000:.0f})")
                for _ in range(args.runs):
                    results[name].append(measure(command, outputs[name]))
        if (folder / "tejun.ipynb").read_bytes() != (folder / "nbformat.ipynb").read_bytes():
            sys.exit("outputs differ: tejun and nbformat did not write the same file")

        summary = {}
        for name, runs in results.items():
            seconds = statistics.median(run[0] for run in runs)
            peak = max(run[1] for run in runs)
            summary[name] = (seconds, peak)
            user = statistics.median(run[2] for run in runs)
            system = statistics.median(run[3] for run in runs)
            print(f"{name:9} read+write median {seconds * 1000:8.1f} ms (user {user * 1000:.0f}, sys {system * 1000:.0f})"
                  f"   peak RSS {peak:7.1f} MiB ({peak / size_mib:.2f}x file)"
                  f"   runs: {', '.join(f'{r[0] * 1000:.0f}' for r in runs)} ms")
        speedup = summary["nbformat"][0] / summary["tejun"][0]
        memory = summary["nbformat"][1] / summary["tejun"][1]
        print(f"ratio: tejun is {speedup:.1f}x faster and uses {memory:.1f}x less memory than nbformat")


if __name__ == "__main__":
    main()
