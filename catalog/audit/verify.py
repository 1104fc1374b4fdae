"""Proof that the audit log was not changed behind the application's back.

Walks the chain in sequence order and names the first entry that does not hold: one changed,
deleted, inserted or reordered. The chain alone cannot show a cut-off tail or a chain recomputed
after an edit; the seals can. Each seal is checked three ways: its HMAC holds under the
configured key, the entry it names still has the hash it sealed, and that entry still exists.
Seals exported earlier and kept elsewhere can be checked too, which catches an attacker who
also deleted the seal rows.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit.schemas import AuditSealOut
from catalog.core.audit_log import GENESIS_SHA256, HEAD_ID, Sealer, entry_sha256
from catalog.core.models import AuditEntryRow, AuditHeadRow, AuditSealRow
from catalog.core.provenance import Broken

_STREAM = 2000
_HASHED = ("seq", "occurred_at", "actor_id", "actor_name", "roles", "action", "resource", "outcome",
           "request_id", "client", "details", "previous_sha256")


@dataclass(frozen=True)
class AuditIntact:
    entries: int
    seals: int
    seals_authenticated: bool

    def __str__(self) -> str:
        sealed = f"{self.seals} seals" + ("" if self.seals_authenticated else " (HMAC not checked: no seal key)")
        return f"{self.entries} audit entries, {sealed}"


def verify_audit(
    session: Session, sealer: Sealer | None, exported: list[AuditSealOut] | None = None
) -> AuditIntact | Broken:
    seals = _seals(session, exported or [])
    bad_seal = _check_macs(seals, sealer)
    if bad_seal:
        return bad_seal
    walked = _walk(session, seals)
    if isinstance(walked, Broken):
        return walked
    last_seq, last_sha256 = walked
    ends = _check_ends(session, seals, last_seq, last_sha256)
    if ends:
        return ends
    return AuditIntact(entries=last_seq, seals=len(seals), seals_authenticated=sealer is not None)


def _seals(session: Session, exported: list[AuditSealOut]) -> dict[int, list[AuditSealOut]]:
    """Every seal by the sequence number it seals: the database's and any kept elsewhere."""
    found: dict[int, list[AuditSealOut]] = {}
    stored = [AuditSealOut.model_validate(row, from_attributes=True) for row in session.scalars(select(AuditSealRow))]
    for seal in stored + exported:
        found.setdefault(seal.seq, []).append(seal)
    return found


def _check_macs(seals: dict[int, list[AuditSealOut]], sealer: Sealer | None) -> Broken | None:
    if sealer is None:
        return None
    for seq, found in sorted(seals.items()):
        for seal in found:
            if seal.key_id != sealer.key_id:
                return Broken(f"audit seal {seq}", f"made with key {seal.key_id}, not the configured key")
            if not sealer.holds(seq, seal.entry_sha256, seal.hmac_sha256):
                return Broken(f"audit seal {seq}", "its HMAC does not hold: the seal was forged or altered")
    return None


def _walk(session: Session, seals: dict[int, list[AuditSealOut]]) -> tuple[int, str] | Broken:
    previous, expected = GENESIS_SHA256, 1
    rows = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq).execution_options(yield_per=_STREAM))
    for row in rows:
        what = f"audit entry {expected}"
        if row.seq != expected:
            return Broken(what, f"missing (the next entry is {row.seq}): entries were deleted or renumbered")
        if row.previous_sha256 != previous:
            return Broken(what, "previous_sha256 does not match the entry before it")
        if entry_sha256({name: getattr(row, name) for name in _HASHED}) != row.sha256:
            return Broken(what, "its content does not match its sha256")
        if any(seal.entry_sha256 != row.sha256 for seal in seals.get(row.seq, [])):
            return Broken(what, "it does not match its seal: the chain was rewritten after it was sealed")
        previous, expected = row.sha256, expected + 1
    return expected - 1, previous


def _check_ends(
    session: Session, seals: dict[int, list[AuditSealOut]], last_seq: int, last_sha256: str
) -> Broken | None:
    beyond = [seq for seq in seals if seq > last_seq]
    if beyond:
        return Broken(
            f"audit seal {min(beyond)}", f"seals an entry past the end of the log (entry {last_seq}): the tail was cut off"
        )
    head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.sha256).where(AuditHeadRow.id == HEAD_ID)).one()
    if (head.seq, head.sha256) != (last_seq, last_sha256):
        return Broken("audit head", f"records entry {head.seq} but the log ends at entry {last_seq}: "
                                          "entries were cut off or the head was altered")
    return None
