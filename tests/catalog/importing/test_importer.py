"""Imports on SQLite and PostgreSQL: records with imported annotations, rejected lines, whole
batches, --sync against a new upstream release, and the REST endpoint."""

import gzip
from dataclasses import dataclass, replace

import pytest

from catalog.core.db import transaction
from catalog.core.errors import Conflict, Forbidden, InvalidInput
from catalog.core.principal import Role
from tests.support.builders import FULL_SCHEMA, TEXT_SCHEMA, Caller, undone
from tests.support.importing import (
    LABEL_SCHEMA,
    RANKING_SCHEMA,
    alpaca,
    annotation_count,
    annotation_of,
    history_of,
    import_file,
    jsonl,
    prompts,
    record_by_prompt,
    records,
    write_lines,
)


@dataclass
class World:
    """The steward and its "sft" dataset with guidelines v1 and v2: built once per module and backend."""

    steward: Caller
    dataset: dict


@pytest.fixture(scope="module")
def world(module_actors) -> World:
    steward = module_actors(Role.DATA_STEWARD, "steward")
    dataset = steward.dataset("sft", TEXT_SCHEMA)
    for text in ("v1", "v2"):
        steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": text}), 201)
    return World(steward, dataset)


@pytest.fixture
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def steward(world, client) -> Caller:
    """The world's steward, calling through this test's client (a test may change its app's settings)."""
    return replace(world.steward, client=client)


@pytest.fixture
def dataset(sessions, world) -> dict:
    return world.dataset


@pytest.fixture
def run(session, steward, dataset):
    """Import a file into the dataset as the steward."""
    return lambda path, **options: import_file(session, steward.principal, dataset["id"], path, **options)


# --- a plain import -----------------------------------------------------------------------


def test_each_item_becomes_a_record_with_one_imported_annotation(tmp_path, session, steward, dataset, run):
    report = run(write_lines(tmp_path / "v1.jsonl", alpaca("Say hi", "Hi!"), alpaca("Add", "2", input="1 + 1")))
    assert (report.read, report.records_added, report.annotations_added, report.rejected) == (2, 2, 2, 0)
    assert prompts(session, dataset["id"]) == ["Add\n\n1 + 1", "Say hi"]
    annotation = annotation_of(session, steward.principal, record_by_prompt(session, dataset["id"], "Say hi"))
    assert (annotation.question, annotation.value, annotation.revision) == ("response", "Hi!", 1)
    assert annotation.source.model_dump(exclude_none=True) == {"kind": "import", "file": "v1.jsonl"}
    assert (annotation.status, annotation.guideline_version, annotation.annotator) == ("submitted", 2, "steward")


def test_an_item_without_a_response_becomes_a_record_without_annotations(tmp_path, session, dataset, run):
    report = run(write_lines(tmp_path / "f.jsonl", alpaca("Say hi", response=None)))
    assert (report.records_added, report.annotations_added) == (1, 0)
    assert annotation_count(session, dataset["id"]) == 0


def test_records_keep_the_items_id_and_metadata(tmp_path, session, dataset, run):
    run(write_lines(tmp_path / "f.jsonl", alpaca("Say hi", id="gt-1", metadata={"language": "en"})))
    [record] = records(session, dataset["id"])
    assert record.external_id == "gt-1"
    assert record.meta == {"task_type": "sft", "language": "en"}


def test_bad_lines_are_rejected_with_location_and_reason_and_good_lines_import(tmp_path, session, dataset, run):
    path = write_lines(
        tmp_path / "f.jsonl",
        alpaca("first"),
        "{not json",
        {"input": "no instruction"},
        alpaca("blank response", "   "),
        "",
        alpaca("last"),
    )
    report = run(path)
    assert (report.read, report.rejected, report.records_added) == (5, 3, 2)
    assert [e["location"] for e in report.errors] == ["line 2", "line 3", "line 4"]
    assert "not valid JSON" in report.errors[0]["reason"]
    assert "'instruction'" in report.errors[1]["reason"]
    assert "expected non-empty text" in report.errors[2]["reason"]
    assert prompts(session, dataset["id"]) == ["first", "last"]


def test_a_json_array_file_reports_rejections_by_item_number(tmp_path, run):
    path = tmp_path / "f.json"
    path.write_text('[{"instruction": "a", "output": "b"}, {"output": "no instruction"}]')
    report = run(path)
    assert report.records_added == 1
    assert report.errors == [{"location": "item 2", "reason": "missing text field 'instruction'"}]


