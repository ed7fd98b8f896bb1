"""Throwaway PostgreSQL and Redis servers on free ports, which fault tests may stop and freeze.

The shared servers (5432, 6379) are never touched: these are started from the machine's
binaries into a temporary folder and removed afterwards.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTGRES_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """`pid`'s child processes, and theirs (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # The command name is in parentheses and may hold spaces: the ppid follows the last ')'.
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for parent in frontier for child in children.get(parent, [])]
        found += frontier
    return found


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (trust authentication, no fsync), on a free port."""

    def __init__(self) -> None:
        bin_dir = next(d for d in POSTGRES_BIN_DIRS if (d / "pg_ctl").exists())
        self._pg_ctl = str(bin_dir / "pg_ctl")
        self._initdb = str(bin_dir / "initdb")
        # PostgreSQL refuses to run as root: run it as the machine's postgres user then.
        self._user = "postgres" if os.geteuid() == 0 else None
        # Directly under /tmp: pytest's own folders are private to root.
        self.folder = Path(tempfile.mkdtemp(prefix="mc-fault-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if self._user:
            shutil.chown(self.folder, self._user)
        self._run(self._initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(command, user=self._user, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c full_page_writes=off -c max_connections=100"
        )
        self._run(
            self._pg_ctl,
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.folder / "log"),
            "start",
        )
        _wait_for_port(self.port, 30)

    def stop(self) -> None:
        self.thaw()
        self._run(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _processes(self) -> list[int]:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        postmaster = int(pid_file.read_text().split()[0])
        return [postmaster, *_descendants(postmaster)]

    def freeze(self) -> None:
        """Stop every process of the cluster (SIGSTOP): connections hang, nothing is refused."""
        for pid in self._processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL every process of the cluster (frozen or not), as a crash or an OOM kill would."""
        processes = self._processes()
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in processes):
            if time.monotonic() > deadline:
                raise TimeoutError("PostgreSQL survived SIGKILL")
            time.sleep(0.05)
        # A crashed postmaster leaves its lock files behind, and an unreaped (zombie) postmaster
        # would still look alive to the next start.
        for lock in (self.data / "postmaster.pid", self.folder / f".s.PGSQL.{self.port}.lock"):
            lock.unlink(missing_ok=True)

    def ensure_running(self) -> None:
        self.thaw()
        if not self._processes():
            self.start()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class ThrowawayRedis:
    """A Redis of its own, without persistence, on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._process = subprocess.Popen(
            ["redis-server", *options, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 10)

    def freeze(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None:
            self.thaw()
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def ensure_running(self) -> None:
        self.thaw()
        if self._process is None or self._process.poll() is not None:
            self.start()
