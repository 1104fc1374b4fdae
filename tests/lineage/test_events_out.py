"""Every job the catalog runs (import, masking, release, erasure) goes out as a START and a
COMPLETE or FAIL event under one runId, valid by the OpenLineage spec's JSON Schemas and by
labeltrail's own facet schema, named after OpenLineage's conventions, and free of record text."""

import json
from datetime import timedelta

import pytest
from jsonschema import ValidationError
from referencing.exceptions import Unresolvable

from catalog.core.principal import Role
from lineage.delivery import ALL, Delivery, deliver_due
from lineage.facets import provenance
from tests.support.builders import TEXT_SCHEMA, chat_record, undone
from tests.support.importing import alpaca, jsonl, write_lines
from tests.support.lineage_out import MemoryTransport, check_event, memory_client

NAMESPACE = "labeltrail://catalog.example.com:8443"
SUBJECT = "s-ada-4711"
EMAIL = "ada.subject@example.com"
ANNOTATOR = "annotator-zed"


def deliver(sessions) -> list[dict]:
    transport = MemoryTransport()
    deliver_due(sessions, Delivery(memory_client(transport), NAMESPACE, timedelta(hours=1)), limit=ALL)
    return transport.events


def runs(events: list[dict]) -> dict[str, list[dict]]:
    """Events by job name, in the order they went out."""
    found: dict[str, list[dict]] = {}
    for event in events:
        found.setdefault(event["job"]["name"], []).append(event)
    return found


def output(event: dict, *, tagged: bool = False) -> dict:
    return next(o for o in event["outputs"] if ("version" in o["facets"]) == tagged)


@pytest.fixture(scope="module")
def world(module_actors) -> dict:
    """Each kind of job once: records masked, a release, an import over REST, an erasure.

    Built once per module; each test runs in a savepoint over it that is rolled back (``sessions``)."""
    actors = module_actors
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("chat", TEXT_SCHEMA, description="Support chats", purpose="SFT for support answers")
    ids = steward.records(
        dataset["id"],
        chat_record(f"Reach me at {EMAIL}", metadata={"subject_id": SUBJECT, "language": "en", "split": "train"}),
        chat_record("What is 2 + 2?", metadata={"split": "test"}),
    )
    actors(Role.ANNOTATOR, ANNOTATOR, on=[dataset["id"]]).annotate(ids[1], "response", "Four, Ada.")
    release = steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    url = f"/api/v1/datasets/{dataset['id']}/imports?format=alpaca&file_name=upstream.jsonl"
    steward.ok(steward.client.post(url, content=jsonl(alpaca("Say hi", "Hi!")), headers=steward.headers), 201)
    steward.ok(steward.client.delete(f"/api/v1/subjects/{SUBJECT}", params={"reason": "DSR-1"}, headers=steward.headers))
    return {"dataset": dataset, "release": release, "steward": steward}


@pytest.fixture(autouse=True)  # every test, even one that asks only for the world: the callers in it write
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def steward(world):
    return world["steward"]


def test_every_job_goes_out_as_start_then_complete_valid_by_the_spec(sessions, world):
    events = deliver(sessions)
    by_job = runs(events)
    assert set(by_job) == {"pii.masking", "chat.release", "chat.import", "pii.erasure"}
    for job, [start, end] in by_job.items():
        assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE"), job
        assert start["run"]["runId"] == end["run"]["runId"]
        assert start["job"]["namespace"] == NAMESPACE
        assert end["job"]["facets"]["jobType"]["jobType"] == job.rsplit(".", 1)[1].upper()
    for event in events:
        check_event(event)  # the spec's RunEvent, and every facet by the schema its _schemaURL names


