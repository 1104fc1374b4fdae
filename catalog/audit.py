"""The audit log: an append-only hash chain of everything that happened, sealed with an HMAC.

Each entry stores the sha256 of the one before it, so changing, deleting, inserting or
reordering a row breaks the chain. Appends lock the single ``audit_head`` row first, so
concurrent writers take turns and the chain never forks. Every ``seal_every`` entries the head
is sealed with an HMAC under a key from configuration: someone who can write to the database
but does not hold the key cannot cut off the tail or recompute the chain after an edit without
the seals giving them away.

Entries for a change are appended in the change's own transaction. Entries for denials, failed
authentication and failed operations are appended by :func:`record_failure` in a transaction
of their own, after the request's transaction rolled back.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.authz import Principal
from catalog.db import transaction
from catalog.hashing import canonical_json, sha256_hex
from catalog.models import AuditEntryRow, AuditHeadRow, AuditSealRow, utcnow

HEAD_ID = 1
GENESIS_SHA256 = "0" * 64
CONTEXT_KEY = "audit_context"
SEALER_KEY = "audit_sealer"


class Outcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"
    UNAUTHENTICATED = "unauthenticated"


@dataclass(frozen=True)
class AuditContext:
    """Where a unit of work came from: the HTTP request id and client address, or the CLI."""

    request_id: str | None = None
    client: str | None = None


@dataclass(frozen=True)
class Sealer:
    """Computes seals. The key lives in configuration and never in the database."""

    key: bytes
    every: int = 100

    @property
    def key_id(self) -> str:
        """Names the key in each seal without revealing it, so keys can be rotated."""
        return hashlib.sha256(b"labeltrail-seal-key-id:" + self.key).hexdigest()[:16]

    def mac(self, seq: int, entry_sha256: str) -> str:
        message = f"labeltrail-audit-seal:{seq}:{entry_sha256}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def holds(self, seq: int, entry_sha256: str, mac: str) -> bool:
        return hmac.compare_digest(self.mac(seq, entry_sha256), mac)


def session_info(context: AuditContext | None, sealer: Sealer | None) -> dict[str, Any]:
    """What a session needs to audit: pass as ``info=`` to a session or sessionmaker."""
    return {CONTEXT_KEY: context or AuditContext(), SEALER_KEY: sealer}


def append(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    resource: str,
    outcome: Outcome = Outcome.OK,
    details: dict[str, Any] | None = None,
    dataset_id: uuid.UUID | None = None,
) -> int:
    """Append one entry in the session's transaction and return its sequence number."""
    context: AuditContext = session.info.get(CONTEXT_KEY) or AuditContext()
    head_seq, head_sha256 = session.execute(
        select(AuditHeadRow.seq, AuditHeadRow.sha256).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    ).one()
    fields = {
        "seq": head_seq + 1,
        "occurred_at": utcnow(),
        "actor_id": actor.id if actor else None,
        "actor_name": actor.name if actor else None,
        "roles": ",".join(sorted(actor.roles_on(dataset_id))) if actor else "",
        "action": str(action),
        "resource": resource,
        "outcome": outcome.value,
        "request_id": context.request_id,
        "client": context.client,
        "details": details or {},
        "previous_sha256": head_sha256,
    }
    sha256 = entry_sha256(fields)
    session.execute(insert(AuditEntryRow).values(**fields, sha256=sha256))
    session.execute(update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).values(seq=fields["seq"], sha256=sha256))
    sealer: Sealer | None = session.info.get(SEALER_KEY)
    if sealer is not None and fields["seq"] % sealer.every == 0:
        _write_seal(session, sealer, fields["seq"], sha256)
    return fields["seq"]


def entry_sha256(fields: dict[str, Any]) -> str:
    """The hash of an entry: canonical JSON of every field but the hash itself."""
    return sha256_hex(canonical_json(_hashed_form(fields)))


def _hashed_form(fields: dict[str, Any]) -> dict[str, Any]:
    occurred_at: datetime = fields["occurred_at"]
    actor_id = fields["actor_id"]
    return {
        **{name: value for name, value in fields.items() if name != "sha256"},
        "occurred_at": occurred_at.isoformat(),
        "actor_id": str(actor_id) if actor_id else None,
    }


def record_failure(
    sessions: sessionmaker[Session],
    *,
    context: AuditContext,
    sealer: Sealer | None,
    actor: Principal | None,
    action: str,
    resource: str,
    outcome: Outcome,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an entry in a transaction of its own, so it survives the rollback of the request."""
    with transaction(sessions) as session:
        session.info.update(session_info(context, sealer))
        append(session, actor=actor, action=action, resource=resource, outcome=outcome, details=details)


def seal_now(session: Session, sealer: Sealer) -> AuditSealRow | None:
    """Seal the current head (if it is not sealed already); None when the log is empty."""
    head_seq, head_sha256 = session.execute(
        select(AuditHeadRow.seq, AuditHeadRow.sha256).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    ).one()
    if head_seq == 0:
        return None
    existing = session.get(AuditSealRow, head_seq)
    return existing or _write_seal(session, sealer, head_seq, head_sha256)


def _write_seal(session: Session, sealer: Sealer, seq: int, sha256: str) -> AuditSealRow:
    seal = AuditSealRow(
        seq=seq, entry_sha256=sha256, key_id=sealer.key_id, hmac_sha256=sealer.mac(seq, sha256), sealed_at=utcnow()
    )
    session.add(seal)
    session.flush()
    return seal
