"""Releases: cut, read, recompute from the manifest, gates, and who may do what."""

import hashlib
import json
import uuid
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update

from api.app import create_app
from catalog.core import audit_log, migrate
from catalog.core.db import make_engine, make_sessionmaker
from catalog.core.models import AuditEntryRow, PiiFindingRow, ReleaseRecordRow, RevisionRow
from catalog.core.principal import Role
from catalog.pii_gate.worker import mask_all
from pii import ScannerConfig, detector_version
from tests.support.builders import FULL_SCHEMA, TEXT_SCHEMA, Actors, chat_record


@pytest.fixture
def steward(actors):
    return actors(Role.DATA_STEWARD, "stew")


@pytest.fixture
def world(actors, steward):
    """Three records: two answered (one submitted, one draft), one with no answer; split from metadata on one."""
    dataset = steward.dataset("rel", TEXT_SCHEMA)
    ids = steward.records(
        dataset["id"],
        chat_record("What is 2 + 2?", metadata={"split": "test", "domain": "math"}),
        chat_record("Name a prime.", metadata={"domain": "math"}),
        chat_record("Say hello."),
    )
    annotator = actors(Role.ANNOTATOR, "ann", on=[dataset["id"]])
    submitted = annotator.annotate(ids[0], "response", "4", guideline_version=None)
    draft = annotator.annotate(ids[1], "response", "7", status="draft")
    steward.mask()
    return {"dataset": dataset, "ids": ids, "annotator": annotator, "submitted": submitted, "draft": draft}


def releases_url(world) -> str:
    return f"/api/v1/datasets/{world['dataset']['id']}/releases"


def cut(caller, world, tag="v1", **body):
    return caller.post(releases_url(world), {"tag": tag, **body})


def manifest(caller, world, tag="v1") -> list[dict]:
    response = caller.get(f"{releases_url(world)}/{tag}/manifest")
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def recomputed_root(leaves: list[dict]) -> str:
    """The documented construction, written out independently of the project's code."""
    level = [
        hashlib.sha256(b"\x00" + json.dumps(leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).digest()
        for leaf in leaves
    ]
    while len(level) > 1:
        pairs = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = pairs + (level[-1:] if len(level) % 2 else [])
    return level[0].hex()


def test_a_release_holds_active_records_and_their_submitted_labels(steward, world):
    release = steward.ok(cut(steward, world, notes="first"), 201)
    assert (release["tag"], release["records"], release["annotations"]) == ("v1", 3, 1)
    assert release["notes"] == "first" and release["created_by"] == "stew"
    assert sum(release["split_counts"].values()) == 3 and release["split_counts"]["test"] >= 1
    assert [gate["gate"] for gate in release["gates"]] == ["masked"] and release["gates"][0]["passed"]
    assert steward.ok(steward.get(f"{releases_url(world)}/v1")) == release
    assert [r["tag"] for r in steward.ok(steward.get(releases_url(world)))] == ["v1"]


def test_the_root_is_recomputable_from_the_published_manifest(steward, world):
    release = steward.ok(cut(steward, world), 201)
    leaves = manifest(steward, world)
    assert [leaf["record_id"] for leaf in leaves] == sorted(world["ids"])
    labelled = next(leaf for leaf in leaves if leaf["record_id"] == world["ids"][0])
    assert labelled["split"] == "test" and labelled["annotations"][0]["annotation_id"] == world["submitted"]["id"]
    assert all(leaf["masked_sha256"] and leaf["detector_version"] for leaf in leaves)
    assert recomputed_root(leaves) == release["root"]


def test_statuses_narrow_what_is_released(steward, world):
    release = steward.ok(cut(steward, world, statuses=["accepted"]), 201)
    assert release["annotations"] == 0 and release["statuses"] == ["accepted"]
    refused = cut(steward, world, "v2", statuses=["draft"])
    assert refused.status_code == 422 and "statuses" in refused.text


def test_a_tag_is_never_reused_and_a_release_never_changes(steward, world):
    first = steward.ok(cut(steward, world), 201)
    world["annotator"].annotate(world["ids"][2], "response", "Hello.")
    again = cut(steward, world)
    assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]
    assert steward.ok(steward.get(f"{releases_url(world)}/v1")) == first
    second = steward.ok(cut(steward, world, "v2"), 201)
    assert second["annotations"] == 2 and second["root"] != first["root"]


def test_the_masking_gate_refuses_a_release_with_text_awaiting_masking(actors, steward, world):
    steward.records(world["dataset"]["id"], chat_record("Not masked yet"), masked=False)
    refused = cut(steward, world)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert "refused by its gates" in error["message"] and "1 records" in error["message"]
    assert error["details"]["gates"][0]["gate"] == "masked"
    assert steward.ok(steward.get(releases_url(world))) == []


