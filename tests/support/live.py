"""A real server on a database of the test's own, for tests that need more than one connection:
concurrent clients, and CLI processes beside the server."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from httpx2 import Client
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from catalog.core import audit_log, migrate
from catalog.core.config import Settings
from catalog.core.db import make_engine, make_sessionmaker, scratch_postgres
from tests.support.builders import Actors

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0  # a loaded CI machine can be slow to start a server; nothing asserts on time
REQUEST_TIMEOUT = 120.0  # writers wait for each other under SQLite's busy timeout (30 s)


@contextmanager
def live_database(backend: str, directory: Path, postgres_url: str | None) -> Iterator[str]:
    """A migrated database for this test alone: a SQLite file in ``directory`` (one per test, so
    xdist workers never share one), or a scratch PostgreSQL database. Yields its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'live.db'}"
        migrate.upgrade(url)
        yield url
        return
    with scratch_postgres(postgres_url, "labeltrail_live") as url:
        migrate.upgrade(url)
        yield url


def live_settings(url: str, seal_key: str, seal_every: int) -> Settings:
    return Settings(
        database_url=url, log_json=True, log_level="WARNING", audit_seal_key=seal_key,
        audit_seal_every=seal_every, pii_mode="pattern",
    )  # fmt: skip


def live_sessions(settings: Settings) -> sessionmaker[Session]:
    """Sessions on the live database, for building data through the services (as the CLI does)."""
    context = audit_log.AuditContext(client="test")
    return make_sessionmaker(make_engine(settings.database_url), info=audit_log.session_info(context, settings.sealer()))


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """uvicorn serving the app in a thread, on a free port; yields the base URL."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        listening.close()


@dataclass
class Live:
    """A live server, its settings, sessions on its database and actors made through it."""

    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    actors: Actors


@contextmanager
def live_world(backend: str, directory: Path, postgres_url: str | None, sealer, masking) -> Iterator[Live]:
    """A database of the test's own, a server on it and a client for making actors."""
    with live_database(backend, directory, postgres_url) as url:
        settings = live_settings(url, sealer.key.decode(), sealer.every)
        sessions = live_sessions(settings)
        try:
            with live_server(settings) as base_url, http_client(base_url) as client:
                yield Live(base_url, settings, sessions, Actors(sessions, client, masking))
        finally:
            sessions.kw["bind"].dispose()


def http_client(base_url: str, key: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT)


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """``labeltrail ARGS`` in a process of its own, on the live database."""
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "LABELTRAIL_DATABASE_URL": settings.database_url,
        "LABELTRAIL_PII_MODE": "pattern", "LABELTRAIL_LOG_LEVEL": "WARNING",
        "LABELTRAIL_AUDIT_SEAL_KEY": settings.audit_seal_key.get_secret_value() if settings.audit_seal_key else "", "LABELTRAIL_AUDIT_SEAL_EVERY": str(settings.audit_seal_every),
    }  # fmt: skip
    command = [sys.executable, "-c", "from api.cli.main import app; app()", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
