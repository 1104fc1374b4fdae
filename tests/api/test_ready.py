"""``/ready``: the schema, the database and the masking backlog, 200 only when the app can serve;
and the app's start-up, which refuses a schema that is not the code's however it is served."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from catalog.core import migrate
from catalog.core.db import make_engine
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA

HEAD = migrate.head()
BEHIND = migrate._scripts().get_revision(HEAD).down_revision


def backlog(client) -> dict:
    return client.get("/ready").json()["masking"]


def test_ready_reports_the_schema_the_database_and_what_masking_has_left(client, actors, engine, settings):
    before = backlog(client)
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("ready", TEXT_SCHEMA)
    lines = "\n".join(json.dumps({"instruction": f"Say hi {n}", "output": "Hi!"}) for n in range(3))
    imports = f"/api/v1/datasets/{dataset['id']}/imports?format=alpaca"
    steward.ok(client.post(imports, content=lines, headers=steward.headers), 201)

    response = client.get("/ready")  # no key
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "database": {"backend": engine.dialect.name, "reachable": True},
        "schema_revision": {"current": HEAD, "head": HEAD, "matches": True},
        "masking": {
            "pending_records": before["pending_records"] + 3,  # imported records wait for the worker
            "pending_revisions": before["pending_revisions"] + 3,  # and so do their imported answers
        },
    }
    assert str(engine.url.database) not in response.text and settings.database_url not in response.text
    steward.mask()
    assert backlog(client) == before


@pytest.fixture
def app_on(empty_database_url, settings) -> Iterator:
    """An app on a database of the test's own, migrated as far as the test says."""
    made = []

    def build(revision: str | None = None, stamp: str | None = None):
        if revision:
            migrate.upgrade(empty_database_url, revision)
        if stamp:  # a revision this code does not know: the database was migrated by newer code
            engine = make_engine(empty_database_url)
            with engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = :stamp"), {"stamp": stamp})
            engine.dispose()
        made.append(create_app(settings.model_copy(update={"database_url": empty_database_url})))
        return made[-1]

    yield build
    for app in made:
        app.state.sessions.kw["bind"].dispose()


@pytest.mark.parametrize(
    ("revision", "stamp", "current", "problem"),
    [
        (None, None, None, "no labeltrail schema"),
        (BEHIND, None, BEHIND, f"at revision {BEHIND}, behind the code's {HEAD}"),
        ("head", "9999", "9999", "which this code does not know"),
    ],
    ids=["never-migrated", "behind", "ahead"],
)
def test_a_schema_that_is_not_the_codes_is_not_ready_and_the_app_does_not_start(
    app_on, revision, stamp, current, problem
):
    app = app_on(revision, stamp)
    response = TestClient(app).get("/ready")  # no lifespan: a server that started some other way
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready" and body["database"]["reachable"] is True
    assert body["schema_revision"] == {"current": current, "head": HEAD, "matches": False}
    assert body["masking"] is None
    with pytest.raises(migrate.SchemaNotReady, match=problem), TestClient(app):  # start-up runs the lifespan
        pass


def test_a_schema_at_the_head_lets_the_app_start(app_on):
    with TestClient(app_on("head")) as client:
        assert client.get("/ready").status_code == 200
        assert client.get("/health").json() == {"status": "ok"}


def test_a_database_that_does_not_answer_is_not_ready_and_its_url_is_not_told(settings, capsys):
    url = "postgresql+psycopg://labeltrail:hunter2@127.0.0.1:9/nowhere"  # nothing listens on port 9
    app = create_app(settings.model_copy(update={"database_url": url}))
    response = TestClient(app).get("/ready")
    assert response.status_code == 503
    assert response.json()["database"] == {"backend": "postgresql", "reachable": False}
    assert "hunter2" not in response.text and "127.0.0.1" not in response.text
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [request] = [line for line in logged if line["event"] == "request"]
    assert (request["status"], request["level"]) == (503, "warning")  # a probe's poll is no error
    assert not any("hunter2" in json.dumps(line) for line in logged)
    app.state.sessions.kw["bind"].dispose()
