"""Annotations over REST: validation, append-only revisions, optimistic concurrency, reviews, history."""

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from catalog.core.db import transaction
from catalog.core.models import AnnotationRow, DatasetRow, RecordRow, RevisionRow
from catalog.core.principal import Role
from catalog.core.provenance import revision_sha256
from tests.support.builders import Caller, chat_record, pair_record, undone


@dataclass
class World:
    """A steward, a dataset with guideline v1, a chat record and a pair record: built once per module."""

    steward: Caller
    dataset: dict
    record_id: str
    pair_id: str


@pytest.fixture(scope="module")
def world(module_actors) -> World:
    steward = module_actors(Role.DATA_STEWARD)
    dataset = steward.dataset("labels")
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": "v1"}), 201)
    [record_id] = steward.records(dataset["id"], chat_record("Write to bob@example.com"))
    [pair_id] = steward.records(dataset["id"], pair_record())
    return World(steward, dataset, record_id, pair_id)


@pytest.fixture(autouse=True)  # also for tests that only ask for the world's callers
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def steward(world) -> Caller:
    return world.steward


@pytest.fixture
def dataset(world) -> dict:
    return world.dataset


@pytest.fixture
def record_id(world) -> str:
    return world.record_id


@pytest.fixture
def pair_id(world) -> str:
    return world.pair_id


def test_an_annotation_records_who_when_how_and_under_which_guideline(actors, record_id):
    annotator = actors(Role.ANNOTATOR, "ann")
    made = annotator.annotate(record_id, "response", "Sure, here is a draft.")
    assert made["revision"] == 1 and made["status"] == "submitted"
    assert made["annotator"] == "ann" and made["guideline_version"] == 1
    assert made["source"] == {"kind": "human", "model": None, "model_version": None, "file": None}
    listed = annotator.ok(annotator.get(f"/api/v1/records/{record_id}/annotations"))
    assert listed == [made]


def test_model_pre_labels_carry_the_model(steward, record_id):
    made = steward.annotate(record_id, "safety", "safe", source={"kind": "model", "model": "guard", "model_version": "3"})
    assert made["source"]["kind"] == "model" and made["source"]["model"] == "guard"
    response = steward.post(f"/api/v1/records/{record_id}/annotations", {"question": "safety", "value": "safe", "source": "model"})
    assert response.status_code == 422 and "model" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("question", "value", "expected"),
    [
        ("safety", "maybe", "not an option: maybe"),
        ("topics", "math", "expected a non-empty list"),
        ("quality", {"helpful": 9, "honest": 1}, "axis 'helpful' takes an integer from 1 to 5"),
        ("quality", {"helpful": 3}, "axes missing"),
        ("response", "   ", "expected non-empty text"),
        ("pii", [{"message": 0, "start": 5, "end": 500, "label": "EMAIL"}], "outside message 0"),
        ("pii", [{"message": 0, "start": 0, "end": 4, "label": "PHONE"}], "unknown span label"),
        ("preference", {"ranking": [[0], [1]]}, "fewer than two candidates"),
        ("nope", "x", "unknown question 'nope'"),
    ],
)
def test_invalid_values_are_422_naming_the_question_and_problem(steward, record_id, question, value, expected):
    response = steward.post(f"/api/v1/records/{record_id}/annotations", {"question": question, "value": value})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert expected in error["message"]
    assert question in error["message"]


def test_every_question_kind_accepts_valid_values(steward, record_id, pair_id):
    assert steward.annotate(record_id, "topics", ["math", "code"])["value"] == ["math", "code"]
    assert steward.annotate(record_id, "quality", {"helpful": 4, "honest": 0})["value"]["honest"] == 0
    span = [{"message": 0, "start": 9, "end": 24, "label": "EMAIL"}]
    assert steward.annotate(record_id, "pii", span)["value"] == span
    ranking = {"ranking": [[1], [0]], "rationale": "The second is rude."}
    assert steward.annotate(pair_id, "preference", ranking)["value"] == ranking
    tie = steward.post(f"/api/v1/records/{pair_id}/annotations", {"question": "preference", "value": {"ranking": [[0, 1]]}})
    assert tie.status_code == 422 and "rationale is required" in tie.json()["error"]["message"]


