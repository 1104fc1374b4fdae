"""`labeltrail verify` walks the audit log's hash chain and checks its seals, and names the first
entry or seal that does not hold after rows were changed behind the application's back.

History is built through the real API; tampering is raw SQL, as someone with write access to the
database but without the seal key would do it. The chain alone catches edits, deletions,
insertions and reordering; only the seals catch a cut-off tail or a chain recomputed after an edit;
only seals exported earlier catch a tail cut off together with its seal rows.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from catalog.core.audit_log import CONTENT_FIELDS, GENESIS_SHA256, Sealer, entry_sha256
from catalog.core.config import Settings
from catalog.core.models import AuditEntryRow, AuditHeadRow
from catalog.core.principal import Role
from tests.conftest import TEST_SEALER
from tests.support.builders import TEXT_SCHEMA, chat_record, undone

CUT_AT = 8  # entries after this one are cut off; seals at 10 and 15 lie beyond it


@dataclass(frozen=True)
class History:
    entries: int
    seals: list[int]


@pytest.fixture(scope="module")
def history(module_actors, module_sessions) -> History:
    """Seventeen entries written by the application itself, sealed at 5, 10 and 15.

    Written once per module; each test tampers in a savepoint over it that is rolled back (``sessions``)."""
    actors, client, sessions = module_actors, module_actors.client, module_sessions
    steward = actors(Role.DATA_STEWARD)  # 1: principal:manage (by system)
    dataset = steward.dataset("audited", TEXT_SCHEMA)  # 2: dataset:create
    records = steward.records(dataset["id"], chat_record("one"), chat_record("two"), chat_record("three"))  # 3, 4 mask
    annotator = actors(Role.ANNOTATOR)  # 5 (sealed)
    reviewer = actors(Role.REVIEWER)  # 6
    made = [annotator.annotate(record_id, "response", f"answer {n}") for n, record_id in enumerate(records)]  # 7-9
    path = f"/api/v1/annotations/{made[0]['id']}"
    annotator.ok(annotator.patch(path, {"base_revision": 1, "value": "better", "reason": "typo"}))  # 10 (sealed)
    reviewer.ok(reviewer.post(f"{path}/reviews", {"base_revision": 2, "decision": "accept"}), 201)  # 11
    steward.ok(steward.get(f"/api/v1/records/{records[0]}"))  # 12: text:read_raw
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": "Be brief."}), 201)  # 13
    steward.ok(steward.post(f"/api/v1/records/{records[2]}/retire", {"reason": "duplicate"}))  # 14 retire, 15 read
    assert annotator.post("/api/v1/datasets", {"name": "nope", "label_schema": TEXT_SCHEMA}).status_code == 403  # 16
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer lt_bogus_key"}).status_code == 401  # 17
    with sessions() as session:
        entries = session.scalar(text("SELECT MAX(seq) FROM audit_entries"))
        seals = list(session.scalars(text("SELECT seq FROM audit_seals ORDER BY seq")))
        outcomes = set(session.scalars(text("SELECT outcome FROM audit_entries")))
    assert entries == 17 and seals == [5, 10, 15], (entries, seals)
    assert outcomes == {"ok", "denied", "unauthenticated"}
    return History(entries=entries, seals=seals)


@pytest.fixture
def sessions(module_sessions, history):
    with undone(module_sessions):
        yield module_sessions


# --- tampering, as raw SQL -----------------------------------------------------------------


def tamper(sessions, sql: str, **params) -> None:
    with sessions() as session:
        session.execute(text(sql), params)
        session.commit()


def _stored(sessions) -> list[AuditEntryRow]:
    """The entries as the application reads them back (timestamps aware, UUIDs parsed)."""
    with sessions() as session:
        return list(session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq)))


def _hash_of(row: AuditEntryRow, *, seq: int, previous_sha256: str) -> str:
    """What the application would store for ``row``'s content at ``seq`` after ``previous_sha256``."""
    fields = {name: getattr(row, name) for name in CONTENT_FIELDS}
    return entry_sha256({**fields, "seq": seq, "previous_sha256": previous_sha256})


