"""The PII gate over the API: records are pending until masked, roles without read_raw see only
the masked form, raw readers still see the raw text, and what was found is kept with its detector."""

import uuid

import pytest
from sqlalchemy import func, select

from catalog.core.models import AuditEntryRow, PiiFindingRow, RecordRow
from catalog.core.principal import Role
from catalog.pii_gate.service import UNSCANNED_METADATA, free_texts
from catalog.pii_gate.worker import mask_all
from catalog.records.schemas import KNOWN_METADATA
from pii import ScannerConfig, detector_version
from tests.support.builders import FULL_SCHEMA, TEXT_SCHEMA, chat_record, pair_record

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


def test_the_catalogs_metadata_categories_are_not_scanned_other_metadata_is(sessions, steward, dataset):
    """A scanner that masks every category word (as spaCy masks ``sft`` as an organisation) leaves
    task_type, domain, language and split alone; the same words elsewhere are masked."""
    words = ["sft", "support", "en", "train", "s-17"]
    masking = ScannerConfig(mode="pattern", deny_lists={"PROJECT": words})
    categories = {"task_type": "sft", "domain": "support", "language": "en", "split": "train"}
    metadata = {**categories, "subject_id": "s-17", "note": "an sft run", "extra": {"domain": "support"}}
    [record_id] = steward.records(dataset["id"], chat_record("Plain text.", metadata=metadata), masked=False)
    assert mask_all(sessions, masking, batch_size=10).records == 1
    with sessions() as session:
        record = session.get(RecordRow, uuid.UUID(record_id))
        fields = session.scalars(select(PiiFindingRow.field).where(PiiFindingRow.record_id == record.id)).all()
    assert record.masked_meta == {
        **categories, "subject_id": "<PROJECT>", "note": "an <PROJECT> run", "extra": {"domain": "<PROJECT>"},
    }
    assert sorted(fields) == ["/metadata/extra/domain", "/metadata/note", "/metadata/subject_id"]


def test_only_string_categories_are_left_unscanned():
    texts = free_texts({"messages": [{"role": "user", "content": "hi"}]}, {"task_type": "sft", "domain": ["a b"]})
    assert texts == [("/messages/0/content", "hi"), ("/metadata/domain/0", "a b")]
    assert UNSCANNED_METADATA == set(KNOWN_METADATA) - {"subject_id"}


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


def test_annotation_text_written_through_the_api_is_masked_at_once(actors, steward, dataset, annotator):
    [record_id] = steward.records(dataset["id"], pair_record("Write a reply."))
    made = steward.annotate(record_id, "response", f"Mail {EMAIL} today.")
    assert (made["text"], made["value"]) == ("raw", f"Mail {EMAIL} today.")
    path = f"/api/v1/annotations/{made['id']}"
    steward.ok(steward.patch(path, {"base_revision": 1, "value": "Mail us.", "reason": f"{EMAIL} asked"}))
    seen = annotator.ok(annotator.get(path))
    assert (seen["text"], seen["value"]) == ("masked", "Mail us.")
    history = annotator.ok(annotator.get(f"{path}/history"))["revisions"]
    assert [(r["text"], r["value"], r["reason"]) for r in history] == [
        ("masked", "Mail <EMAIL_ADDRESS> today.", None),
        ("masked", "Mail us.", "<EMAIL_ADDRESS> asked"),
    ]
    raw = steward.ok(steward.get(f"{path}/history"))["revisions"]
    assert [r["value"] for r in raw] == [f"Mail {EMAIL} today.", "Mail us."]


def test_a_placeholder_an_annotator_types_stays_a_placeholder(steward, dataset, annotator):
    [record_id] = steward.records(dataset["id"], pair_record(f"I am {EMAIL}."))
    made = annotator.annotate(record_id, "response", "Hello <EMAIL_ADDRESS>, thanks.")
    assert made["value"] == "Hello <EMAIL_ADDRESS>, thanks."
    raw = steward.ok(steward.get(f"/api/v1/annotations/{made['id']}"))
    assert raw["value"] == "Hello <EMAIL_ADDRESS>, thanks."


