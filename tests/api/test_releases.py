"""Releases: cut, read, recompute from the manifest, gates, and who may do what."""

import hashlib
import json

import pytest

from catalog.authz import Role
from tests.support.builders import FULL_SCHEMA, TEXT_SCHEMA, chat_record


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
