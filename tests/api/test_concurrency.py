"""Concurrent clients against a real server on a database of the test's own, on SQLite and
PostgreSQL: writers wait their turn, a lost race is the 409 it should be, and reads, audited or
not, never fail because another connection writes.

The assertions are on outcomes only (status counts), never on durations, and the loads are
bounded, so a loaded machine makes these tests slower, not flaky.
"""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

import catalog.datasets.service
from catalog.core.db import transaction
from catalog.core.models import AuditEntryRow, ReleaseRow
from catalog.core.principal import Role
from catalog.verification.service import verify
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.live import http_client

pytestmark = pytest.mark.slow

CLIENTS = 16
RAW_READS_EACH = 20  # 320 audited raw reads in all: bounded, whatever the machine


def all_at_once(count: int, work: Callable[[int], list[int]]) -> list[int]:
    """Run ``work(i)`` in ``count`` threads released together; every status they saw."""
    barrier = threading.Barrier(count, timeout=120)

    def started(i: int) -> list[int]:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return [status for statuses in pool.map(started, range(count)) for status in statuses]


def one_request(base_url: str, key: str, method: str, path: str, body=None) -> list[int]:
    """One request on a connection of its own."""
    with http_client(base_url, key) as client:
        return [client.request(method, path, json=body).status_code]


def audit_count(sessions, **where) -> int:
    with transaction(sessions) as session:
        stmt = select(func.count()).select_from(AuditEntryRow).filter_by(**where)
        return session.scalar(stmt)


@pytest.fixture
def records(live) -> list[str]:
    steward = live.actors(Role.DATA_STEWARD)
    dataset = steward.dataset("race", schema=TEXT_SCHEMA)
    return steward.records(dataset["id"], *(chat_record(f"prompt {i}, mail me at a{i}@example.com") for i in range(CLIENTS)))


def test_racing_edits_from_one_base_revision_make_one_200_and_the_rest_409(live, records):
    annotator = live.actors(Role.ANNOTATOR)
    made = annotator.annotate(records[0], "response", "first")
    path, racers = f"/api/v1/annotations/{made['id']}", 20

    def edit(i: int) -> list[int]:
        body = {"base_revision": 1, "value": f"edit {i}", "reason": f"racer {i}"}
        return one_request(live.base_url, annotator.key, "PATCH", path, body)

    failed_before = audit_count(live.sessions, outcome="failed")
    assert Counter(all_at_once(racers, edit)) == {200: 1, 409: racers - 1}
    assert annotator.ok(annotator.get(path))["revision"] == 2
    history = annotator.ok(annotator.get(f"{path}/history"))["revisions"]
    assert [(r["revision"], r["kind"]) for r in history] == [(1, "create"), (2, "edit")]  # no fork, no lost edit
    assert audit_count(live.sessions, outcome="failed") == failed_before + racers - 1  # every lost race audited


def test_two_releases_cut_at_once_are_numbered_apart_and_one_tag_is_taken_once(live, records):
    steward = live.actors(Role.DATA_STEWARD)
    dataset_id = steward.ok(steward.get("/api/v1/datasets"))["items"][0]["id"]
    url = f"/api/v1/datasets/{dataset_id}/releases"

    def cut(i: int) -> list[int]:  # two distinct tags, then the same one twice
        return one_request(live.base_url, steward.key, "POST", url, {"tag": ["a", "b", "c", "c"][i]})

    assert Counter(all_at_once(4, cut)) == {201: 3, 409: 1}
    with transaction(live.sessions) as session:
        made = session.execute(select(ReleaseRow.tag, ReleaseRow.number, ReleaseRow.root)).all()
    assert sorted(tag for tag, _, _ in made) == ["a", "b", "c"]
    assert len({number for _, number, _ in made}) == 3 and len({root for _, _, root in made}) == 1
    with transaction(live.sessions) as session:
        assert verify(session, live.settings.sealer()).releases == 3  # every cut verifies


def test_concurrent_creates_on_different_records_all_succeed(live, records):
    annotator = live.actors(Role.ANNOTATOR)

    def create(i: int) -> list[int]:
        return one_request(live.base_url, annotator.key, "POST", f"/api/v1/records/{records[i]}/annotations",
                           {"question": "response", "value": f"answer {i}"})  # fmt: skip

    assert Counter(all_at_once(CLIENTS, create)) == {201: CLIENTS}


def test_audited_raw_reads_under_load_get_no_5xx_and_each_is_audited(live, records):
    steward = live.actors(Role.DATA_STEWARD)
    reads_before = audit_count(live.sessions, action="text:read_raw")

    def read(i: int) -> list[int]:
        with http_client(live.base_url, steward.key) as client:  # one keep-alive connection per client
            return [client.get(f"/api/v1/records/{records[(i + n) % CLIENTS]}").status_code for n in range(RAW_READS_EACH)]

    assert Counter(all_at_once(CLIENTS, read)) == {200: CLIENTS * RAW_READS_EACH}
    assert audit_count(live.sessions, action="text:read_raw") == reads_before + CLIENTS * RAW_READS_EACH


def test_graphql_raw_reads_under_concurrent_writes_are_never_internal(live, records):
    steward, annotator = live.actors(Role.DATA_STEWARD), live.actors(Role.ANNOTATOR)
    query = "query($id: UUID!) { record(id: $id) { text messages { content } } }"
    codes: Counter = Counter()

    def work(i: int) -> list[int]:
        if i % 4 == 0:  # a writer beside every three readers
            body = {"question": "response", "value": f"answer {i}"}
            return one_request(live.base_url, annotator.key, "POST", f"/api/v1/records/{records[i]}/annotations", body)
        with http_client(live.base_url, steward.key) as client:
            answers = [client.post("/graphql", json={"query": query, "variables": {"id": records[(i + n) % CLIENTS]}})
                       for n in range(10)]  # fmt: skip
        codes.update(error["extensions"]["code"] for answer in answers for error in answer.json().get("errors", []))
        return [answer.status_code for answer in answers]

    statuses = Counter(all_at_once(CLIENTS, work))
    assert codes == Counter()
    assert statuses == {200: 12 * 10, 201: 4}


def test_a_500_leaves_the_keep_alive_connection_serving(live, monkeypatch):
    steward = live.actors(Role.DATA_STEWARD)

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog.datasets.service, "create_dataset", broken)  # the server runs in this process
    with http_client(live.base_url, steward.key) as client:
        failed = client.post("/api/v1/datasets", json={"name": "x", "label_schema": TEXT_SCHEMA})
        after = client.get("/api/v1/me")
    assert (failed.status_code, failed.json()["error"]["code"]) == (500, "INTERNAL")
    assert failed.headers.get("connection") != "close"
    assert after.status_code == 200