def _point_head_at(sessions, seq: int) -> None:
    """Move audit_head to entry ``seq``, so the head agrees with a log that now ends there."""
    with sessions() as session:
        sha256, previous = session.execute(
            text("SELECT sha256, previous_sha256 FROM audit_entries WHERE seq = :s"), {"s": seq}
        ).one()
        _set_head(session, seq, sha256, previous)
        session.commit()


def _set_head(session, seq: int, sha256: str, previous: str) -> None:
    if "previous_sha256" in AuditHeadRow.__table__.c:
        session.execute(
            text("UPDATE audit_head SET seq = :q, sha256 = :s, previous_sha256 = :p"),
            {"q": seq, "s": sha256, "p": previous},
        )
    else:
        session.execute(text("UPDATE audit_head SET seq = :q, sha256 = :s"), {"q": seq, "s": sha256})


def edit_action(sessions) -> None:
    tamper(sessions, "UPDATE audit_entries SET action = 'dataset:read' WHERE seq = 3")


def edit_details(sessions) -> None:
    tamper(sessions, "UPDATE audit_entries SET details = :d WHERE seq = 7", d='{"revision": 1, "status": "accepted"}')


def edit_outcome(sessions) -> None:
    """A refusal rewritten as a success."""
    tamper(sessions, "UPDATE audit_entries SET outcome = 'ok' WHERE seq = 16")


def edit_actor(sessions) -> None:
    tamper(sessions, "UPDATE audit_entries SET actor_name = 'someone-else' WHERE seq = 11")


def edit_and_rehash_one(sessions) -> None:
    """The edited entry's own hash recomputed: the next entry's link gives it away."""
    tamper(sessions, "UPDATE audit_entries SET action = 'dataset:read' WHERE seq = 3")
    row = _stored(sessions)[2]
    tamper(sessions, "UPDATE audit_entries SET sha256 = :s WHERE seq = 3",
           s=_hash_of(row, seq=3, previous_sha256=row.previous_sha256))


def delete_middle(sessions) -> None:
    tamper(sessions, "DELETE FROM audit_entries WHERE seq = 6")


def swap_seqs(sessions) -> None:
    """Entries 3 and 4 trade places: each keeps its content and hashes, the order changes."""
    tamper(sessions, "UPDATE audit_entries SET seq = -3 WHERE seq = 3")
    tamper(sessions, "UPDATE audit_entries SET seq = 3 WHERE seq = 4")
    tamper(sessions, "UPDATE audit_entries SET seq = 4 WHERE seq = -3")


def swap_contents(sessions) -> None:
    """Entries 6 and 7 trade what they say; each keeps its place and its hashes."""
    columns = [name for name in CONTENT_FIELDS if name != "details"]
    listed = ", ".join(columns)
    with sessions() as session:
        rows = {
            row.seq: row._asdict()
            for row in session.execute(
                text(f"SELECT seq, {listed}, CAST(details AS TEXT) AS details FROM audit_entries WHERE seq IN (6, 7)")
            )
        }
        assigned = ", ".join(f"{name} = :{name}" for name in [*columns, "details"])
        for seq, other in ((6, 7), (7, 6)):
            session.execute(text(f"UPDATE audit_entries SET {assigned} WHERE seq = :seq"), {**rows[other], "seq": seq})
        session.commit()


def insert_replayed(sessions) -> None:
    """Entries from 6 on are renumbered to make room for a copy of entry 5, linked correctly to 5."""
    fifth = _stored(sessions)[4]
    tamper(sessions, "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 6")
    tamper(sessions, "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1006")
    listed = ", ".join(CONTENT_FIELDS)
    tamper(
        sessions,
        f"INSERT INTO audit_entries (seq, {listed}, previous_sha256, sha256) "
        f"SELECT 6, {listed}, sha256, :forged FROM audit_entries WHERE seq = 5",
        forged=_hash_of(fifth, seq=6, previous_sha256=fifth.sha256),
    )


