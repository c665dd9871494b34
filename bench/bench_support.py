"""What the benchmarks share: an environment whose HOME, IPython and Jupyter folders are in a
throwaway folder, so that no user configuration or installed kernelspec of this machine
changes what is measured."""

import os


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
