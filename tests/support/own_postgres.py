"""A PostgreSQL cluster of the test's own (``initdb`` in a temporary folder), which the test may
stop and start under a running server; the shared one must never be restarted."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 300  # pg_ctl -w waits for the cluster; a loaded machine is slow to start one


def _binaries() -> Path | None:
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
    return Path(os.path.realpath(found)).parent if found else None


@dataclass
class Cluster:
    bindir: Path
    data: Path
    sockets: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(TIMEOUT), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT + 30)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.data.parent / "server.log"), "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")


@contextmanager
def own_postgres() -> Iterator[Cluster]:
    """A started cluster (trust authentication, user ``postgres``), removed afterwards. Skips
    when ``initdb`` is not installed, or when running as root with no ``postgres`` user to run it."""
    bindir = _binaries()
    if bindir is None:
        pytest.skip("initdb not found (on PATH or under /usr/lib/postgresql/*/bin): no cluster of the test's own")
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="labeltrail-pg-"))  # not under pytest's tmp_path: that is private to root
    try:
        data, sockets = root / "data", root / "sockets"
        sockets.mkdir()
        if owner is not None:
            for path in (root, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        initdb = [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
        subprocess.run(initdb, check=True, capture_output=True, timeout=TIMEOUT)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        cluster = Cluster(bindir, data, sockets, port, as_user)
        cluster.start()
        try:
            yield cluster
        finally:
            try:
                cluster.stop()
            except subprocess.CalledProcessError:
                pass  # already stopped
    finally:
        shutil.rmtree(root, ignore_errors=True)
