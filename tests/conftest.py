"""Fixtures: every database test runs on SQLite and on PostgreSQL, on the real migrations,
inside a transaction that is rolled back after the test."""

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import api.cli.main
import api.cli.support
from api.app import create_app
from catalog.core import audit_log, migrate
from catalog.core.config import Settings
from catalog.core.db import make_engine, scratch_postgres
from pii import ScannerConfig
from tests.support.builders import Actors
from tests.support.live import Live, live_world

POSTGRES_URL = os.environ.get("LABELTRAIL_TEST_POSTGRES_URL")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Seal often, so tests see seals without writing hundreds of entries.
TEST_SEALER = audit_log.Sealer(key=b"test-seal-key-not-secret", every=5)
# Pattern recognizers only: masks emails, phone and card numbers in milliseconds, without spaCy.
TEST_MASKING = ScannerConfig(mode="pattern")
_SKIP_PG = "PostgreSQL not configured: set LABELTRAIL_TEST_POSTGRES_URL (make test does when one answers)"


def pytest_collection_modifyitems(items) -> None:
    """Slow modules first. Under xdist each module on each backend is one unit of work, handed out
    in collection order (``--no-loadscope-reorder``): a long unit begun last would hold up the end
    of the run while the other worker idles."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Like ``--dist loadscope``, with a module's tests on SQLite and on PostgreSQL as two units: each
    unit stays on one worker (a world its module builds once is built once per backend), and a slow
    module's two halves can run side by side."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleAndBackend(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            ids = nodeid.rpartition("[")[2].rstrip("]").split("-") if nodeid.endswith("]") else []
            return next((f"{module}[{backend}]" for backend in ("sqlite", "postgresql") if backend in ids), module)

    return ModuleAndBackend(config, log)


@pytest.hookimpl(trylast=True)  # last, below the coverage report, where it is seen
def pytest_terminal_summary(terminalreporter) -> None:
    if not POSTGRES_URL:
        terminalreporter.write_sep("!", "PostgreSQL was NOT tested: " + _SKIP_PG, red=True, bold=True)


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Callable[[str], Engine]]:
    """Each backend's database, migrated when a test first asks for it and kept until the session ends.

    Kept here rather than in ``engine``: pytest holds one parameter of a fixture at a time, and under
    xdist a worker switches backend often. Each xdist worker is a session
    of its own, so each gets its own SQLite file and its own scratch PostgreSQL database."""
    with ExitStack() as stack:
        made: dict[str, Engine] = {}

        def database(backend: str) -> Engine:
            if backend not in made:
                if backend == "sqlite":
                    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'labeltrail.db'}"
                else:
                    url = stack.enter_context(scratch_postgres(POSTGRES_URL, "labeltrail_test"))
                migrate.upgrade(url)
                made[backend] = make_engine(url)
                stack.callback(made[backend].dispose)
            return made[backend]

        yield database


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request, databases) -> Engine:
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip(_SKIP_PG)
    return databases(request.param)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """A database of its own with no schema at all, for tests that migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(_SKIP_PG)
    with scratch_postgres(POSTGRES_URL, "labeltrail_migration") as url:
        yield url


@contextmanager
def _rolled_back(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are savepoints inside one transaction, rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False,
            info=audit_log.session_info(audit_log.AuditContext(client="test"), TEST_SEALER),
        )
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are savepoints inside one transaction that the test rolls back.

    A module whose tests share one world that it builds once (with ``module_actors``) overrides this,
    so each test runs in a savepoint over that world, rolled back after it::

        @pytest.fixture
        def sessions(module_sessions, world):
            with undone(module_sessions):
                yield module_sessions
    """
    with _rolled_back(engine) as made:
        yield made


@pytest.fixture
def session(sessions) -> Iterator[Session]:
    with sessions() as session:
        yield session


def suite_settings() -> Settings:
    return Settings(
        database_url="sqlite://", log_json=True, log_level="WARNING",
        audit_seal_key=TEST_SEALER.key.decode(), audit_seal_every=TEST_SEALER.every, pii_mode="pattern",
    )


@pytest.fixture
def settings() -> Settings:
    return suite_settings()


@pytest.fixture
def client(sessions, settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, sessions=sessions)) as made:  # one event loop for all its requests
        yield made


@pytest.fixture
def cli(monkeypatch, sessions, settings):
    """Runs ``labeltrail`` in the test's transaction; ``settings=`` swaps the configuration for one call."""
    monkeypatch.setattr(api.cli.support, "sessions", lambda: sessions)

    def run(*args, settings: Settings = settings):
        monkeypatch.setattr(api.cli.support, "current_settings", lambda: settings)
        return CliRunner().invoke(api.cli.main.app, [str(arg) for arg in args])

    return run


@pytest.fixture
def actors(sessions, client) -> Actors:
    return Actors(sessions, client, TEST_MASKING)


@pytest.fixture(scope="module")
def module_sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Like ``sessions``, for a world a module builds once: one transaction, rolled back after the module."""
    with _rolled_back(engine) as made:
        yield made


@pytest.fixture(scope="module")
def module_settings() -> Settings:
    return suite_settings()


@pytest.fixture(scope="module")
def module_actors(module_sessions, module_settings) -> Iterator[Actors]:
    """Actors for building a module's world, with a client of their own in the module's transaction."""
    with TestClient(create_app(module_settings, sessions=module_sessions)) as client:  # one event loop for all
        yield Actors(module_sessions, client, TEST_MASKING)


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request, tmp_path) -> Iterator[Live]:
    """A served app on a database of the test's own (a SQLite file, or a scratch PostgreSQL
    database), for tests that need real commits, real connections and other processes beside it."""
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip(_SKIP_PG)
    with live_world(request.param, tmp_path, POSTGRES_URL, TEST_SEALER, TEST_MASKING) as world:
        yield world


def shared_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public test data not present: {path} (it lives in ../shared/data beside the clone)")
    return path
