"""What the benchmarks share: an environment whose HOME, IPython and Jupyter folders are in a
throwaway folder, so that no user configuration or installed kernelspec of this machine
changes what is measured; a process's /proc status."""

import os
import pathlib


def isolated_environment(home):
    """os.environ with HOME, IPYTHONDIR, the Jupyter and XDG folders under `home` (created),
    and the variables that would add configuration (JUPYTER_PATH, ...) removed."""
    environment = dict(os.environ)
    for name, sub in (("HOME", ""), ("IPYTHONDIR", "ipython"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                      ("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
                      ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"),
                      ("XDG_CACHE_HOME", "cache")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        environment[name] = str(home / sub)
    for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "PYTHONSTARTUP"):
        environment.pop(name, None)
    return environment


def proc_status(pid):
    """The fields of /proc/PID/status as a dict of strings, or None when the process is gone."""
    fields = {}
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields


def kib(value):
    """A /proc/PID/status size ("1234 kB") in KiB; 0 when missing."""
    return int(value.split()[0]) if value else 0
