"""GDPR erasure: a data subject's raw text goes, everywhere and for good; the masked text, the
hashes and every annotation revision stay, and every chain still verifies."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import catalog.core.db
from api.app import create_app
from catalog.core import audit_log, migrate
from catalog.core.db import make_engine, make_sessionmaker
from catalog.core.models import AuditEntryRow
from catalog.core.principal import Role
from catalog.verification.service import Summary, verify
from tests.conftest import TEST_MASKING, TEST_SEALER
from tests.support.builders import TEXT_SCHEMA, Actors, chat_record, undone

EMAIL = "ada.subject@example.com"


def subject_record(subject: str, text: str = f"Reach me at {EMAIL}, my name is Ada.") -> dict:
    return chat_record(text, metadata={"subject_id": subject, "domain": "support"})


def erase(caller, subject: str, reason: str | None = "request DSR-17"):
    params = {"reason": reason} if reason is not None else {}
    return caller.client.delete(f"/api/v1/subjects/{subject}", params=params, headers=caller.headers)


@pytest.fixture(scope="module")
def subjects_world(module_actors) -> dict:
    """Two datasets holding the subject's records, one of them annotated and edited; one bystander.
    Built once per module and backend; each test runs in a savepoint over it."""
    steward = module_actors(Role.DATA_STEWARD, "stew")
    first = steward.dataset("first", TEXT_SCHEMA)
    second = steward.dataset("second", TEXT_SCHEMA)
    [ada_1, bystander] = steward.records(first["id"], subject_record("s-ada"), subject_record("s-bob", "Hi, I am Bob."))
    [ada_2] = steward.records(second["id"], subject_record("s-ada", f"Mail {EMAIL} please"))
    annotator = module_actors(Role.ANNOTATOR, "ann", on=[first["id"], second["id"]])
    made = annotator.annotate(ada_1, "response", "Sure, Ada.")
    annotator.ok(annotator.patch(f"/api/v1/annotations/{made['id']}", {"base_revision": 1, "value": "Sure.", "reason": "tone"}))
    return {"steward": steward, "first": first, "second": second, "ada": [ada_1, ada_2], "bystander": bystander,
            "annotator": annotator, "annotation": made["id"]}


@pytest.fixture
def sessions(module_sessions, subjects_world, monkeypatch):
    # The module's open transaction always keeps SQLite's log busy, so the checkpoint after an
    # erasure cannot empty it here: try it once rather than wait a second for it on every erasure.
    # (test_no_trace_of_an_erased_text_is_left_in_the_sqlite_files runs the real checkpoint.)
    monkeypatch.setattr(catalog.core.db, "_CHECKPOINT_WAIT_MS", 0)
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def world(sessions, subjects_world) -> dict:
    return subjects_world


@pytest.fixture
def steward(world):
    return world["steward"]


def test_erasure_removes_the_raw_text_and_keeps_the_masked_form_and_the_provenance(sessions, steward, world):
    before = steward.ok(steward.get(f"/api/v1/records/{world['ada'][0]}"))
    history_before = steward.ok(steward.get(f"/api/v1/annotations/{world['annotation']}/history"))
    done = steward.ok(erase(steward, "s-ada"))
    assert sorted(done["erased"]) == sorted(world["ada"]) and done["already_erased"] == []
    assert sorted(done["datasets"]) == sorted([world["first"]["id"], world["second"]["id"]])

    for record_id in world["ada"]:
        for caller in (steward, world["annotator"]):
            response = caller.get(f"/api/v1/records/{record_id}")
            served = caller.ok(response)
            assert EMAIL not in response.text
            assert served["text"] == ("erased" if caller is steward else "masked")
            assert "<EMAIL_ADDRESS>" in served["messages"][0]["content"]
    after = steward.ok(steward.get(f"/api/v1/records/{world['ada'][0]}"))
    assert after["content_sha256"] == before["content_sha256"] and after["erased_at"] is not None
    assert steward.ok(steward.get(f"/api/v1/annotations/{world['annotation']}/history")) == history_before
    bystander = steward.ok(steward.get(f"/api/v1/records/{world['bystander']}"))
    assert (bystander["text"], bystander["messages"][0]["content"]) == ("raw", "Hi, I am Bob.")

    with sessions() as session:
        result = verify(session, TEST_SEALER)
    assert isinstance(result, Summary), result
    assert result.records == 3 and result.revisions == 2


def test_erasure_names_the_releases_it_reaches_which_still_verify_and_export_no_raw_text(sessions, steward, world):
    first = world["first"]["id"]
    release = steward.ok(steward.post(f"/api/v1/datasets/{first}/releases", {"tag": "v1"}), 201)
    done = steward.ok(erase(steward, "s-ada"))
    assert done["releases"] == [{"dataset_id": first, "dataset": "first", "tag": "v1"}]
    with sessions() as session:
        result = verify(session, TEST_SEALER)
    assert isinstance(result, Summary) and result.releases == 1, result
    exported = steward.get(f"/api/v1/datasets/{first}/releases/v1/export")
    rows = {row["record_id"]: row for row in map(json.loads, exported.text.splitlines())}
    assert rows[world["ada"][0]]["text"] == "erased" and EMAIL not in exported.text
    assert steward.ok(steward.get(f"/api/v1/datasets/{first}/releases/v1"))["root"] == release["root"]


def test_the_erasure_is_a_tombstone_in_the_audit_log_naming_who_when_and_why(sessions, steward, world):
    steward.ok(erase(steward, "s-ada"))
    with sessions() as session:
        [entry] = session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "subject:erase")).all()
    assert (entry.actor_name, entry.resource, entry.outcome) == ("stew", "subject:s-ada", "ok")
    assert entry.details["reason"] == "request DSR-17"
    assert sorted(entry.details["records"]) == sorted(world["ada"])
    assert EMAIL not in str(entry.details)


def test_erasing_again_erases_nothing_more_and_says_so(steward, world):
    steward.ok(erase(steward, "s-ada"))
    again = steward.ok(erase(steward, "s-ada"))
    assert again["erased"] == [] and sorted(again["already_erased"]) == sorted(world["ada"])
    unknown = steward.ok(erase(steward, "s-nobody"))
    assert (unknown["erased"], unknown["already_erased"], unknown["datasets"]) == ([], [], [])


def test_a_record_erased_before_it_was_masked_keeps_no_text_at_all(steward, actors):
    dataset = steward.dataset("fresh", TEXT_SCHEMA)
    [record_id] = steward.records(dataset["id"], subject_record("s-new"), masked=False)
    steward.ok(erase(steward, "s-new"))
    annotator = actors(Role.ANNOTATOR, "late", on=[dataset["id"]])
    for caller in (steward, annotator):
        served = caller.ok(caller.get(f"/api/v1/records/{record_id}"))
        assert served["messages"][0]["content"] == "<ERASED>"
        assert served["mask_status"] == "masked"


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER])
def test_only_admins_and_data_stewards_may_erase(actors, steward, world, role):
    caller = actors(role, f"not-allowed-{role.value}", on=[world["first"]["id"]])
    response = erase(caller, "s-ada")
    assert response.status_code == 403, response.text
    raw = steward.ok(steward.get(f"/api/v1/records/{world['ada'][0]}"))
    assert raw["text"] == "raw" and EMAIL in raw["messages"][0]["content"]
    assert erase(actors(Role.ADMIN), "s-ada").status_code == 200


def test_an_erasure_without_a_reason_is_refused_and_changes_nothing(steward, world):
    response = erase(steward, "s-ada", reason=None)
    assert response.status_code == 422 and "reason" in response.text
    assert steward.ok(steward.get(f"/api/v1/records/{world['ada'][0]}"))["text"] == "raw"


def test_no_trace_of_an_erased_text_is_left_in_the_sqlite_files(tmp_path: Path, settings):
    url = f"sqlite:///{tmp_path / 'catalog.core.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, info=audit_log.session_info(audit_log.AuditContext(client="test"), TEST_SEALER))
    actors = Actors(sessions, TestClient(create_app(settings, sessions=sessions)), TEST_MASKING)
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("files", TEXT_SCHEMA)
    canary = "zq-7f3e9b@example.org"  # masked by the gate, so only the raw text holds it
    steward.records(dataset["id"], subject_record("s-file", f"Write to {canary} today"))
    files = [path for path in tmp_path.iterdir() if path.name.startswith("catalog.core.db")]
    assert any(canary.encode() in path.read_bytes() for path in files)  # it was there

    steward.ok(erase(steward, "s-file"))
    engine.dispose()
    for path in tmp_path.iterdir():
        assert canary.encode() not in path.read_bytes(), f"erased text left in {path.name}"