def test_a_named_guideline_version_must_exist(steward, record_id):
    response = steward.post(
        f"/api/v1/records/{record_id}/annotations", {"question": "safety", "value": "safe", "guideline_version": 7}
    )
    assert response.status_code == 422 and "guideline version 7" in response.json()["error"]["message"]


def test_disagreements_are_kept_side_by_side(actors, record_id):
    first, second = actors(Role.ANNOTATOR, "a1"), actors(Role.ANNOTATOR, "a2")
    first.annotate(record_id, "safety", "safe")
    second.annotate(record_id, "safety", "unsafe")
    listed = first.ok(first.get(f"/api/v1/records/{record_id}/annotations"))
    assert sorted((a["annotator"], a["value"]) for a in listed) == [("a1", "safe"), ("a2", "unsafe")]


def test_an_edit_is_a_new_revision_and_the_old_value_stays_in_history(actors, steward, dataset, record_id):
    annotator = actors(Role.ANNOTATOR)
    made = annotator.annotate(record_id, "response", "first draft")
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": "v2"}), 201)
    edited = annotator.ok(
        annotator.patch(f"/api/v1/annotations/{made['id']}", {"base_revision": 1, "value": "second draft", "reason": "typo"})
    )
    assert (edited["revision"], edited["value"], edited["guideline_version"]) == (2, "second draft", 2)
    history = annotator.ok(annotator.get(f"/api/v1/annotations/{made['id']}/history"))["revisions"]
    assert [(r["revision"], r["value"], r["reason"]) for r in history] == [(1, "first draft", None), (2, "second draft", "typo")]
    assert history[1]["previous_sha256"] == history[0]["sha256"]
    assert history[0]["previous_sha256"] is None
    assert {"revision", "actor", "source", "guideline_version", "created_at", "value", "status", "reason"} <= set(history[0])


def test_a_stale_edit_is_409_with_the_current_revision_and_loses_nothing(actors, record_id):
    annotator = actors(Role.ANNOTATOR)
    made = annotator.annotate(record_id, "response", "one")
    path = f"/api/v1/annotations/{made['id']}"
    annotator.ok(annotator.patch(path, {"base_revision": 1, "value": "two", "reason": "better"}))
    stale = annotator.patch(path, {"base_revision": 1, "value": "three", "reason": "also better"})
    assert stale.status_code == 409
    current = stale.json()["error"]["details"]["current"]
    assert (current["revision"], current["value"]) == (2, "two")
    assert annotator.ok(annotator.get(path))["value"] == "two"


def test_an_edit_must_change_something_and_give_a_reason(actors, record_id):
    annotator = actors(Role.ANNOTATOR)
    made = annotator.annotate(record_id, "response", "one")
    path = f"/api/v1/annotations/{made['id']}"
    assert annotator.patch(path, {"base_revision": 1, "reason": "nothing"}).status_code == 422
    assert annotator.patch(path, {"base_revision": 1, "value": "two"}).status_code == 422
    invalid = annotator.patch(path, {"base_revision": 1, "value": "", "reason": "blank"})
    assert invalid.status_code == 422 and "response" in invalid.json()["error"]["message"]


def test_annotators_edit_only_their_own_work(actors, record_id):
    owner, other = actors(Role.ANNOTATOR, "owner"), actors(Role.ANNOTATOR, "other")
    made = owner.annotate(record_id, "safety", "safe")
    response = other.patch(f"/api/v1/annotations/{made['id']}", {"base_revision": 1, "value": "unsafe", "reason": "no"})
    assert response.status_code == 403