def link_cut(sessions) -> None:
    tamper(sessions, "UPDATE audit_entries SET previous_sha256 = :g WHERE seq = 9", g=GENESIS_SHA256)


def cut_tail(sessions) -> None:
    """The newest entries deleted and the head moved back to match: the chain that is left holds."""
    tamper(sessions, "DELETE FROM audit_entries WHERE seq > :n", n=CUT_AT)
    _point_head_at(sessions, CUT_AT)


def cut_tail_and_seals_leaving_head(sessions) -> None:
    tamper(sessions, "DELETE FROM audit_entries WHERE seq > :n", n=CUT_AT)
    tamper(sessions, "DELETE FROM audit_seals WHERE seq > :n", n=CUT_AT)


def rechain(sessions, *, from_seq: int = 3, rewrite_seals: bool = True, resign_with: Sealer | None = None) -> None:
    """Edit entry ``from_seq``, then recompute every link after it, as the application would have
    written them, and move the head; optionally point the seals at the new hashes too (their
    HMACs cannot be recomputed without the key), or re-sign them under a key of one's own."""
    tamper(sessions, "UPDATE audit_entries SET details = :d WHERE seq = :q", d='{"name": "renamed"}', q=from_seq)
    previous = GENESIS_SHA256
    with sessions() as session:
        for row in session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq)).all():
            sha256 = _hash_of(row, seq=row.seq, previous_sha256=previous)
            session.execute(
                text("UPDATE audit_entries SET previous_sha256 = :p, sha256 = :s WHERE seq = :q"),
                {"p": previous, "s": sha256, "q": row.seq},
            )
            if rewrite_seals:
                session.execute(
                    text("UPDATE audit_seals SET entry_sha256 = :s WHERE seq = :q"), {"s": sha256, "q": row.seq}
                )
            if resign_with is not None:
                session.execute(
                    text("UPDATE audit_seals SET key_id = :k, hmac_sha256 = :m WHERE seq = :q"),
                    {"k": resign_with.key_id, "m": resign_with.mac(row.seq, sha256), "q": row.seq},
                )
            last, before, previous = row.seq, previous, sha256
        _set_head(session, last, previous, before)
        session.commit()


ATTACKER = Sealer(key=b"the attacker's own key", every=5)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(edit_action, "audit entry 3: its content does not match its sha256", id="action-edited"),
        pytest.param(edit_details, "audit entry 7: its content does not match its sha256", id="details-edited"),
        pytest.param(edit_outcome, "audit entry 16: its content does not match its sha256", id="outcome-edited"),
        pytest.param(edit_actor, "audit entry 11: its content does not match its sha256", id="actor-edited"),
        pytest.param(edit_and_rehash_one, "audit entry 4: previous_sha256 does not match", id="edited-and-rehashed"),
        pytest.param(delete_middle, "audit entry 6: missing (the next entry is 7)", id="middle-deleted"),
        pytest.param(swap_seqs, "audit entry 3: previous_sha256 does not match", id="reordered"),
        pytest.param(swap_contents, "audit entry 6: its content does not match its sha256", id="contents-swapped"),
        pytest.param(insert_replayed, "audit entry 7: previous_sha256 does not match", id="row-inserted"),
        pytest.param(link_cut, "audit entry 9: previous_sha256 does not match", id="link-cut"),
        pytest.param(
            cut_tail, f"audit seal 10: seals an entry past the end of the log (entry {CUT_AT}): the tail was cut off",
            id="tail-cut",
        ),
        pytest.param(
            cut_tail_and_seals_leaving_head, f"audit head: records entry 17 but the log ends at entry {CUT_AT}",
            id="tail-and-seals-cut-head-left",
        ),
        pytest.param(rechain, "audit seal 5: its HMAC does not hold", id="rechained-seals-rewritten"),
        pytest.param(
            lambda sessions: rechain(sessions, from_seq=7), "audit seal 10: its HMAC does not hold",
            id="rechained-after-first-seal",
        ),
        pytest.param(
            lambda sessions: rechain(sessions, rewrite_seals=False),
            "audit entry 5: it does not match its seal: the chain was rewritten after it was sealed",
            id="rechained-seals-left",
        ),
        pytest.param(
            lambda sessions: rechain(sessions, resign_with=ATTACKER),
            f"audit seal 5: made with key {ATTACKER.key_id}, not the configured key",
            id="rechained-and-resigned",
        ),
    ],
)
def test_tampering_is_caught_naming_the_first_broken_entry_or_seal(cli, sessions, history, change, expected):
    assert cli("verify").exit_code == 0
    change(sessions)
    result = cli("verify")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"broken: {expected}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- what verifies, and what it says -------------------------------------------------------