def test_a_release_is_the_dataset_in_the_catalog_namespace_with_its_tag_as_version(sessions, world):
    [start, end] = runs(deliver(sessions))["chat.release"]
    released = output(end, tagged=True)
    assert (released["namespace"], released["name"]) == (NAMESPACE, "chat")
    assert released["facets"]["version"]["datasetVersion"] == "v1"
    assert released["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"
    assert end["inputs"] == [{"namespace": NAMESPACE, "name": "chat", "facets": {}, "inputFacets": {}}]
    facet = released["facets"][provenance.KEY]
    assert facet["_schemaURL"] == f"{provenance.SCHEMA_ID}#/$defs/LabeltrailProvenanceDatasetFacet"
    assert facet["release"] == {"id": world["release"]["id"], "tag": "v1", "root": world["release"]["root"], "overridden": False}
    assert facet["labels"] == {"bySource": {"human": 1}, "guidelineVersions": {"(none)": 1}, "annotators": 1}
    assert facet["profile"]["records"] == 2 and facet["profile"]["splits"]["test"] == 1
    assert released["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert released["facets"]["dataSource"]["uri"] == NAMESPACE
    assert released["facets"]["documentation"]["description"] == "Support chats"
    assert released["facets"]["ownership"]["owners"] == [{"name": "user:stew", "type": "CREATOR"}]


def test_masked_text_is_column_lineage_from_the_raw_text_with_masking_set(sessions, world):
    by_job = runs(deliver(sessions))
    for job, fields in (("pii.masking", {"messages.content", "candidates", "metadata"}),
                        ("chat.release", {"messages.content", "candidates", "metadata", "labels"})):  # fmt: skip
        lineage = output(by_job[job][1], tagged=job == "chat.release")["facets"]["columnLineage"]["fields"]
        assert set(lineage) == fields
        for field, derived in lineage.items():
            [source] = derived["inputFields"]
            assert (source["namespace"], source["name"], source["field"]) == (NAMESPACE, "chat", field)
            assert [t["masking"] for t in source["transformations"]] == [True]


def test_an_erasure_overwrites_the_dataset_and_the_releases_holding_the_subject(sessions, world):
    [_, end] = runs(deliver(sessions))["pii.erasure"]
    dataset, release = output(end), output(end, tagged=True)
    assert dataset["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"
    assert dataset["facets"][provenance.KEY]["changes"] == {"recordsErased": 1}
    assert release["facets"]["version"]["datasetVersion"] == "v1"
    assert release["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"


def test_events_carry_counts_and_names_never_text_subjects_or_annotators(sessions, world):
    sent = json.dumps(deliver(sessions))
    for secret in (EMAIL, "Reach me at", "Four, Ada.", "Say hi", SUBJECT, ANNOTATOR, "DSR-1"):
        assert secret not in sent


def test_an_import_that_failed_after_committing_goes_out_as_fail(tmp_path, sessions, cli, steward):
    """Into a dataset of its own, so that the import's events are this one's alone."""
    dataset = steward.dataset("upstream", TEXT_SCHEMA)
    steward.records(dataset["id"], {**chat_record("Taken"), "external_id": "taken"})
    path = write_lines(tmp_path / "upstream.jsonl", alpaca("Fine", id="fresh"), alpaca("Clash", id="taken"))
    assert cli("import", path, "--dataset", "upstream", "--format", "alpaca", "--batch-size", 1).exit_code == 2
    [start, end] = runs(deliver(sessions))["upstream.import"]
    assert (start["eventType"], end["eventType"]) == ("START", "FAIL")
    assert end["run"]["facets"]["errorMessage"]["message"] == "import failed: Conflict"
    assert start["inputs"][0] | {"namespace": "file", "name": "upstream.jsonl"} == start["inputs"][0]
    assert output(end)["facets"][provenance.KEY]["changes"]["recordsAdded"] == 1
    for event in (start, end):
        check_event(event)


def test_the_check_refuses_what_breaks_the_spec(sessions, world):
    """The schemas bite: a facet off its schema, a time without its zone, a facet no schema names."""
    [_, end] = runs(deliver(sessions))["chat.release"]
    broken_facet = json.loads(json.dumps(end))
    output(broken_facet, tagged=True)["facets"]["version"]["datasetVersion"] = 1
    broken_time = {**end, "eventTime": "2026-12-02T10:00:00"}
    unknown = json.loads(json.dumps(end))
    output(unknown, tagged=True)["facets"]["version"]["_schemaURL"] = "https://example.com/Unknown.json#/$defs/X"
    for event in (broken_facet, broken_time):
        with pytest.raises(ValidationError):
            check_event(event)
    with pytest.raises(Unresolvable):
        check_event(unknown)
