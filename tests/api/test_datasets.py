"""Datasets and versioned guidelines over REST."""

import hashlib

from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA


def test_a_steward_creates_a_dataset_with_its_origin_and_schema(actors):
    steward = actors(Role.DATA_STEWARD)
    created = steward.dataset(
        "roleplay",
        TEXT_SCHEMA,
        description="Roleplay prompts",
        purpose="SFT",
        origin={"source": "teknium1/GPTeacher", "method": "download", "licence": "MIT"},
        legal_basis="legitimate interest",
        task_types=["sft"],
    )
    fetched = steward.ok(steward.get(f"/api/v1/datasets/{created['id']}"))
    assert fetched == created
    assert fetched["origin"]["licence"] == "MIT"
    assert fetched["created_by"] == "data_steward"
    assert fetched["label_schema"]["questions"][0]["kind"] == "text"


def test_dataset_names_are_unique(actors):
    steward = actors(Role.DATA_STEWARD)
    steward.dataset("same", TEXT_SCHEMA)
    response = steward.post("/api/v1/datasets", {"name": "same", "label_schema": TEXT_SCHEMA})
    assert response.status_code == 409
    assert "already exists" in response.json()["error"]["message"]


def test_a_bad_label_schema_is_422_naming_the_problem(actors):
    steward = actors(Role.DATA_STEWARD)
    schema = {"questions": [{"name": "q", "kind": "label", "options": []}]}
    response = steward.post("/api/v1/datasets", {"name": "bad", "label_schema": schema})
    assert response.status_code == 422
    assert "options" in response.json()["error"]["message"]
    duplicate = {"questions": [{"name": "q", "kind": "text"}, {"name": "q", "kind": "text"}]}
    response = steward.post("/api/v1/datasets", {"name": "bad", "label_schema": duplicate})
    assert "unique" in response.json()["error"]["message"]


def test_only_roles_that_manage_data_create_datasets(actors):
    for role in (Role.ANNOTATOR, Role.REVIEWER, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER):
        response = actors(role).post("/api/v1/datasets", {"name": f"x-{role}", "label_schema": TEXT_SCHEMA})
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "FORBIDDEN"


def test_listing_is_cursor_paginated(actors):
    steward = actors(Role.DATA_STEWARD)
    made = [steward.dataset(f"ds{i}", TEXT_SCHEMA)["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = steward.ok(steward.get("/api/v1/datasets", params={"limit": 2, **({"cursor": cursor} if cursor else {})}))
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_a_bad_cursor_is_422(actors):
    steward = actors(Role.DATA_STEWARD)
    response = steward.get("/api/v1/datasets", params={"cursor": "!!"})
    assert response.status_code == 422


def test_an_unknown_dataset_is_404(actors):
    steward = actors(Role.DATA_STEWARD)
    response = steward.get("/api/v1/datasets/01a201c3-1130-71c9-83b9-f34b2d41811d")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_guidelines_are_numbered_versions_that_never_change(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("g", TEXT_SCHEMA)
    path = f"/api/v1/datasets/{dataset['id']}/guidelines"
    first = steward.ok(steward.post(path, {"text": "Be kind."}), 201)
    second = steward.ok(steward.post(path, {"text": "Be kind and brief."}), 201)
    assert (first["version"], second["version"]) == (1, 2)
    assert first["sha256"] == hashlib.sha256(b"Be kind.").hexdigest()
    listed = steward.ok(steward.get(path))
    assert [g["version"] for g in listed] == [1, 2]
    assert listed[0]["text"] == "Be kind." and listed[0]["author"] == "data_steward"


def test_annotators_may_read_but_not_write_guidelines(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("g2", TEXT_SCHEMA)
    annotator = actors(Role.ANNOTATOR)
    path = f"/api/v1/datasets/{dataset['id']}/guidelines"
    assert annotator.post(path, {"text": "mine"}).status_code == 403
    assert annotator.get(path).status_code == 200