def test_reviews_are_revisions_and_nobody_reviews_their_own(actors, steward, record_id):
    annotator, reviewer = actors(Role.ANNOTATOR), actors(Role.REVIEWER)
    made = annotator.annotate(record_id, "safety", "safe")
    path = f"/api/v1/annotations/{made['id']}/reviews"
    assert annotator.post(path, {"base_revision": 1, "decision": "accept"}).status_code == 403
    reviewed = reviewer.ok(reviewer.post(path, {"base_revision": 1, "decision": "reject", "comment": "it is unsafe"}), 201)
    assert (reviewed["revision"], reviewed["status"], reviewed["value"]) == (2, "rejected", "safe")
    assert reviewer.post(path, {"base_revision": 1, "decision": "accept"}).status_code == 409
    own = steward.annotate(record_id, "safety", "unsafe")
    assert steward.post(f"/api/v1/annotations/{own['id']}/reviews", {"base_revision": 1, "decision": "accept"}).status_code == 403
    history = reviewer.ok(reviewer.get(f"/api/v1/annotations/{made['id']}/history"))["revisions"]
    assert (history[1]["actor"], history[1]["reason"]) == ("reviewer", "it is unsafe")


def test_changing_a_reviewed_value_sends_it_back_for_review(actors, record_id):
    annotator, reviewer = actors(Role.ANNOTATOR), actors(Role.REVIEWER)
    made = annotator.annotate(record_id, "safety", "safe")
    reviewer.ok(reviewer.post(f"/api/v1/annotations/{made['id']}/reviews", {"base_revision": 1, "decision": "accept"}), 201)
    edited = annotator.ok(
        annotator.patch(f"/api/v1/annotations/{made['id']}", {"base_revision": 2, "value": "unsafe", "reason": "re-read"})
    )
    assert edited["status"] == "submitted"


def test_authors_cannot_set_review_outcomes_themselves(actors, record_id):
    annotator = actors(Role.ANNOTATOR)
    response = annotator.post(f"/api/v1/records/{record_id}/annotations", {"question": "safety", "value": "safe", "status": "accepted"})
    assert response.status_code == 422


def test_roles_without_annotate_rights_are_refused(actors, record_id):
    for role in (Role.REVIEWER, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER):
        response = actors(role).post(f"/api/v1/records/{record_id}/annotations", {"question": "safety", "value": "safe"})
        assert response.status_code == 403, role


def test_the_stored_chain_recomputes_from_the_rows(actors, sessions, record_id):
    annotator, reviewer = actors(Role.ANNOTATOR), actors(Role.REVIEWER)
    made = annotator.annotate(record_id, "response", "draft")
    annotator.ok(annotator.patch(f"/api/v1/annotations/{made['id']}", {"base_revision": 1, "value": "final", "reason": "edit"}))
    reviewer.ok(reviewer.post(f"/api/v1/annotations/{made['id']}/reviews", {"base_revision": 2, "decision": "accept"}), 201)
    with transaction(sessions) as session:
        annotation = session.get_one(AnnotationRow, uuid.UUID(made["id"]))
        record = session.get_one(RecordRow, annotation.record_id)
        salt = session.get_one(DatasetRow, annotation.dataset_id).text_salt
        rows = session.scalars(
            select(RevisionRow).where(RevisionRow.annotation_id == annotation.id).order_by(RevisionRow.revision)
        ).all()
    assert [row.kind for row in rows] == ["create", "edit", "review"]
    previous = None
    for row in rows:
        assert row.previous_sha256 == previous
        stored = {column: getattr(row, column) for column in _HASHED_COLUMNS}
        recomputed = revision_sha256(
            annotation_id=annotation.id, record_sha256=record.content_sha256, question=annotation.question,
            previous_sha256=previous, salt=salt, **stored,
        )
        assert row.sha256 == recomputed
        previous = row.sha256


_HASHED_COLUMNS = ("revision", "kind", "actor_id", "source", "guideline_version", "value", "status", "reason", "created_at")


def test_a_hidden_or_missing_annotation_is_404(actors):
    annotator = actors(Role.ANNOTATOR)
    response = annotator.get("/api/v1/annotations/01a201c3-1130-71c9-83b9-f34b2d41811d/history")
    assert response.status_code == 404