def test_imported_annotations_wait_for_the_gate_with_their_records(actors, steward, dataset, annotator):
    body = f'{{"instruction": "Say hi", "output": "Hi, write to {EMAIL}"}}\n'.encode()
    response = steward.client.post(
        f"/api/v1/datasets/{dataset['id']}/imports", params={"format": "alpaca"}, content=body, headers=steward.headers,
    )
    assert response.status_code == 201, response.text
    [record] = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]
    [pending] = steward.ok(steward.get(f"/api/v1/records/{record['id']}/annotations"))
    assert pending["text"] == "raw"  # raw readers see it at once
    actors.mask()
    [masked] = annotator.ok(annotator.get(f"/api/v1/records/{record['id']}/annotations"))
    assert (masked["text"], masked["value"]) == ("masked", "Hi, write to <EMAIL_ADDRESS>")


def test_spans_chosen_on_masked_text_are_stored_at_raw_offsets_and_served_back_masked(actors, steward):
    dataset = steward.dataset("spans", FULL_SCHEMA)
    annotator = actors(Role.ANNOTATOR, "spanner", on=[dataset["id"]])
    [record_id] = steward.records(dataset["id"], chat_record(f"Contact {EMAIL} about Bob."))
    masked = annotator.ok(annotator.get(f"/api/v1/records/{record_id}"))["messages"][0]["content"]
    assert masked == "Contact <EMAIL_ADDRESS> about Bob."
    bob = masked.index("Bob")
    chosen = [{"message": 0, "start": 8, "end": 23, "label": "EMAIL"},
              {"message": 0, "start": bob, "end": bob + 3, "label": "PERSON"}]
    made = annotator.annotate(record_id, "pii", chosen)
    assert made["value"] == chosen  # the annotator gets its own offsets back

    raw = steward.ok(steward.get(f"/api/v1/annotations/{made['id']}"))["value"]
    raw_text = f"Contact {EMAIL} about Bob."
    assert [raw_text[span["start"]:span["end"]] for span in raw] == [EMAIL, "Bob"]
    history = annotator.ok(annotator.get(f"/api/v1/annotations/{made['id']}/history"))["revisions"]
    assert history[0]["value"] == chosen


def test_a_span_beyond_the_masked_text_is_422(actors, steward):
    dataset = steward.dataset("spans", FULL_SCHEMA)
    annotator = actors(Role.ANNOTATOR, "spanner", on=[dataset["id"]])
    [record_id] = steward.records(dataset["id"], chat_record(f"Contact {EMAIL}."))
    masked_length = len("Contact <EMAIL_ADDRESS>.")
    response = annotator.post(
        f"/api/v1/records/{record_id}/annotations",
        {"question": "pii", "value": [{"message": 0, "start": 0, "end": masked_length + 3, "label": "EMAIL"}]},
    )
    assert response.status_code == 422, response.text


def test_a_raw_read_of_annotation_text_holding_personal_data_is_audited(sessions, steward, dataset):
    [record_id] = steward.records(dataset["id"], pair_record("Write a reply."))
    personal = steward.annotate(record_id, "response", f"Mail {EMAIL}.")
    plain = steward.annotate(record_id, "response", "Hello there.")
    with sessions() as session:
        before = session.scalar(select(func.max(AuditEntryRow.seq)))
    steward.ok(steward.get(f"/api/v1/annotations/{plain['id']}"))
    steward.ok(steward.get(f"/api/v1/annotations/{personal['id']}/history"))
    steward.ok(steward.get(f"/api/v1/records/{record_id}/annotations"))
    with sessions() as session:
        reads = session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.seq > before, AuditEntryRow.action == "text:read_raw")
        ).all()
    assert [(entry.actor_name, entry.details) for entry in reads] == [
        ("stew", {"annotations": [personal["id"]]}), ("stew", {"annotations": [personal["id"]]}),
    ]
