"""Real public releases from ../shared/data (skipped where it is missing), on both backends."""

import pytest

from catalog.authz import Role
from tests.conftest import shared_file
from tests.support.builders import TEXT_SCHEMA
from tests.support.importing import RANKING_SCHEMA, import_file, records


@pytest.fixture
def steward(actors):
    return actors(Role.DATA_STEWARD)


def test_gpteacher_release_2_syncs_over_release_1(session, steward):
    v1, v2 = (shared_file("instruct", f"gpteacher_roleplay_v{n}.json") for n in (1, 2))
    dataset = steward.dataset("gpteacher-roleplay", TEXT_SCHEMA)
    first = import_file(session, steward.principal, dataset["id"], v1)
    assert (first.read, first.records_added, first.annotations_added, first.rejected) == (3146, 3146, 3146, 0)
    report = import_file(session, steward.principal, dataset["id"], v2, sync=True)
    assert (report.records_retired, report.records_added, report.annotations_revised) == (1225, 2, 283)
    assert (report.annotations_unchanged, report.rejected, report.conflicts) == (1638, 0, [])
    assert len(records(session, dataset["id"], active_only=True)) == 1923
    assert len(records(session, dataset["id"])) == 3148


def test_hh_rlhf_harmless_imports_every_pair_as_a_prompt_with_two_candidates(session, steward):
    path = shared_file("preference", "hh_rlhf_harmless_base_test.jsonl.gz")
    dataset = steward.dataset("hh-rlhf-harmless", RANKING_SCHEMA)
    report = import_file(session, steward.principal, dataset["id"], path, fmt="preference")
    assert (report.read, report.records_added, report.annotations_added, report.rejected) == (2312, 2312, 2312, 0)
    contents = [row.content for row in records(session, dataset["id"])]
    assert all(content["messages"][-1]["role"] == "user" for content in contents)
    assert all(len(content["candidates"]) == 2 for content in contents)
