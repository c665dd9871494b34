"""What the benchmarks share: an environment whose HOME, IPython and Jupyter folders are in a
throwaway folder, so that no user configuration or installed kernelspec of this machine
changes what is measured; a process's /proc status."""

import os
import pathlib
import time


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


def timed_cell(client, code, timeout, fail):
    """Runs CODE on a jupyter_client BlockingKernelClient. Returns (reply content, seconds from
    execute_request sent to execute_reply received, [(seconds, msg_type, content)] of the
    request's iopub messages up to idle). Times are taken when zmq reports a message ready, before
    jupyter_client decodes it; FAIL(message) is called when TIMEOUT passes."""
    import zmq  # only the kernel benchmarks need it

    shell, iopub = client.shell_channel.socket, client.iopub_channel.socket
    poller = zmq.Poller()
    poller.register(shell, zmq.POLLIN)
    poller.register(iopub, zmq.POLLIN)
    start = time.perf_counter()
    msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=True)
    reply, reply_s, idle, messages = None, None, False, []
    while reply is None or not idle:
        remaining = start + timeout - time.perf_counter()
        if remaining <= 0:
            fail(f"no {'execute_reply' if reply is None else 'idle status'} within {timeout} s for {code!r}")
        ready = dict(poller.poll(remaining * 1000))
        now = time.perf_counter() - start  # the message was there by now; decoding it comes after
        # at most one message per socket per poll, so that each one's time is that of the poll that saw it
        if shell in ready:
            msg = client.get_shell_msg(timeout=0)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_reply":
                reply, reply_s = msg["content"], now
        if iopub in ready:
            msg = client.get_iopub_msg(timeout=0)
            if msg["parent_header"].get("msg_id") == msg_id:
                messages.append((now, msg["msg_type"], msg["content"]))
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
    return reply, reply_s, messages


def cpu_model():
    """The processor's model name from /proc/cpuinfo, or "?"."""
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return "?"
