"""A 500, should one still happen: answered with the error body, logged as a request line,
audited as a 4xx is, and the keep-alive connection goes on serving."""

import json

import pytest
from sqlalchemy import select

import catalog.datasets.service
from catalog.core.models import AuditEntryRow
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA


def broken(*_args, **_kwargs):
    raise RuntimeError("secret detail")


@pytest.fixture
def steward(actors):
    return actors(Role.DATA_STEWARD)


def test_an_unexpected_error_is_a_logged_and_audited_500(steward, session, monkeypatch, capsys):
    monkeypatch.setattr(catalog.datasets.service, "create_dataset", broken)
    capsys.readouterr()
    response = steward.post("/api/v1/datasets", {"name": "x", "label_schema": TEXT_SCHEMA})
    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "INTERNAL", "message": f"internal error (request id {request_id})"}}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "request" and line.get("request_id") == request_id]
    assert [(line["method"], line["status"]) for line in requests] == [("POST", 500)]
    entry = session.scalars(select(AuditEntryRow).where(AuditEntryRow.request_id == request_id)).one()
    assert (entry.outcome, entry.actor_name, entry.details["status"], entry.details["code"]) == (
        "failed", "data_steward", 500, "INTERNAL",
    )
    assert "secret" not in json.dumps(entry.details) and "secret" not in response.text


def test_a_failed_read_that_was_not_refused_is_not_audited(steward, session, monkeypatch):
    monkeypatch.setattr(catalog.datasets.service, "list_datasets", broken)
    response = steward.get("/api/v1/datasets")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert session.scalars(select(AuditEntryRow).where(AuditEntryRow.request_id == request_id)).all() == []