def test_a_failing_batch_writes_nothing_and_earlier_batches_stay(tmp_path, sessions, session, steward, dataset):
    path = write_lines(
        tmp_path / "f.jsonl",
        alpaca("one", id="a"), alpaca("two", id="b"),
        alpaca("three", id="c"), alpaca("four", id="a"),
    )  # fmt: skip
    with pytest.raises(Conflict, match="external_id already used in this dataset: a"):
        with transaction(sessions) as cli_session:
            import_file(cli_session, steward.principal, dataset["id"], path, batch_size=2)
    assert prompts(session, dataset["id"]) == ["one", "two"]
    assert annotation_count(session, dataset["id"]) == 2


@pytest.mark.parametrize(
    ("fmt", "item", "expected"),
    [
        ("chat", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, "hello"),
        ("preference", {"prompt": "hi", "chosen": "hello", "rejected": "go away"}, {"ranking": [[0], [1]]}),
    ],
)
def test_each_format_lands_in_the_question_of_its_kind(tmp_path, session, steward, fmt, item, expected):
    questions = [*LABEL_SCHEMA["questions"], *RANKING_SCHEMA["questions"], *TEXT_SCHEMA["questions"]]
    dataset = steward.dataset(fmt, {"questions": questions})
    import_file(session, steward.principal, dataset["id"], write_lines(tmp_path / "f.jsonl", item), fmt=fmt)
    [record] = records(session, dataset["id"])
    annotation = annotation_of(session, steward.principal, record)
    assert annotation.value == expected
    assert annotation.question == ("preference" if fmt == "preference" else "response")


def test_a_preference_item_violating_the_ranking_question_is_rejected(tmp_path, session, steward):
    dataset = steward.dataset("pairs", FULL_SCHEMA)  # its ranking question requires a rationale
    path = write_lines(tmp_path / "f.jsonl", {"prompt": "hi", "chosen": "hello", "rejected": "go away"})
    report = import_file(session, steward.principal, dataset["id"], path, fmt="preference")
    assert report.records_added == 0
    assert "a rationale is required" in report.errors[0]["reason"]


@pytest.mark.parametrize(("fmt", "schema", "kind"), [("alpaca", LABEL_SCHEMA, "text"), ("preference", TEXT_SCHEMA, "ranking")])
def test_a_dataset_without_a_question_of_the_needed_kind_is_invalid_input(tmp_path, session, steward, fmt, schema, kind):
    dataset = steward.dataset("wrong", schema)
    path = write_lines(tmp_path / "f.jsonl", alpaca("x"))
    with pytest.raises(InvalidInput, match=f"the dataset has no {kind} question to hold {fmt} responses"):
        import_file(session, steward.principal, dataset["id"], path, fmt=fmt)
    assert records(session, dataset["id"]) == []


def test_a_named_question_of_another_kind_is_invalid_input(tmp_path, session, steward):
    dataset = steward.dataset("full", FULL_SCHEMA)
    path = write_lines(tmp_path / "f.jsonl", alpaca("x"))
    with pytest.raises(InvalidInput, match="'safety' is a label question"):
        import_file(session, steward.principal, dataset["id"], path, question="safety")


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER])
def test_roles_without_import_rights_are_forbidden(tmp_path, session, actors, dataset, role):
    path = write_lines(tmp_path / "f.jsonl", alpaca("x"))
    with pytest.raises(Forbidden, match="import:run"):
        import_file(session, actors(role).principal, dataset["id"], path)
    assert records(session, dataset["id"]) == []


# --- --sync -------------------------------------------------------------------------------


V1 = [alpaca("keep", "k1"), alpaca("change", "c1"), alpaca("drop", "d1")]
V2 = [alpaca("keep", "k1"), alpaca("change", "c2"), alpaca("new", "n1")]


@pytest.fixture
def released(tmp_path, run):
    """Release 1 imported; returns a function that syncs release 2 (or any lines given)."""
    run(write_lines(tmp_path / "v1.jsonl", *V1))
    return lambda *lines, **options: run(write_lines(tmp_path / "v2.jsonl", *(lines or V2)), sync=True, **options)


def annotation_on(session, steward, dataset, prompt):
    return annotation_of(session, steward.principal, record_by_prompt(session, dataset["id"], prompt))


def test_sync_adds_new_prompts_and_retires_missing_ones_without_deleting(session, dataset, released):
    report = released()
    assert (report.records_added, report.records_matched, report.records_retired) == (1, 2, 1)
    assert prompts(session, dataset["id"]) == ["change", "keep", "new"]
    dropped = record_by_prompt(session, dataset["id"], "drop")
    assert dropped.retired_at is not None
    assert dropped.retire_reason == "sync: no longer in v2.jsonl"


