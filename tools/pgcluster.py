"""A throwaway PostgreSQL cluster for the tests, benches, drills and the network demo.

Debian's server binaries (`postgresql` package) run in a fresh temporary directory on a Unix
socket only (no TCP port to collide with anything). PostgreSQL refuses to run as root, and
CI runs as root: then the directory is given to the `postgres` system user and every server
program runs under `runuser -u postgres`. Clients connect as the cluster's superuser
`branchq` with trust authentication on that private socket (the directory is 0700).

    with Cluster() as pg:            # initdb + start; stop and remove on exit
        pg.create_database("central")
        psycopg.connect(pg.dsn("central"))
        pg.kill()                    # kill -9 the postmaster (a drill)
        pg.start()                   # recovers from its WAL like a real restart

A cluster whose owner died without cleaning up (`kill -9` of the network demo, a crashed test
run) would keep its postmaster and its directory for ever: each new cluster first stops and
removes those whose owning process is gone (`sweep_orphans`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

SUPERUSER = "branchq"
START_TIMEOUT_S = 60
PREFIX = "branchq-pg-"
OWNER_FILE = "owner"  # "<pid> <start time in clock ticks>" of the process that made it


class ClusterError(RuntimeError):
    """PostgreSQL could not be found, initialised, started or stopped."""


def server_bindir() -> Path:
    """Where Debian keeps the newest installed PostgreSQL's server programs."""
    override = os.environ.get("BRANCHQ_PG_BINDIR")
    if override:
        return Path(override)
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise ClusterError(
            "PostgreSQL server programs not found under /usr/lib/postgresql "
            "(install Debian's `postgresql` package: make setup does it as root)"
        )
    return versions[-1]


def _process_identity(pid: int) -> str | None:
    """The "pid start-time" of a live process (a pid alone may be reused), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counts from the field after the command, which may hold spaces.
    fields = stat.rsplit(")", 1)[-1].split()
    return f"{pid} {fields[19]}" if len(fields) > 19 else None


def _orphaned(root: Path) -> bool:
    try:
        owner = (root / OWNER_FILE).read_text().strip()
    except OSError:
        return False  # not ours to judge: made by an older version, or still being made
    if not owner:
        return False
    pid = int(owner.split()[0]) if owner.split()[0].isdigit() else 0
    return pid <= 0 or _process_identity(pid) != owner


def sweep_orphans() -> list[Path]:
    """Stop and remove clusters whose owning process has gone; the roots removed."""
    removed = []
    for root in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        if not root.is_dir() or not _orphaned(root):
            continue
        orphan = Cluster.__new__(Cluster)
        orphan.root, orphan.data = root, root / "data"
        orphan.bindir, orphan.log = server_bindir(), root / "postgres.log"
        orphan._as_postgres = os.geteuid() == 0
        try:
            if orphan.postmaster_pid() is not None:
                orphan._run("pg_ctl", "-D", str(orphan.data), "-m", "immediate", "-w", "stop")
        except (ClusterError, subprocess.TimeoutExpired, OSError):
            orphan.kill()
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


class Cluster:
    """One private PostgreSQL cluster in its own temporary directory."""

    def __init__(self, *, durable: bool = False, port: int = 5432) -> None:
        # Tests and drills kill processes, never the machine: the OS keeps written pages, so
        # fsync off loses nothing there. Benches pass durable=True to measure real commits.
        self.durable = durable
        self.port = port
        self.bindir = server_bindir()
        sweep_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.root / OWNER_FILE).write_text(_process_identity(os.getpid()) or "")
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        self._initialised = False

    # ------------------------------------------------------------------ process control

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ClusterError(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{tail}"
            )

    def init(self) -> None:
        self.socket_dir.mkdir(mode=0o700)
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
            os.chmod(self.root, 0o700)
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self._initialised = True

    def start(self) -> None:
        """Start the server (again, after `kill`: it recovers from its WAL)."""
        if not self._initialised:
            self.init()
        options = [
            "-c listen_addresses=''",
            f"-k {self.socket_dir}",
            f"-p {self.port}",
            "-c max_connections=200",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(START_TIMEOUT_S), "-o", " ".join(options), "start",
        )  # fmt: skip

    def stop(self) -> None:
        if self.postmaster_pid() is not None:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def postmaster_pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def kill(self) -> None:
        """kill -9 the postmaster and every backend, as a crash would (a drill)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        # The backends are the postmaster's children: take the whole group down together,
        # or an orphaned backend keeps the shared memory and the restart refuses.
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split()
        for p in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)

    def remove(self) -> None:
        try:
            self.stop()
        except (ClusterError, subprocess.TimeoutExpired):
            self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ connections

    def dsn(self, dbname: str = "postgres") -> str:
        return (
            f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname} "
            "connect_timeout=10"
        )

    def create_database(self, name: str) -> str:
        """A new empty database; its connection string."""
        import psycopg  # the server tier's driver; imported where used
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()
