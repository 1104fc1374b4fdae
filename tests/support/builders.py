"""Small typed helpers that build test data through the real services and the real API."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from catalog.access import service as principals
from catalog.access.policy import DATASET_ONLY_ROLES
from catalog.access.schemas import BindingIn, PrincipalCreate
from catalog.core.db import transaction
from catalog.core.models import DatasetRow
from catalog.core.principal import Principal, Role
from catalog.pii_gate.service import MaskRun
from catalog.pii_gate.worker import mask_all
from pii import ScannerConfig

TEXT_SCHEMA = {"questions": [{"name": "response", "kind": "text"}]}
FULL_SCHEMA = {
    "questions": [
        {"name": "response", "kind": "text"},
        {"name": "safety", "kind": "label", "options": ["safe", "unsafe"]},
        {"name": "topics", "kind": "label", "options": ["math", "code", "chat"], "multiple": True},
        {"name": "quality", "kind": "rating", "axes": [{"name": "helpful"}, {"name": "honest", "min": 0, "max": 3}]},
        {"name": "preference", "kind": "ranking", "require_rationale": True},
        {"name": "pii", "kind": "span", "labels": ["PERSON", "EMAIL"]},
    ]
}


@dataclass
class Caller:
    """A principal with its API key and a client that sends it."""

    principal: Principal
    key: str
    client: TestClient
    mask: Callable[[], Any] = lambda: None  # runs the PII gate, as the worker would

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **kwargs) -> Response:
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs) -> Response:
        return self.client.post(path, json=json, headers=self.headers, **kwargs)

    def patch(self, path: str, json: Any) -> Response:
        return self.client.patch(path, json=json, headers=self.headers)

    def ok(self, response: Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def dataset(self, name: str = "ds", schema: dict | None = None, **fields) -> dict:
        body = {"name": name, "label_schema": schema or FULL_SCHEMA, **fields}
        return self.ok(self.post("/api/v1/datasets", body), 201)

    def records(self, dataset_id: str, *records: dict, masked: bool = True) -> list[str]:
        """Add records; unless ``masked=False`` the PII gate then masks them, as the worker would."""
        ids = self.ok(self.post(f"/api/v1/datasets/{dataset_id}/records", {"records": list(records)}), 201)["ids"]
        if masked:
            self.mask()
        return ids

    def annotate(self, record_id: str, question: str, value: Any, **fields) -> dict:
        body = {"question": question, "value": value, **fields}
        return self.ok(self.post(f"/api/v1/records/{record_id}/annotations", body), 201)


def chat_record(prompt: str = "What is 2 + 2?", **fields) -> dict:
    return {"messages": [{"role": "user", "content": prompt}], **fields}


def pair_record(prompt: str = "Say hi", candidates=("Hi!", "Go away.")) -> dict:
    return {"messages": [{"role": "user", "content": prompt}], "candidates": list(candidates)}


@dataclass
class Actors:
    """Creates principals on demand, one per name.

    Global roles are granted globally. Annotators and reviewers, whose roles only exist per
    dataset, are assigned to the datasets in ``on``, or else to every dataset that exists when
    they are made.
    """

    sessions: Any
    client: TestClient
    masking: ScannerConfig = field(default_factory=lambda: ScannerConfig(mode="pattern"))
    _made: dict[str, Caller] = field(default_factory=dict)

    def mask(self) -> MaskRun:
        """Mask every pending record now, as the background worker would."""
        return mask_all(self.sessions, self.masking, batch_size=500)

    def __call__(self, role: Role | str, name: str | None = None, on: list[str] | None = None) -> Caller:
        role = Role(role)
        name = name or role.value
        if name not in self._made:
            with transaction(self.sessions) as session:
                system = principals.system_principal(session)
                scopes = self._scopes(session, role, on)
                created = principals.create_principal(
                    session, principal=system,
                    data=PrincipalCreate(name=name, roles=[BindingIn(role=role, dataset_id=d) for d in scopes]),
                )
                principal = principals.find_principal(session, name)
            self._made[name] = Caller(principal, created.api_key, self.client, self.mask)
        return self._made[name]

    def assign(self, caller: Caller, role: Role | str, dataset_id: str) -> Caller:
        """Grant ``role`` on one more dataset; returns the caller with its principal reloaded."""
        with transaction(self.sessions) as session:
            system = principals.system_principal(session)
            principals.grant_role(
                session, principal=system, principal_id=caller.principal.id,
                data=BindingIn(role=Role(role), dataset_id=uuid.UUID(dataset_id)),
            )
            caller.principal = principals.find_principal(session, caller.principal.name)
        return caller

    @staticmethod
    def _scopes(session, role: Role, on: list[str] | None) -> list[uuid.UUID | None]:
        if role not in DATASET_ONLY_ROLES:
            return [None]
        if on is not None:
            return [uuid.UUID(dataset_id) for dataset_id in on]
        return list(session.scalars(select(DatasetRow.id)))


@contextmanager
def undone(sessions) -> Iterator[None]:
    """Whatever happens inside is rolled back, so every attempt meets the same world."""
    savepoint = sessions.kw["bind"].begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()
