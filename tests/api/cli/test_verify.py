"""`labeltrail verify` proves the provenance intact, and catches rows changed behind its back."""

import re

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import api.cli.main
import api.cli.support
from catalog.core.principal import Role
from tests.support.builders import chat_record, undone


@pytest.fixture
def verify(monkeypatch, sessions, settings):
    monkeypatch.setattr(api.cli.support, "sessions", lambda: sessions)
    monkeypatch.setattr(api.cli.support, "current_settings", lambda: settings)
    return lambda: CliRunner().invoke(api.cli.main.app, ["verify"])


@pytest.fixture(scope="module")
def chained(module_actors) -> dict:
    """One record whose annotation has three revisions: created, edited, reviewed; built once per
    module and backend, with the steward who made it."""
    steward = module_actors(Role.DATA_STEWARD)
    dataset = steward.dataset("v")
    annotator, reviewer = module_actors(Role.ANNOTATOR), module_actors(Role.REVIEWER)
    [record_id] = steward.records(dataset["id"], chat_record("Hello"))
    made = annotator.annotate(record_id, "response", "first")
    path = f"/api/v1/annotations/{made['id']}"
    annotator.ok(annotator.patch(path, {"base_revision": 1, "value": "second", "reason": "better"}))
    reviewer.ok(reviewer.post(f"{path}/reviews", {"base_revision": 2, "decision": "accept"}), 201)
    return {"steward": steward, "record": record_id, "annotation": made["id"]}


@pytest.fixture
def sessions(module_sessions, chained):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def chain(chained, sessions) -> dict:
    """The record and its annotation, in this test's savepoint."""
    return {"record": chained["record"], "annotation": chained["annotation"]}


def tamper(sessions, sql: str, **params) -> None:
    with sessions() as session:
        session.execute(text(sql), params)
        session.commit()


def _id(value: str, engine) -> str:
    """How the column stores a UUID: native on PostgreSQL, 32 hex digits on SQLite."""
    return value if engine.dialect.name == "postgresql" else value.replace("-", "")


def test_an_untouched_catalog_verifies(verify, chain):
    result = verify()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("intact: 1 records, 1 annotations, 3 revisions, ")
    assert re.search(r", \d+ audit entries, \d+ seals$", result.stdout.strip())


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE annotation_revisions SET value = '\"forged\"' WHERE annotation_id = :a AND revision = 2",
            "revision 2: its content does not match its sha256",
        ),
        (
            "UPDATE annotation_revisions SET status = 'accepted' WHERE annotation_id = :a AND revision = 1",
            "revision 1: its content does not match its sha256",
        ),
        (
            "DELETE FROM annotation_revisions WHERE annotation_id = :a AND revision = 2",
            "revision 3: expected revision 2",
        ),
        (
            "UPDATE annotation_revisions SET revision = revision + 10 WHERE annotation_id = :a AND revision = 1",
            "revision 2: expected revision 1",
        ),
        (
            "UPDATE annotation_revisions SET previous_sha256 = NULL WHERE annotation_id = :a AND revision = 3",
            "revision 3: previous_sha256 does not match",
        ),
    ],
    ids=["value-edited", "status-edited", "middle-deleted", "reordered", "link-cut"],
)
def test_a_revision_changed_behind_the_applications_back_is_named(verify, sessions, engine, chain, sql, expected):
    tamper(sessions, sql, a=_id(chain["annotation"], engine))
    result = verify()
    assert result.exit_code == 1
    assert f"annotation {chain['annotation']}" in result.stderr and expected in result.stderr


def test_a_record_whose_text_was_edited_is_named(verify, sessions, engine, chain):
    content = '{"messages": [{"role": "user", "content": "Hello!"}]}'
    tamper(sessions, "UPDATE records SET content = :c WHERE id = :r", c=content, r=_id(chain["record"], engine))
    result = verify()
    assert result.exit_code == 1
    assert f"record {chain['record']}: its content does not match" in result.stderr


@pytest.fixture
def released(chained, chain):
    steward = chained["steward"]
    dataset_id = steward.ok(steward.get(f"/api/v1/records/{chain['record']}"))["dataset_id"]
    steward.ok(steward.post(f"/api/v1/datasets/{dataset_id}/releases", {"tag": "v1"}), 201)
    return chain


def test_an_untouched_release_verifies(verify, released):
    result = verify()
    assert result.exit_code == 0, result.output
    assert ", 1 releases, " in result.stdout


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE release_records SET split = CASE WHEN split = 'test' THEN 'train' ELSE 'test' END",
            "leaf 0 does not hash to its recorded leaf_sha256",
        ),
        ("DELETE FROM release_revisions", "leaf 0 does not hash to its recorded leaf_sha256"),
        (f"UPDATE releases SET root = '{'ab' * 32}'", "the manifest does not hash to the release's root"),
        ("UPDATE release_records SET position = 7", "should hold 1 leaves at positions 0..0"),
    ],
    ids=["split-moved", "label-dropped", "root-replaced", "leaf-moved"],
)
def test_a_release_changed_behind_the_applications_back_is_named(verify, sessions, released, sql, expected):
    tamper(sessions, sql)
    result = verify()
    assert result.exit_code == 1
    assert "release v1 of dataset" in result.stderr and expected in result.stderr
