"""The PII gate over the API: records are pending until masked, roles without read_raw see only
the masked form, raw readers still see the raw text, and what was found is kept with its detector."""

import uuid

import pytest
from sqlalchemy import select

from catalog.authz import Role
from catalog.models import AuditEntryRow, PiiFindingRow, RecordRow
from pii import ScannerConfig, detector_version
from tests.support.builders import TEXT_SCHEMA, pair_record

EMAIL, PHONE, CARD = "jane.doe@example.com", "212-555-0100", "4111 1111 1111 1111"


def personal_record() -> dict:
    record = pair_record(f"My email is {EMAIL}.", candidates=(f"Call {PHONE}.", "No."))
    record["metadata"] = {"note": f"card {CARD}", "domain": "support", "tags": [f"from {EMAIL}"]}
    return record


@pytest.fixture
def steward(actors):
    return actors(Role.DATA_STEWARD, "stew")


@pytest.fixture
def dataset(steward):
    return steward.dataset("chats", TEXT_SCHEMA)


@pytest.fixture
def annotator(actors, dataset):
    return actors(Role.ANNOTATOR, "ann", on=[dataset["id"]])


def test_a_pending_record_is_invisible_to_roles_without_read_raw(steward, dataset, annotator):
    [record_id] = steward.records(dataset["id"], personal_record(), masked=False)
    assert annotator.ok(annotator.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"] == []
    for response in (
        annotator.get(f"/api/v1/records/{record_id}"),
        annotator.post(f"/api/v1/records/{record_id}/annotations", {"question": "response", "value": "hi"}),
    ):
        assert response.status_code == 404, response.text
    raw = steward.ok(steward.get(f"/api/v1/records/{record_id}"))
    assert (raw["text"], raw["mask_status"], raw["detector_version"]) == ("raw", "pending", None)
    assert raw["messages"][0]["content"] == f"My email is {EMAIL}."


def test_a_masked_record_is_served_masked_everywhere_its_text_appears(actors, steward, dataset, annotator):
    [record_id] = steward.records(dataset["id"], personal_record())
    for caller in (annotator, actors(Role.ML_ENGINEER), actors(Role.COMPLIANCE_OFFICER)):
        listed = caller.ok(caller.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]
        single = caller.get(f"/api/v1/records/{record_id}")
        for served in (listed[0], caller.ok(single)):
            assert served["text"] == "masked" and served["mask_status"] == "masked"
            assert served["messages"][0]["content"] == "My email is <EMAIL_ADDRESS>."
            assert served["candidates"] == ["Call <PHONE_NUMBER>.", "No."]
            assert served["metadata"] == {
                "note": "card <CREDIT_CARD>", "domain": "support", "tags": ["from <EMAIL_ADDRESS>"],
            }
        for secret in (EMAIL, PHONE, CARD):
            assert secret not in single.text


def test_raw_readers_still_get_the_raw_text_and_the_detector_version(steward, dataset):
    [record_id] = steward.records(dataset["id"], personal_record())
    raw = steward.ok(steward.get(f"/api/v1/records/{record_id}"))
    assert raw["text"] == "raw" and raw["candidates"] == [f"Call {PHONE}.", "No."]
    assert raw["metadata"]["note"] == f"card {CARD}"
    assert raw["detector_version"] == detector_version(ScannerConfig(mode="pattern"))


def test_findings_name_the_field_the_entity_the_raw_offsets_and_the_detector(sessions, steward, dataset):
    [record_id] = steward.records(dataset["id"], personal_record())
    with sessions() as session:
        findings = session.scalars(select(PiiFindingRow).where(PiiFindingRow.record_id == uuid.UUID(record_id))).all()
        record = session.get(RecordRow, uuid.UUID(record_id))
    located = {(f.field, f.entity_type, f.start, f.end) for f in findings}
    assert located == {
        ("/messages/0/content", "EMAIL_ADDRESS", 12, 12 + len(EMAIL)),
        ("/candidates/0", "PHONE_NUMBER", 5, 5 + len(PHONE)),
        ("/metadata/note", "CREDIT_CARD", 5, 5 + len(CARD)),
        ("/metadata/tags/0", "EMAIL_ADDRESS", 5, 5 + len(EMAIL)),
    }
    assert {f.detector_version for f in findings} == {record.detector_version}
    assert all(0 < f.score <= 1 and f.recognizer for f in findings)


def test_each_masking_batch_is_audited_without_any_text(sessions, steward, dataset):
    steward.records(dataset["id"], personal_record(), pair_record("Nothing personal here."))
    with sessions() as session:
        [entry] = session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "pii:mask")).all()
    assert (entry.actor_name, entry.resource) == ("system", "records")
    assert entry.details == {
        "records": 2, "findings": 4, "detector_version": detector_version(ScannerConfig(mode="pattern")),
    }


def test_records_imported_in_bulk_wait_for_the_gate_too(actors, steward, dataset, annotator):
    response = steward.client.post(
        f"/api/v1/datasets/{dataset['id']}/imports", params={"format": "alpaca"},
        content=f'{{"instruction": "Mail {EMAIL}", "output": "Done"}}\n'.encode(), headers=steward.headers,
    )
    assert response.status_code == 201, response.text
    records_path = f"/api/v1/datasets/{dataset['id']}/records"
    assert annotator.ok(annotator.get(records_path))["items"] == []
    assert actors.mask().records == 1
    [served] = annotator.ok(annotator.get(records_path))["items"]
    assert served["messages"][0]["content"] == "Mail <EMAIL_ADDRESS>"