def test_an_untouched_history_verifies_with_a_one_line_summary(cli, history):
    result = cli("verify")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        rf"intact: 3 records, 3 annotations, 5 revisions, 0 releases, {history.entries} audit entries, {len(history.seals)} seals",
        lines[0],
    ), lines[0]


def test_without_a_seal_key_verify_still_walks_the_chain_and_says_the_seals_went_unchecked(cli, sessions, history):
    unkeyed = Settings(database_url="sqlite://", log_json=True, log_level="WARNING")
    result = cli("verify", settings=unkeyed)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(
        f"{history.entries} audit entries, {len(history.seals)} seals (HMAC not checked: no seal key)"
    )
    edit_details(sessions)
    broken = cli("verify", settings=unkeyed)
    assert broken.exit_code == 1
    assert "broken: audit entry 7: its content does not match its sha256" in broken.stderr


def test_a_recomputed_chain_is_caught_only_by_the_key(cli, sessions, history):
    """Without the key, a chain recomputed after an edit (seals pointed at the new hashes) holds in
    every way the database alone can show: the HMAC is the one thing that gives it away."""
    rechain(sessions)
    unkeyed = Settings(database_url="sqlite://", log_json=True, log_level="WARNING")
    assert cli("verify", settings=unkeyed).exit_code == 0
    keyed = cli("verify")
    assert keyed.exit_code == 1 and "broken: audit seal 5: its HMAC does not hold" in keyed.stderr


def test_a_cut_tail_whose_seals_were_deleted_too_is_caught_by_seals_exported_earlier(cli, sessions, history, tmp_path):
    kept: Path = tmp_path / "seals.jsonl"
    exported = cli("audit", "seals", "--output", kept)
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.strip() == f"{len(history.seals)} seals written to {kept}"
    assert [line for line in kept.read_text().splitlines() if line]  # one JSON object per seal

    tamper(sessions, "DELETE FROM audit_entries WHERE seq > :n", n=CUT_AT)
    tamper(sessions, "DELETE FROM audit_seals WHERE seq > :n", n=CUT_AT)
    _point_head_at(sessions, CUT_AT)

    alone = cli("verify")
    assert alone.exit_code == 0, "the database alone cannot show this cut; the exported seals must"
    assert f"{CUT_AT} audit entries, 1 seals" in alone.stdout
    result = cli("verify", "--seals", kept)
    assert result.exit_code == 1, result.output
    assert (
        f"broken: audit seal 10: seals an entry past the end of the log (entry {CUT_AT}): the tail was cut off"
        in result.stderr
    )


def test_exported_seals_verify_an_untouched_history_and_a_forged_one_is_named(cli, history, tmp_path):
    kept = tmp_path / "seals.jsonl"
    assert cli("audit", "seals", "--output", kept).exit_code == 0
    fine = cli("verify", "--seals", kept)
    assert fine.exit_code == 0, fine.output
    forged = kept.read_text().replace(TEST_SEALER.mac(10, _line_sha256(kept, 10)), "0" * 64)
    assert forged != kept.read_text()
    kept.write_text(forged)
    result = cli("verify", "--seals", kept)
    assert result.exit_code == 1 and "broken: audit seal 10: its HMAC does not hold" in result.stderr


def _line_sha256(kept: Path, seq: int) -> str:
    for line in kept.read_text().splitlines():
        seal = json.loads(line)
        if seal["seq"] == seq:
            return seal["entry_sha256"]
    raise AssertionError(f"no seal {seq} exported")
