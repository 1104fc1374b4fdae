"""Delivering the outbox: each due row's events, emitted through openlineage-python's client.

The client is configured as openlineage-python configures it (``openlineage.yml``,
``OPENLINEAGE__TRANSPORT__*``, ``OPENLINEAGE_URL``). When none of that is set, the client would
print events to the console; instead nothing is delivered, the rows wait, and that is logged once.

A pass takes the due rows one at a time, oldest first. Taking a row moves its next attempt a lease
ahead in one statement, so two deliverers (``serve`` and a ``worker``) never send the same row,
and no transaction stays open while the transport talks to the network. A row whose events went
out is marked delivered. One whose events could not be built or sent (the transport raised: the
HTTP transport does on a refused connection and on any non-2xx answer, after its own retries)
stays undelivered: one more attempt, the error with credentials cut out, and a next attempt after
a backoff that doubles up to a cap. The pass stops there, as the receiver is probably down.
Nothing is ever deleted. A crash between sending and marking sends the row again after its
lease, under the same runId, so receivers can tell.
"""

import os
import re
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta

from openlineage.client import OpenLineageClient
from openlineage.client.transport.noop import NoopTransport
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.core.config import Settings
from catalog.core.db import transaction
from catalog.core.logging import get_logger
from catalog.core.models import OutboxRow, utcnow
from lineage.events_out import events_for

log = get_logger(__name__)

PASS_SIZE = 100
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=10)
ALL = sys.maxsize  # a pass that goes on until nothing is due


@dataclass(frozen=True)
class Delivery:
    """Where events go, under which namespace, and how long a failed row may wait at most."""

    client: OpenLineageClient
    namespace: str
    retry_cap: timedelta


def configured_delivery(settings: Settings) -> Delivery | None:
    """Delivery through the configured client, or None (logged) when no transport is configured."""
    client = OpenLineageClient()
    configured = (client.config.transport or {}).get("type") or os.environ.get("OPENLINEAGE_URL")
    if not configured or client.transport.kind == NoopTransport.kind:
        log.warning(
            "lineage_not_delivered",
            hint="configure an OpenLineage transport (openlineage.yml, OPENLINEAGE__TRANSPORT__*, OPENLINEAGE_URL); "
            "until then events wait in the outbox",
        )
        return None
    retry_cap = timedelta(seconds=settings.lineage_retry_max_seconds)
    return Delivery(client=client, namespace=settings.lineage_namespace, retry_cap=retry_cap)


def deliver_due(sessions: sessionmaker[Session], delivery: Delivery, *, limit: int = PASS_SIZE) -> int:
    """One pass: due rows, oldest first, until none is left, ``limit`` went out or one failed.
    Returns how many went out."""
    for delivered in range(limit):
        row = _claim(sessions)
        if row is None:
            return delivered
        try:
            _send(sessions, row, delivery)
        except Exception as error:  # noqa: BLE001 - whatever failed, the row stays for a later attempt
            _failed(sessions, row, error, delivery.retry_cap)
            return delivered
        _mark(sessions, row, delivered_at=utcnow())
    return limit


def waiting(sessions: sessionmaker[Session]) -> int:
    """Rows not delivered yet, due or not."""
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None)))


def backoff(attempts: int, cap: timedelta) -> timedelta:
    """How long a row waits after its ``attempts``-th failure: 10 s, doubling, at most ``cap``."""
    return min(cap, FIRST_RETRY * 2 ** min(attempts - 1, 30))


def _claim(sessions: sessionmaker[Session]) -> OutboxRow | None:
    now = utcnow()
    oldest_due = (
        select(OutboxRow.id)
        .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now)
        .order_by(OutboxRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with transaction(sessions, write=True) as session:
        return session.scalar(
            update(OutboxRow).where(OutboxRow.id == oldest_due).values(next_attempt_at=now + LEASE).returning(OutboxRow)
        )


def _send(sessions: sessionmaker[Session], row: OutboxRow, delivery: Delivery) -> None:
    with transaction(sessions) as session:
        events = events_for(session, row, delivery.namespace)
    for event in events:
        delivery.client.emit(event)


def _failed(sessions: sessionmaker[Session], row: OutboxRow, error: Exception, cap: timedelta) -> None:
    attempts = row.attempts + 1
    retry_at = utcnow() + backoff(attempts, cap)
    _mark(sessions, row, attempts=attempts, next_attempt_at=retry_at, last_error=safe_error(error))
    log.warning("lineage_delivery_failed", run_id=str(row.run_id), attempts=attempts, retry_at=retry_at.isoformat(),
                error=safe_error(error))  # fmt: skip


def _mark(sessions: sessionmaker[Session], row: OutboxRow, **values) -> None:
    with transaction(sessions, write=True) as session:
        session.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(**values))


_URL_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")
_URL_QUERY = re.compile(r"\?[^\s'\"]*")


def safe_error(error: Exception) -> str:
    """The error's type and message for ``last_error`` and the log, without the credentials a URL
    can carry (``user:password@``, ``?api_key=``), at most 500 characters."""
    text = f"{type(error).__name__}: {error}"
    return _URL_QUERY.sub("?…", _URL_USERINFO.sub("…@", text))[:500]


class DeliveryLoop(threading.Thread):
    """Delivers the outbox every ``interval`` seconds: in the background of ``labeltrail serve``,
    and in the foreground of ``labeltrail worker`` (which calls :meth:`run` itself)."""

    def __init__(self, sessions: sessionmaker[Session], delivery: Delivery, *, interval: float):
        super().__init__(name="lineage-delivery", daemon=True)
        self._sessions, self._delivery, self._interval = sessions, delivery, interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                if deliver_due(self._sessions, self._delivery) == PASS_SIZE:
                    continue  # more are due
            except Exception:  # noqa: BLE001 - keep going: the rows stay and are retried
                log.exception("lineage delivery pass failed; the outbox keeps its rows")
            self._stopped.wait(self._interval)

    def stop(self) -> None:
        self._stopped.set()