def test_sync_makes_a_changed_response_revision_2_of_the_imported_annotation(session, steward, dataset, released):
    assert released().annotations_revised == 1
    annotation = annotation_on(session, steward, dataset, "change")
    first, second = history_of(session, steward.principal, annotation.id)
    assert (first.value, second.value, second.revision) == ("c1", "c2", 2)
    assert second.previous_sha256 == first.sha256
    assert second.source.model_dump(exclude_none=True) == {"kind": "import", "file": "v2.jsonl"}
    assert annotation.source.file == "v1.jsonl"


def test_sync_leaves_unchanged_responses_alone(session, steward, dataset, released):
    assert released().annotations_unchanged == 1
    annotation = annotation_on(session, steward, dataset, "keep")
    assert (annotation.revision, annotation.value) == (1, "k1")


def test_sync_twice_changes_nothing_the_second_time(session, dataset, released):
    released()
    again = released()
    assert (again.records_added, again.records_retired, again.annotations_revised) == (0, 0, 0)
    assert (again.records_matched, again.annotations_unchanged) == (3, 3)
    assert len(records(session, dataset["id"])) == 4


def edit(caller, annotation, value):
    path = f"/api/v1/annotations/{annotation.id}"
    return caller.ok(caller.patch(path, {"base_revision": annotation.revision, "value": value, "reason": "fix"}))


def test_sync_does_not_overwrite_a_persons_edit_and_reports_the_conflict(session, actors, steward, dataset, released):
    annotation = annotation_on(session, steward, dataset, "change")
    edit(actors(Role.ADMIN, "editor"), annotation, "edited by hand")
    report = released()
    assert report.annotations_revised == 0
    [conflict] = report.conflicts
    assert (conflict["location"], conflict["annotation_id"]) == ("line 2", str(annotation.id))
    assert annotation_on(session, steward, dataset, "change").value == "edited by hand"


def test_sync_does_not_overwrite_a_reviewed_annotation_and_reports_it(session, actors, steward, dataset, released):
    annotation = annotation_on(session, steward, dataset, "change")
    reviewer = actors(Role.REVIEWER)
    review = {"base_revision": 1, "decision": "accept"}
    reviewer.ok(reviewer.post(f"/api/v1/annotations/{annotation.id}/reviews", review), 201)
    report = released()
    assert [c["record_id"] for c in report.conflicts] == [str(annotation.record_id)]
    current = annotation_on(session, steward, dataset, "change")
    assert (current.revision, current.value, current.status) == (2, "c1", "accepted")


@pytest.mark.parametrize(
    ("prompt", "by_hand", "unchanged_and_revised"),
    [("keep", "edited by hand", (1, 1)), ("change", "c2", (2, 0))],
    ids=["upstream-unchanged", "same-as-upstream"],
)
def test_a_persons_edit_is_no_conflict_when_upstream_did_not_change_or_agrees(
    session, actors, steward, dataset, released, prompt, by_hand, unchanged_and_revised
):
    edit(actors(Role.ADMIN, "editor"), annotation_on(session, steward, dataset, prompt), by_hand)
    report = released()
    assert report.conflicts == []
    assert (report.annotations_unchanged, report.annotations_revised) == unchanged_and_revised
    assert annotation_on(session, steward, dataset, prompt).value == by_hand


def test_sync_with_a_rejected_line_retires_nothing_and_says_why(session, dataset, released):
    report = released(*V2, "{broken")
    assert report.records_retired == 0 and report.records_added == 1
    assert "1 item(s) were rejected" in report.retirement_skipped
    assert "drop" in prompts(session, dataset["id"])


def test_a_prompt_twice_in_a_sync_file_is_rejected(session, dataset, released):
    report = released(*V2, alpaca("keep", "another answer"))
    assert report.errors == [{"location": "line 4", "reason": "the same prompt as line 1"}]
    assert report.records_retired == 0


def test_a_record_retired_by_sync_comes_back_as_a_new_record_when_its_prompt_returns(session, dataset, released):
    released()
    report = released(*V1)
    assert (report.records_added, report.records_retired) == (1, 1)
    drops = [r for r in records(session, dataset["id"]) if r.content["messages"][0]["content"] == "drop"]
    assert [r.retired_at is not None for r in drops] == [True, False]


def test_a_truncated_gzip_sync_is_refused_and_retires_nothing(tmp_path, session, dataset, released, run):
    before = prompts(session, dataset["id"])
    whole = gzip.compress(jsonl(*V2, *(alpaca(f"more {n}", "x" * 64) for n in range(300))))
    path = tmp_path / "v2.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InvalidInput, match="the file cannot be read past line"):
        run(path, sync=True)
    assert prompts(session, dataset["id"]) == before


