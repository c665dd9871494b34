"""A real, throwaway PostgreSQL 15 server for tests and benchmarks (Debian's postgresql-15).

    with PostgresCluster() as cluster:
        cluster.psql("select version()")
        cluster.url()  # postgresql://tejun:p%40ss%3Aw%2Frd%251@127.0.0.1:PORT/tejun

The cluster lives in a temporary folder (data directory, Unix socket, logs) that stop() removes.
It listens on 127.0.0.1 only, on a port that was free, with scram-sha-256 password
authentication over TCP and trust on its Unix socket; the superuser `tejun` owns the database
`tejun`. PostgreSQL refuses to run as root: as root (CI), initdb and the server run as the
unprivileged user `nobody` (or $TEJUN_POSTGRES_USER), which gets the temporary folder.
fsync is off: the data is not meant to survive a crash.

$TEJUN_POSTGRES_BIN overrides the folder of initdb, pg_ctl and postgres.
"""

import atexit
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import tempfile
import urllib.parse

DEFAULT_BIN = "/usr/lib/postgresql/15/bin"
USER = "tejun"
DATABASE = "tejun"
# Characters that a URL must percent-encode in its user:password part: @ : / %.
PASSWORD = "p@ss:w/rd%1"
DEADLINE = 60  # seconds for initdb, start, stop and a psql call
LOG_TAIL = 30  # lines of a log quoted in an error


class PostgresClusterError(RuntimeError):
    """Setting up, starting or querying the test cluster failed; the message says what and why."""


