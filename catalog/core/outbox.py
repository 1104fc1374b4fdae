"""The outbox: what the catalog did, written in the transaction that did it, for ``lineage`` to send.

The catalog never imports ``lineage``. An operation OpenLineage should hear about (an import, a
masking batch, a release, an erasure) adds one row here with its facts: ids, counts and names,
never record text, never a data subject's id. The row commits or rolls back with the change, so
there is no change without its event and no event without its change. ``lineage.delivery`` turns
each row into a START and a COMPLETE (or FAIL) event under the row's ``run_id``.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog.core.models import OutboxRow, new_id, utcnow


class Kind(StrEnum):
    IMPORT = "import"
    MASKING = "masking"
    RELEASE = "release"
    ERASURE = "erasure"


COMPLETE = "COMPLETE"
FAIL = "FAIL"


def record(
    session: Session,
    *,
    kind: Kind,
    facts: dict[str, Any],
    started_at: datetime,
    ended_at: datetime | None = None,
    outcome: str = COMPLETE,
) -> uuid.UUID:
    """Add the operation's row to the session's transaction; returns its OpenLineage run id."""
    now = utcnow()
    run_id = new_id()
    session.execute(
        insert(OutboxRow).values(
            id=new_id(), kind=kind.value, run_id=run_id, facts=facts, started_at=started_at,
            ended_at=ended_at or now, outcome=outcome, created_at=now, attempts=0, next_attempt_at=now,
        )
    )  # fmt: skip
    return run_id