# --- REST ---------------------------------------------------------------------------------


def post_import(caller, dataset, body: bytes, **params):
    return caller.client.post(
        f"/api/v1/datasets/{dataset['id']}/imports",
        params={"format": "alpaca", "file_name": "upload.jsonl", **params},
        content=body,
        headers=caller.headers,
    )


def listed(caller, dataset) -> list[str]:
    items = caller.ok(caller.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]
    return sorted(item["messages"][0]["content"] for item in items)


def test_rest_import_returns_the_report_with_201_and_the_records_are_readable(steward, dataset):
    response = post_import(steward, dataset, jsonl(alpaca("a"), "oops", alpaca("b")))
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["file"], report["records_added"], report["rejected"]) == ("upload.jsonl", 2, 1)
    assert report["errors"][0]["location"] == "line 2"
    assert listed(steward, dataset) == ["a", "b"]


def test_rest_import_reads_a_gzip_body(steward, dataset):
    response = post_import(steward, dataset, gzip.compress(jsonl(alpaca("a"), alpaca("b"))))
    assert response.status_code == 201 and response.json()["records_added"] == 2
    assert listed(steward, dataset) == ["a", "b"]


def test_rest_dry_run_reports_the_same_counts_and_writes_nothing(steward, dataset):
    body = jsonl(alpaca("a"), "oops", alpaca("b"))
    dry = steward.ok(post_import(steward, dataset, body, dry_run="true"), 201)
    assert listed(steward, dataset) == []
    real = steward.ok(post_import(steward, dataset, body), 201)
    assert {**dry, "dry_run": False} == real


def test_rest_dry_run_sync_reports_retirements_but_retires_nothing(steward, dataset):
    steward.ok(post_import(steward, dataset, jsonl(*V1)), 201)
    report = steward.ok(post_import(steward, dataset, jsonl(*V2), sync="true", dry_run="true"), 201)
    assert (report["records_retired"], report["records_added"], report["annotations_revised"]) == (1, 1, 1)
    assert listed(steward, dataset) == ["change", "drop", "keep"]


def test_rest_import_by_an_annotator_is_403_and_writes_nothing(actors, steward, dataset):
    response = post_import(actors(Role.ANNOTATOR), dataset, jsonl(alpaca("a")))
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert listed(steward, dataset) == []


def test_rest_import_with_an_unknown_format_is_422(steward, dataset):
    response = post_import(steward, dataset, jsonl(alpaca("a")), format="csv")
    assert response.status_code == 422 and "format" in response.json()["error"]["message"]


def test_rest_import_refuses_an_upload_over_the_limit_and_writes_nothing(steward, dataset):
    steward.client.app.state.settings.import_max_bytes = 100
    response = post_import(steward, dataset, jsonl(*[alpaca(f"prompt {n}") for n in range(10)]))
    assert response.status_code == 422
    assert "larger than the 100 bytes allowed" in response.json()["error"]["message"]
    assert listed(steward, dataset) == []


def test_syncing_an_empty_file_retires_nothing_and_says_why(tmp_path, session, dataset, run, released):
    report = run(write_lines(tmp_path / "empty.jsonl"), sync=True)
    assert report.records_retired == 0
    assert "holds no items" in report.retirement_skipped
    assert len(prompts(session, dataset["id"])) == 3


def test_every_conflict_is_counted_even_past_the_listed_ones(session, actors, steward, dataset, released):
    edit(actors(Role.ADMIN, "editor"), annotation_on(session, steward, dataset, "change"), "edited by hand")
    report = released()
    assert (report.conflicted, len(report.conflicts)) == (1, 1)


def test_sync_replaces_a_preference_record_whose_candidates_changed(tmp_path, session, steward):
    dataset = steward.dataset("pairs", RANKING_SCHEMA)
    pair = {"prompt": "Say hi", "chosen": "Hello!", "rejected": "Go away."}
    run = lambda name, *items: import_file(  # noqa: E731
        session, steward.principal, dataset["id"], write_lines(tmp_path / name, *items), fmt="preference", sync=True
    )
    run("v1.jsonl", pair)
    [old] = records(session, dataset["id"])
    report = run("v2.jsonl", {**pair, "rejected": "Leave me alone."})
    assert (report.records_replaced, report.records_added, report.records_retired) == (1, 1, 0)
    [new] = records(session, dataset["id"], active_only=True)
    assert new.id != old.id and new.content["candidates"] == ["Hello!", "Leave me alone."]
    [retired] = [row for row in records(session, dataset["id"]) if row.id == old.id]
    assert retired.retire_reason == "sync: its candidates changed in v2.jsonl"
