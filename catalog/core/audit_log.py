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
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, String, bindparam, insert, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement

from catalog.core.db import CHAIN_FUNCTION, transaction
from catalog.core.hashing import canonical_json, chain_sha256, sha256_hex
from catalog.core.models import AuditEntryRow, AuditHeadRow, AuditSealRow, utcnow
from catalog.core.principal import Principal

HEAD_ID = 1
GENESIS_SHA256 = "0" * 64
CONTEXT_KEY = "audit_context"
SEALER_KEY = "audit_sealer"


# NUL, and UTF-16 surrogates: a Python str holds one only when it is lone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_HEAD = AuditHeadRow.__table__
_ENTRIES = AuditEntryRow.__table__
# What an entry's content hash covers; the chain link adds its seq and its predecessor's hash.
CONTENT_FIELDS = ("occurred_at", "actor_id", "actor_name", "roles", "action", "resource", "outcome",
                  "request_id", "client", "details")


class chain_link(FunctionElement):
    """``catalog.core.hashing.chain_sha256`` computed by the database, inside the statement that locks the head."""

    type = String()
    name = "chain_link"
    inherit_cache = True


@compiles(chain_link, "postgresql")
def _chain_link_postgresql(element, compiler, **kw) -> str:
    previous, seq, content = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"encode(sha256(convert_to({previous} || ':' || CAST({seq} AS TEXT) || ':' || {content}, 'UTF8')), 'hex')"


@compiles(chain_link, "sqlite")
def _chain_link_sqlite(element, compiler, **kw) -> str:
    return f"{CHAIN_FUNCTION}({compiler.process(element.clauses, **kw)})"


# Built once: an append runs on every write, and building statements costs more than running them.
# Advancing the head takes its row lock, so concurrent appends queue here and never fork the chain.
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(
        previous_sha256=_HEAD.c.sha256,
        seq=_HEAD.c.seq + 1,
        sha256=chain_link(_HEAD.c.sha256, _HEAD.c.seq + 1, bindparam("content_sha256", type_=String())),
    )
    .returning(_HEAD.c.seq, _HEAD.c.previous_sha256, _HEAD.c.sha256)
)
_INSERT_ENTRY = insert(_ENTRIES)
_head = _ADVANCE_HEAD.cte("head")
# PostgreSQL: advance the head and insert the entry in one round trip (SQLite has no UPDATE in a CTE).
_APPEND_IN_ONE = (
    insert(_ENTRIES)
    .from_select(
        ["seq", *CONTENT_FIELDS, "previous_sha256", "sha256"],
        select(
            _head.c.seq,
            *(bindparam(f"entry_{name}", type_=_ENTRIES.c[name].type) for name in CONTENT_FIELDS),
            _head.c.previous_sha256,
            _head.c.sha256,
        ),
    )
    .returning(_ENTRIES.c.seq, _ENTRIES.c.sha256)
)


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
    content = {
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
    }
    seq, sha256 = _write_entry(session.connection(), content, content_sha256(content))
    sealer: Sealer | None = session.info.get(SEALER_KEY)
    if sealer is not None and seq % sealer.every == 0:
        _write_seal(session, sealer, seq, sha256)
    return seq


def _write_entry(connection: Connection, content: dict[str, Any], content_hash: str) -> tuple[int, str]:
    if connection.dialect.name == "postgresql":
        params = {f"entry_{name}": value for name, value in content.items()}
        return tuple(connection.execute(_APPEND_IN_ONE, {**params, "content_sha256": content_hash}).one())
    seq, previous, sha256 = connection.execute(_ADVANCE_HEAD, {"content_sha256": content_hash}).one()
    connection.execute(_INSERT_ENTRY, {**content, "seq": seq, "previous_sha256": previous, "sha256": sha256})
    return seq, sha256


def content_sha256(content: dict[str, Any]) -> str:
    """The hash of what an entry says: canonical JSON of its content fields."""
    occurred_at: datetime = content["occurred_at"]
    actor_id = content["actor_id"]
    hashed = {name: content[name] for name in CONTENT_FIELDS}
    hashed.update(occurred_at=occurred_at.isoformat(), actor_id=str(actor_id) if actor_id else None)
    return sha256_hex(canonical_json(hashed))


def entry_sha256(fields: dict[str, Any]) -> str:
    """An entry's hash, its link in the chain: content, position and the previous entry's hash."""
    return chain_sha256(fields["previous_sha256"], fields["seq"], content_sha256(fields))


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
    """Append an entry in a transaction of its own, so it survives the rollback of the request.

    The action, resource and details of a failed attempt echo what the caller sent, so they are
    made storable first: an attempt that cannot be written down would escape the log.
    """
    with transaction(sessions, write=True) as session:
        session.info.update(session_info(context, sealer))
        append_failure(session, actor=actor, action=action, resource=resource, outcome=outcome, details=details)


def append_failure(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    resource: str,
    outcome: Outcome,
    details: dict[str, Any] | None = None,
) -> int:
    """Append the entry for a failed attempt in the session's transaction, made storable first.

    For a caller whose transaction goes on after the attempt was rolled back to a savepoint.
    """
    return append(
        session,
        actor=actor,
        action=storable(action, _ENTRIES.c.action.type.length),
        resource=storable(resource, _ENTRIES.c.resource.type.length),
        outcome=outcome,
        details={key: storable(value) if isinstance(value, str) else value for key, value in (details or {}).items()},
    )


def storable(text: str, limit: int | None = None) -> str:
    """Caller-supplied text that every engine can store and canonical JSON can hash.

    PostgreSQL refuses NUL in text and JSONB; a lone surrogate has no UTF-8 encoding. Both become
    U+FFFD, and the text is cut to the column's length.
    """
    return _UNSTORABLE.sub("\ufffd", text)[:limit]


def seal_now(session: Session, sealer: Sealer) -> AuditSealRow | None:
    """Seal the current head (if it is not sealed already); None when the log is empty."""
    head_seq, head_sha256 = session.execute(
        select(_HEAD.c.seq, _HEAD.c.sha256).where(_HEAD.c.id == HEAD_ID).with_for_update()
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
