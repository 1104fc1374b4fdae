"""PostgreSQL stopped under a running server, and started again: while it is down every request is
a clean 503 naming the cause, and once it is back the same server answers again, unrestarted."""

import pytest

from catalog.core import migrate
from catalog.core.principal import Role
from tests.conftest import TEST_MASKING, TEST_SEALER
from tests.support.builders import TEXT_SCHEMA, Actors
from tests.support.live import http_client, live_server, live_sessions, live_settings
from tests.support.own_postgres import own_postgres

pytestmark = pytest.mark.slow


def test_requests_are_503_while_postgresql_is_down_and_succeed_once_it_is_back():
    with own_postgres() as cluster:
        migrate.upgrade(cluster.url)
        settings = live_settings(cluster.url, TEST_SEALER.key.decode(), TEST_SEALER.every)
        sessions = live_sessions(settings)
        try:
            with live_server(settings) as base_url, http_client(base_url) as client:
                steward = Actors(sessions, client, TEST_MASKING)(Role.DATA_STEWARD)
                steward.dataset("before", TEXT_SCHEMA)
                assert steward.get("/api/v1/datasets").status_code == 200  # the pool holds connections now

                cluster.stop()
                down = [steward.get("/api/v1/datasets"), steward.post("/api/v1/datasets", {"name": "down", "label_schema": TEXT_SCHEMA}),
                        steward.post("/graphql", {"query": "{ datasets(first: 5) { edges { node { name } } } }"})]  # fmt: skip
                assert [answer.status_code for answer in down] == [503, 503, 503], [answer.text for answer in down]
                assert {answer.json()["error"]["code"] for answer in down} == {"UNAVAILABLE"}
                assert "database" in down[0].json()["error"]["message"]

                cluster.start()
                assert steward.get("/api/v1/datasets").status_code == 200  # stale pooled connections replaced
                steward.dataset("after", TEXT_SCHEMA)
                names = [d["name"] for d in steward.ok(steward.get("/api/v1/datasets"))["items"]]
                assert sorted(names) == ["after", "before"]  # what was refused while down never half-happened
        finally:
            sessions.kw["bind"].dispose()
