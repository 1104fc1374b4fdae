"""For tests of outgoing events: an in-memory transport, and checking events against the spec.

The transport implements openlineage-python's ``Transport`` interface and is handed to a real
``OpenLineageClient``, so events pass through everything the client does before a transport sees
them. The spec's JSON Schemas come from ``../shared/data/openlineage/spec`` (tests skip where it is
absent), labeltrail's own facet schema from the repository; every facet is checked against the
schema its ``_schemaURL`` names, resolved in a registry over those local files only.
"""

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Transport
from referencing import Registry, Resource

from lineage.facets import provenance
from tests.conftest import shared_file


class MemoryTransport(Transport):
    """Keeps each event as the JSON document a receiver would get; raises ``failure`` while it is set."""

    kind = "memory"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.failure: Exception | None = None

    def emit(self, event) -> None:
        if self.failure is not None:
            raise self.failure
        self.events.append(json.loads(Serde.to_json(event)))


def memory_client(transport: Transport) -> OpenLineageClient:
    return OpenLineageClient(transport=transport)


def check_event(event: dict[str, Any]) -> None:
    """Raise unless the event is a valid RunEvent and each of its facets is valid by its own schema."""
    _validate(event, event["schemaURL"])
    for facet in facets_of(event):
        _validate(facet, facet["_schemaURL"])


def facets_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    found = [*event["run"].get("facets", {}).values(), *event["job"].get("facets", {}).values()]
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            found += dataset.get(key, {}).values()
    return found


def _validate(instance: Any, schema_url: str) -> None:
    validator = Draft202012Validator(
        {"$ref": schema_url}, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(instance)


@cache
def _registry() -> Registry:
    spec = shared_file("openlineage", "spec")
    files = [spec / "OpenLineage.json", *sorted((spec / "facets").glob("*.json")), provenance.SCHEMA_FILE]
    documents = [json.loads(path.read_text()) for path in files]
    return Registry().with_resources((document["$id"], Resource.from_contents(document)) for document in documents)