def test_only_an_admin_overrides_a_gate_and_the_override_is_kept(actors, steward, world):
    steward.records(world["dataset"]["id"], chat_record("Not masked yet"), masked=False)
    override = {"reason": "internal smoke test"}
    assert cut(steward, world, override=override).status_code == 403
    admin = actors(Role.ADMIN, "boss")
    release = admin.ok(cut(admin, world, override=override), 201)
    assert release["override"] == {"by": "boss", "reason": "internal smoke test", "failed": ["masked"]}
    entries = admin.ok(admin.get("/api/v1/audit", params={"action": "release:override"}))["items"]
    assert [(e["actor_name"], e["outcome"]) for e in entries] == [("stew", "denied"), ("boss", "ok")]
    assert entries[1]["details"]["reason"] == "internal smoke test"


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER])
def test_roles_that_only_read_cannot_cut_a_release(actors, world, role):
    caller = actors(role, f"reader-{role.value}", on=[world["dataset"]["id"]])
    assert cut(caller, world).status_code == 403


def test_a_release_of_a_dataset_out_of_sight_is_not_found(actors, steward, world):
    steward.ok(cut(steward, world), 201)
    other = actors(Role.ANNOTATOR, "outsider", on=[steward.dataset("other", FULL_SCHEMA)["id"]])
    for path in ("", "/v1", "/v1/manifest", "/v1/export", "/v1/profile"):
        assert other.get(f"{releases_url(world)}{path}").status_code == 404, path


def test_a_dataset_with_nothing_active_cannot_be_released(steward):
    dataset = steward.dataset("empty", TEXT_SCHEMA)
    refused = steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"})
    assert refused.status_code == 409 and "no active records" in refused.text