def _tail(text, lines=LOG_TAIL):
    kept = text.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) if kept else "    (nothing)"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _find_psql(bin_dir):
    for candidate in (pathlib.Path(bin_dir) / "psql", pathlib.Path("/usr/bin/psql")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("psql")
    if found:
        return found
    raise PostgresClusterError(f"no psql client in {bin_dir} nor on PATH: install postgresql-client-15")


class PostgresCluster:
    """A PostgreSQL server of its own in a temporary folder; a context manager. Attributes: host,
    port, user, password, database, socket_dir (the Unix socket's folder), data_dir, log_file."""

    def __init__(self, password=PASSWORD, bin_dir=None, start=True):
        self.bin_dir = pathlib.Path(bin_dir or os.environ.get("TEJUN_POSTGRES_BIN") or DEFAULT_BIN)
        for program in ("initdb", "pg_ctl", "postgres"):
            if not (self.bin_dir / program).is_file():
                raise PostgresClusterError(
                    f"PostgreSQL's {program} is not in {self.bin_dir}: install postgresql-15 "
                    "(scripts/install-deps) or set TEJUN_POSTGRES_BIN")
        self.psql_program = _find_psql(self.bin_dir)
        self.host = "127.0.0.1"
        self.port = None
        self.user = USER
        self.password = password
        self.database = DATABASE
        self.root = None
        self.socket_dir = None
        self.data_dir = None
        self.log_file = None
        self._as_user = []  # the command prefix that runs a program as the server's owner
        self._owner = None
        self._running = False
        if start:
            self.start()

    # ---- lifecycle ----

    def start(self):
        if self._running:
            return self
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="tejun-postgres-")).resolve()
        atexit.register(self.stop)
        try:
            self._choose_owner()
            self.socket_dir = self.root
            self.data_dir = self.root / "data"
            self.log_file = self.root / "server.log"
            if len(str(self.socket_dir / ".s.PGSQL.65535")) > 100:
                raise PostgresClusterError(
                    f"the temporary folder {self.root} is too long a path for a Unix socket: set TMPDIR to a "
                    "shorter folder")
            self._initdb()
            self._start_server()
            self.psql(f"create database {self.database} owner {self.user}", database="postgres")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stops the server at once (pg_ctl -m immediate) and removes its folder; idempotent."""
        atexit.unregister(self.stop)
        started = self.data_dir is not None and (self.data_dir / "postmaster.pid").exists()
        self._running = False
        if started:
            subprocess.run(self._as_user + [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir),
                                            "-m", "immediate", "-w", "-t", str(DEADLINE), "stop"],
                           cwd=self.root, capture_output=True, text=True, timeout=DEADLINE + 10)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- what tests use ----

    def url(self, password=True, database=None):
        """postgresql://tejun:PASSWORD@127.0.0.1:PORT/tejun, the password percent-encoded."""
        credentials = urllib.parse.quote(self.user, safe="")
        if password:
            credentials += ":" + urllib.parse.quote(self.password, safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{database or self.database}"

    def env(self):
        """libpq's variables for this cluster (over TCP, with the password)."""
        return {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user,
                "PGPASSWORD": self.password, "PGDATABASE": self.database}

    def psql(self, sql, database=None, tuples_only=True, args=(), timeout=DEADLINE):
        """Runs SQL (any number of statements) with the psql client over TCP with the password,
        stopping at the first error; returns stdout (unaligned, tuples only unless told).
        Raises PostgresClusterError with psql's stderr when it fails."""
        if not self._running:
            raise PostgresClusterError("psql: the cluster is not running")
        command = [self.psql_program, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
                   "-U", self.user, "-d", database or self.database]
        if tuples_only:
            command += ["-A", "-t"]
        command += list(args)
        environment = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        environment["PGPASSWORD"] = self.password
        environment["PGCONNECT_TIMEOUT"] = "10"
        try:
            result = subprocess.run(command, input=sql, env=environment, capture_output=True, text=True,
                                    timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise PostgresClusterError(f"psql did not finish in {timeout} s: {sql!r}") from error
        if result.returncode != 0:
            raise PostgresClusterError(
                f"psql failed (exit {result.returncode}) on {sql!r}:\n{_tail(result.stderr)}")
        return result.stdout

    # ---- setting up ----

    def _choose_owner(self):
        """As root: run the server as an unprivileged user that owns the temporary folder."""
        if os.geteuid() != 0:
            return
        name = os.environ.get("TEJUN_POSTGRES_USER", "nobody")
        try:
            owner = pwd.getpwnam(name)
        except KeyError as error:
            raise PostgresClusterError(
                f"running as root, and PostgreSQL refuses root: it needs an unprivileged user, but there is "
                f"no user {name!r} (set TEJUN_POSTGRES_USER)") from error
        self._owner = owner
        if shutil.which("runuser"):
            self._as_user = ["runuser", "-u", name, "--"]
        elif shutil.which("setpriv"):
            self._as_user = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups",
                             "--"]
        else:
            raise PostgresClusterError("running as root, and neither runuser nor setpriv is there to run "
                                       f"PostgreSQL as {name!r}")
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        probe = subprocess.run(self._as_user + ["test", "-w", str(self.root)], capture_output=True, text=True,
                               timeout=DEADLINE)
        if probe.returncode != 0:
            raise PostgresClusterError(
                f"user {name!r} cannot write to {self.root} (a parent folder is closed to it?): set TMPDIR to a "
                f"folder every user can reach, such as /tmp. {probe.stderr.strip()}")

    def _give_to_owner(self, path):
        if self._owner is not None:
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)

    def _run_as_owner(self, what, command):
        """Runs a PostgreSQL program as the server's owner; raises with its output when it fails."""
        try:
            result = subprocess.run(self._as_user + command, cwd=self.root, capture_output=True, text=True,
                                    timeout=DEADLINE, env=self._server_environment())
        except subprocess.TimeoutExpired as error:
            raise PostgresClusterError(f"{what} did not finish in {DEADLINE} s: {' '.join(command)}") from error
        if result.returncode != 0:
            log = ""
            if self.log_file is not None and self.log_file.is_file():
                log = f"\n  server log ({self.log_file.name}):\n" + _tail(
                    self.log_file.read_text(encoding="utf-8", errors="replace"))
            raise PostgresClusterError(
                f"{what} failed (exit {result.returncode}): {' '.join(command)}\n"
                f"  output:\n{_tail(result.stdout + result.stderr)}{log}")
        return result

    @staticmethod
    def _server_environment():
        environment = {name: value for name, value in os.environ.items()
                       if not name.startswith("PG") and name not in ("LANG", "LANGUAGE") and not name.startswith("LC_")}
        environment["LC_ALL"] = "C"
        return environment

    def _initdb(self):
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        self._give_to_owner(pwfile)
        self._run_as_owner("initdb", [
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", self.user, f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
            "--no-instructions"])
        pwfile.unlink()

    def _start_server(self):
        log = open(self.log_file, "a", encoding="utf-8")
        log.close()
        self._give_to_owner(self.log_file)
        attempts = 3  # another process may take the free port between our probe and the server's bind
        for attempt in range(attempts):
            self.port = _free_port()
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.socket_dir}'",
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "shared_buffers": "16MB",
                "max_connections": "40",
                "password_encryption": "'scram-sha-256'",
                "log_min_messages": "warning",
                "logging_collector": "off",
            }
            with open(self.data_dir / "postgresql.auto.conf", "w", encoding="utf-8") as conf:
                conf.write("# written by tests/python/postgres_cluster.py\n")
                for name, value in settings.items():
                    conf.write(f"{name} = {value}\n")
            self._give_to_owner(self.data_dir / "postgresql.auto.conf")
            try:
                self._run_as_owner("pg_ctl start", [
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                    "-t", str(DEADLINE), "start"])
            except PostgresClusterError as error:
                in_use = "already in use" in str(error) or "could not bind" in str(error)
                if in_use and attempt + 1 < attempts:
                    continue
                raise
            self._running = True
            return


def main():
    """`python3 postgres_cluster.py`: starts a cluster, shows its version and URL, stops it."""
    with PostgresCluster() as cluster:
        print(cluster.psql("select version()").strip())
        print(cluster.url(password=False), "socket", cluster.socket_dir)


if __name__ == "__main__":
    main()
