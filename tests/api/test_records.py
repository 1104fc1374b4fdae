"""Records over REST: all-or-nothing batches, immutability, metadata and pagination."""

from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, chat_record, pair_record


def test_records_are_added_and_read_back(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    conversation = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Bye"},
        ],
        "metadata": {"task_type": "chat", "language": "en", "split": "train", "team": "a"},
        "external_id": "conv-1",
    }
    [record_id] = steward.records(dataset["id"], conversation)
    record = steward.ok(steward.get(f"/api/v1/records/{record_id}"))
    assert record["messages"] == conversation["messages"]
    assert record["metadata"] == conversation["metadata"]
    assert record["external_id"] == "conv-1"
    assert record["candidates"] is None and record["retired_at"] is None
    assert len(record["content_sha256"]) == 64


def test_a_batch_with_one_bad_record_writes_nothing(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    bad = {"messages": [{"role": "robot", "content": "?"}]}
    response = steward.post(f"/api/v1/datasets/{dataset['id']}/records", {"records": [chat_record(), bad]})
    assert response.status_code == 422
    assert "records.1.messages.0.role" in response.json()["error"]["message"]
    assert steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"] == []


def test_a_duplicate_external_id_is_409_and_writes_nothing(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    steward.records(dataset["id"], chat_record(external_id="a"))
    response = steward.post(
        f"/api/v1/datasets/{dataset['id']}/records",
        {"records": [chat_record("new", external_id="b"), chat_record("again", external_id="a")]},
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"external_ids": ["a"]}
    listed = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]
    assert [r["external_id"] for r in listed] == ["a"]


def test_unknown_split_and_non_text_known_metadata_are_refused(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    for metadata, word in (({"split": "holdout"}, "split"), ({"language": 3}, "language")):
        response = steward.post(f"/api/v1/datasets/{dataset['id']}/records", {"records": [chat_record(metadata=metadata)]})
        assert response.status_code == 422 and word in response.json()["error"]["message"]


def test_identical_content_has_the_same_hash_and_different_content_does_not(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    ids = steward.records(dataset["id"], pair_record(), pair_record(), pair_record(candidates=("Hi!", "Hello!")))
    hashes = [steward.ok(steward.get(f"/api/v1/records/{i}"))["content_sha256"] for i in ids]
    assert hashes[0] == hashes[1] != hashes[2]


def test_record_pages_follow_insertion_order(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    ids = steward.records(dataset["id"], *[chat_record(f"q{i}") for i in range(7)])
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records", params=params))
        seen += [r["id"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ids


def test_annotators_read_records_but_cannot_add_them(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    annotator = actors(Role.ANNOTATOR)
    [record_id] = steward.records(dataset["id"], chat_record())
    assert annotator.get(f"/api/v1/records/{record_id}").status_code == 200
    response = annotator.post(f"/api/v1/datasets/{dataset['id']}/records", {"records": [chat_record()]})
    assert response.status_code == 403


def test_records_have_no_update_or_delete_route(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    [record_id] = steward.records(dataset["id"], chat_record())
    for method in ("PUT", "PATCH", "DELETE"):
        response = steward.client.request(method, f"/api/v1/records/{record_id}", headers=steward.headers, json={})
        assert response.status_code == 405


def test_a_retired_record_stays_readable_but_leaves_the_active_list(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("r", TEXT_SCHEMA)
    annotator = actors(Role.ANNOTATOR)
    [record_id, kept] = steward.records(dataset["id"], chat_record("old"), chat_record("new"))
    assert annotator.post(f"/api/v1/records/{record_id}/retire", {"reason": "x"}).status_code == 403
    retired = steward.ok(steward.post(f"/api/v1/records/{record_id}/retire", {"reason": "duplicate of another"}))
    assert retired["retired_at"] and retired["retire_reason"] == "duplicate of another"
    assert steward.post(f"/api/v1/records/{record_id}/retire", {"reason": "again"}).status_code == 409
    active = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]
    assert [r["id"] for r in active] == [kept]
    every = steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records", params={"include_retired": True}))
    assert len(every["items"]) == 2
    refused = steward.post(f"/api/v1/records/{record_id}/annotations", {"question": "response", "value": "late"})
    assert refused.status_code == 409 and "retired" in refused.json()["error"]["message"]