def export_lines(caller, world, tag="v1") -> list[dict]:
    response = caller.get(f"{releases_url(world)}/{tag}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_the_export_streams_masked_text_to_roles_without_raw_access_and_audits_raw_exports(actors, steward):
    dataset = steward.dataset("pii-rel", TEXT_SCHEMA)
    [record_id] = steward.records(dataset["id"], chat_record("Mail jane.doe@example.com please"))
    steward.annotate(record_id, "response", "Done, jane.doe@example.com.", guideline_version=None)
    steward.mask()
    world = {"dataset": dataset}
    steward.ok(cut(steward, world), 201)
    engineer = actors(Role.ML_ENGINEER, "mle")
    [masked] = export_lines(engineer, world)
    assert masked["text"] == "masked" and "jane.doe" not in json.dumps(masked)
    assert masked["messages"][0]["content"] == "Mail <EMAIL_ADDRESS> please"
    [label] = masked["labels"]
    assert (label["annotator"], label["source"]["kind"], label["revision"], label["text"]) == ("stew", "human", 1, "masked")
    [raw] = export_lines(steward, world)
    assert raw["text"] == "raw" and raw["messages"][0]["content"] == "Mail jane.doe@example.com please"
    assert raw["labels"][0]["value"] == "Done, jane.doe@example.com."
    auditor = actors(Role.COMPLIANCE_OFFICER, "auditor")
    reads = auditor.ok(auditor.get("/api/v1/audit", params={"action": "text:read_raw"}))["items"]
    assert [(e["actor_name"], e["details"].get("export")) for e in reads][-1] == ("stew", "v1")
    assert all(e["actor_name"] != "mle" for e in reads)


def test_the_export_has_every_released_record_once_in_leaf_order(steward, world):
    steward.ok(cut(steward, world), 201)
    rows = export_lines(steward, world)
    assert [row["record_id"] for row in rows] == sorted(world["ids"])
    assert [len(row["labels"]) for row in rows] == [1 if r == world["ids"][0] else 0 for r in sorted(world["ids"])]


def test_the_diff_names_added_removed_and_relabelled_records(steward, world):
    steward.ok(cut(steward, world), 201)
    annotator, ids = world["annotator"], world["ids"]
    steward.ok(steward.post(f"/api/v1/records/{ids[2]}/retire", {"reason": "off-topic"}))
    annotator.ok(annotator.patch(f"/api/v1/annotations/{world['submitted']['id']}", {"base_revision": 1, "value": "four", "reason": "words"}))
    [added] = steward.records(world["dataset"]["id"], chat_record("A new prompt."))
    steward.ok(cut(steward, world, "v2"), 201)
    diff = steward.ok(steward.get(f"{releases_url(world)}/v1/diff/v2"))
    counts = {key: diff[key] for key in diff if key.startswith(("records_", "annotations_"))}
    assert counts == {"records_added": 1, "records_removed": 1, "records_changed": 1,
                      "annotations_added": 0, "annotations_removed": 0, "annotations_changed": 1}  # fmt: skip
    assert diff["examples"] == {"added": [added], "removed": [ids[2]], "changed": [ids[0]]}
    tests = {feature["feature"]: feature["test"] for feature in diff["shift"]["features"]}
    # Small releases: statistical tests, chosen by the number of distinct values as Evidently does.
    assert (tests["prompt_length"], tests["domain"]) == ("chisquare", "z")
    assert steward.get(f"{releases_url(world)}/v1/diff/v9").status_code == 404


def test_the_profile_counts_labels_sources_and_lengths(actors, steward):
    dataset = steward.dataset("profiled", FULL_SCHEMA)
    ids = steward.records(dataset["id"], chat_record("Hi there", metadata={"language": "en"}), chat_record("Add 2 and 2"))
    for record_id, safety in zip(ids, ("safe", "unsafe"), strict=True):
        steward.annotate(record_id, "safety", safety)
        steward.annotate(record_id, "quality", {"helpful": 4, "honest": 2}, source={"kind": "model", "model": "m1"})
    steward.annotate(ids[0], "topics", ["math", "chat"])
    steward.annotate(ids[0], "response", "Hello!")
    steward.mask()
    steward.ok(cut(steward, {"dataset": dataset}), 201)
    profile = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/releases/v1/profile"))
    categorical = profile["categorical"]
    assert (profile["records"], profile["annotations"]) == (2, 6)
    assert categorical["label:safety"] == {"safe": 1, "unsafe": 1}
    assert categorical["label:topics"] == {"chat": 1, "math": 1}
    assert categorical["label:quality.helpful"] == {"4": 2} and categorical["label:quality.honest"] == {"2": 2}
    assert categorical["source"] == {"human": 4, "model": 2} and categorical["annotator"] == {"stew": 6}
    assert categorical["language"] == {"(none)": 1, "en": 1} and categorical["guideline_version"] == {"(none)": 6}
    assert profile["numeric"]["prompt_length"] == [[8.0, 1], [11.0, 1]]
    assert profile["numeric"]["response_length"] == [[6.0, 1]] and profile["numeric"]["turns"] == [[1.0, 2]]


def test_contamination_is_measured_and_its_gate_refuses_a_leaky_release(steward, settings, client, actors):
    dataset = steward.dataset("leaky", TEXT_SCHEMA)
    prompt = "Explain how photosynthesis turns light into chemical energy in plant cells"
    steward.records(
        dataset["id"],
        chat_record(prompt, metadata={"split": "train"}),
        chat_record(prompt.upper() + "!", metadata={"split": "test"}),
        chat_record("Write a haiku about the sea", metadata={"split": "test"}),
    )
    world = {"dataset": dataset}
    release = steward.ok(cut(steward, world), 201)
    found = release["contamination"]
    assert (found["test_records"], found["exact_train_test"], found["near_train_test"], found["share"]) == (2, 1, 0, 0.5)
    assert found["examples"][0]["kind"] == "exact"
    settings.release.max_contamination = 0.1
    refused = cut(steward, world, "v2")
    assert refused.status_code == 409 and "contamination: 0.5000 of test records overlap train" in refused.text


def test_the_profile_counts_the_pii_findings_of_released_records_only(steward):
    dataset = steward.dataset("pii-profile", TEXT_SCHEMA)
    ids = steward.records(
        dataset["id"], chat_record("Mail jane.doe@example.com or jim@example.org"), chat_record("Nothing personal"),
        chat_record("Write to bob@example.net"),
    )  # fmt: skip
    steward.ok(steward.post(f"/api/v1/records/{ids[2]}/retire", {"reason": "off-topic"}))
    steward.mask()
    steward.ok(cut(steward, {"dataset": dataset}), 201)
    profile = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/releases/v1/profile"))
    assert profile["records"] == 2
    assert profile["categorical"]["pii_entity"] == {"EMAIL_ADDRESS": 2}


def test_after_a_rescan_the_profile_counts_only_each_records_current_findings(actors, steward, sessions):
    """The first detector finds emails and phone numbers; the second, after a rescan, emails only.
    The old findings stay as history; a release's profile counts the new ones alone."""
    dataset = steward.dataset("rescanned", TEXT_SCHEMA)
    steward.records(
        dataset["id"], chat_record("Mail jane.doe@example.com or call 212-555-0100"), chat_record("Write to bob@example.net"),
        masked=False,
    )  # fmt: skip
    assert mask_all(sessions, ScannerConfig(mode="pattern"), batch_size=10).findings == 3
    second = ScannerConfig(mode="pattern", entities=["EMAIL_ADDRESS"])
    rescanned = mask_all(sessions, second, batch_size=10, dataset_id=uuid.UUID(dataset["id"]))
    assert (rescanned.records, rescanned.findings) == (2, 2)
    with sessions() as session:
        kept = session.scalars(select(PiiFindingRow.detector_version)).all()
    assert sorted(Counter(kept).values()) == [2, 3]  # both detectors' findings are kept
    assert set(kept) == {detector_version(ScannerConfig(mode="pattern")), detector_version(second)}
    steward.ok(cut(steward, {"dataset": dataset}), 201)
    profile = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/releases/v1/profile"))
    assert profile["categorical"]["pii_entity"] == {"EMAIL_ADDRESS": 2}
    with sessions() as session:
        per_record = session.scalars(select(ReleaseRecordRow.pii_findings)).all()
    assert sorted(per_record) == [1, 1]


def test_a_release_refused_for_text_awaiting_masking_reads_two_counts_and_writes_only_its_audit_entry(
    steward, world, engine, sessions
):
    """A client polling a release while records are masked must not slow the masker: the refusal
    comes from two counts (no manifest read or written), and only the refusal's audit entry is
    written, as for every refused write."""
    steward.records(world["dataset"]["id"], chat_record("Not masked yet"), masked=False)
    with sessions() as session:
        before = session.scalar(select(func.max(AuditEntryRow.seq)))
    statements = recorded_statements(engine, lambda: cut(steward, world))
    assert statements.pop() == 409
    assert not any("release_records" in sql or "INTO releases" in sql for sql in statements)  # no manifest
    written = [sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE", "WITH"))]  # WITH: PostgreSQL's append
    assert written and all("audit_" in sql for sql in written), written  # the refusal's entry, nothing else
    with sessions() as session:
        [entry] = session.scalars(select(AuditEntryRow).where(AuditEntryRow.seq > before)).all()
    assert (entry.action, entry.outcome) == ("POST /api/v1/datasets/{dataset_id}/releases", "failed")
    assert steward.ok(steward.get(releases_url(world))) == []


def test_the_early_count_is_the_gates_a_pending_label_counts_only_if_it_would_be_released(steward, world, sessions):
    """The draft answer is not released (statuses default to submitted): its pending text does not
    hold the release back; the submitted answer's does."""
    def pend(annotation: dict) -> None:
        with sessions() as session, session.begin():
            session.execute(
                update(RevisionRow).where(RevisionRow.annotation_id == uuid.UUID(annotation["id"])).values(mask_status="pending")
            )

    pend(world["draft"])
    steward.ok(cut(steward, world, tag="v1"), 201)
    pend(world["submitted"])
    refused = cut(steward, world, tag="v2")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["gates"][0]["detail"] == "0 records and 1 labels await PII masking"


def recorded_statements(engine, request) -> list:
    """The SQL ``engine`` runs while ``request()`` is answered, and last the answer's status."""
    statements: list = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        statements.append(request().status_code)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return statements


def test_on_sqlite_the_refusal_takes_the_write_lock_only_to_write_its_audit_entry(tmp_path, settings):
    """On a database file of its own, with real transactions: one BEGIN IMMEDIATE (the audit
    entry's, after the refusal), where the request's own unit of work used to take the lock for
    the whole cut."""
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, info=audit_log.session_info(audit_log.AuditContext(client="test"), None))
    try:
        with TestClient(create_app(settings.model_copy(update={"database_url": url}), sessions=sessions)) as client:
            steward = Actors(sessions, client)(Role.DATA_STEWARD, "stew")
            dataset = steward.dataset("gate", TEXT_SCHEMA)
            steward.records(dataset["id"], chat_record("Not masked yet"), masked=False)
            steward.get("/api/v1/me")  # the key's last use is stamped now, not during the refusal
            statements = recorded_statements(engine, lambda: cut(steward, {"dataset": dataset}))
    finally:
        engine.dispose()
    assert statements.pop() == 409
    begins = [n for n, sql in enumerate(statements) if sql == "BEGIN IMMEDIATE"]
    assert len(begins) == 1, statements
    locked = statements[begins[0] + 1 :]  # the last transaction of the request (its commit is no statement)
    assert locked and all("audit_" in sql for sql in locked), locked
