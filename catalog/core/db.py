"""Engines and sessions. SQLite is the embedded default (WAL, foreign keys on); PostgreSQL via psycopg 3.

Services only flush; whoever opens a session with :func:`transaction` owns the commit.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from catalog.core.hashing import chain_sha256

CHAIN_FUNCTION = "labeltrail_chain"  # chain_sha256, as SQLite sees it
# The execution option that marks a connection's transactions as writing (see :func:`will_write`).
WRITER = "labeltrail_writer"

UNAVAILABLE = "the database is unavailable; try again later"
OUT_OF_SPACE = "the database is out of space"
_SQLITE_FULL = 13


def normalise_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


_BUSY_TIMEOUT_MS = 30_000
_CHECKPOINT_WAIT_MS = 1_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN itself instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA secure_delete=ON")  # erased text is overwritten, not left in free pages
    cursor.close()
    dbapi_connection.create_function(CHAIN_FUNCTION, 3, chain_sha256, deterministic=True)


def checkpoint(sessions: sessionmaker[Session]) -> bool:
    """On SQLite, copy the write-ahead log into the database and empty it, so no earlier page
    version (an erased text, say) stays in the ``-wal`` file. Nothing to do on PostgreSQL.

    It runs outside any transaction, as SQLite requires, on a connection of its own, and waits
    at most a second for other connections; returns whether the log was emptied.
    """
    engine = sessions.kw["bind"].engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return True
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_CHECKPOINT_WAIT_MS}")
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    finally:
        connection.close()
    return busy == 0


def _sqlite_begin(connection) -> None:
    """A writer's transaction takes SQLite's write lock as it begins (``BEGIN IMMEDIATE``), so
    it waits its turn under the busy timeout. A deferred transaction that reads and then writes
    cannot wait: once another writer has committed since its first read, the upgrade fails at
    once with "database is locked" (SQLITE_BUSY_SNAPSHOT). Readers keep the deferred ``BEGIN``
    and never take the lock."""
    immediate = connection.get_execution_options().get(WRITER, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_driver():
    """pysqlite3's bundled SQLite where its wheel is installed (Linux x86-64), else Python's own
    ``sqlite3``: the same DB-API over a newer SQLite, which runs the catalog's scans about a
    quarter faster than the 3.40 most systems ship."""
    try:
        from pysqlite3 import dbapi2
    except ImportError:
        return None
    return dbapi2


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        if driver := _sqlite_driver():
            kwargs.setdefault("module", driver)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def unavailable(error: BaseException) -> str | None:
    """What to tell a caller when ``error`` comes from the database's state, not from the work:
    the server is down or unreachable, a connection was lost, or it is out of space. None for
    anything else (a bug, a constraint, a lock not granted in time), which stays an internal error.

    The error's causes count too: SQLite rolls the whole transaction back when it runs out of
    space, so what reaches the caller is often the savepoint release that failed after it.
    The work rolled back with its transaction, so nothing of it was written and it can be retried.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if (reason := _unavailable(error)) is not None:
            return reason
        error = error.__cause__ or error.__context__
    return None


def _unavailable(error: BaseException) -> str | None:
    if not isinstance(error, DBAPIError):
        return None
    if error.connection_invalidated:  # SQLAlchemy saw a disconnect; the pool drops the connection
        return UNAVAILABLE
    if not isinstance(error, OperationalError):
        return None
    cause = error.orig
    if getattr(cause, "sqlite_errorcode", None) == _SQLITE_FULL or "database or disk is full" in str(cause):
        return OUT_OF_SPACE
    if type(cause).__module__.startswith("psycopg"):
        state = getattr(cause, "sqlstate", None)
        if state == "53100":  # disk_full
            return OUT_OF_SPACE
        # No state: the server never answered (refused, unreachable). 08: connection exceptions;
        # 57P01-57P03: shut down, crashed, starting up; 53300: too many connections.
        if state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03", "53300"):
            return UNAVAILABLE
    return None


def make_sessionmaker(bind, info: dict | None = None) -> sessionmaker[Session]:
    """Sessions for ``bind``; ``info`` (the audit context and sealer) is copied into each one."""
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False, info=info)


def will_write(session: Session) -> None:
    """Mark ``session`` as a writer before its first statement: on SQLite each of its
    transactions then begins with ``BEGIN IMMEDIATE``; PostgreSQL ignores the mark.

    The mark rides on the session's bind, so it holds for every transaction the session opens
    (an import's batches each commit and begin again). Too late once the session has begun:
    the transaction that is open stays what it began as.
    """
    if session.bind is not None and not session.in_transaction():
        session.bind = session.bind.execution_options(**{WRITER: True})


def one_snapshot(session: Session) -> None:
    """Let ``session``'s reads, before its first statement, all see one snapshot. SQLite's
    transactions do already; PostgreSQL's default (read committed) takes one per statement, and a
    check that reads the audit log and then its head would see entries appended in between."""
    if isinstance(session.bind, Engine) and session.bind.dialect.name == "postgresql" and not session.in_transaction():
        session.bind = session.bind.execution_options(isolation_level="REPEATABLE READ")


def is_writer(session: Session) -> bool:
    return session.bind is not None and session.bind.get_execution_options().get(WRITER, False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises.

    ``write``: the work writes (see :func:`will_write`). Work that only reads leaves it off and
    never takes SQLite's write lock.
    """
    session = factory()
    if write:
        will_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def scratch_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A throwaway PostgreSQL database on the server at ``server_url`` (tests, benchmarks); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(server_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
