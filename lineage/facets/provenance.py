"""``labeltrail_provenance``: the custom dataset facet saying where a dataset's labels come from.

``LabeltrailProvenanceDatasetFacet.json`` beside this module is the source of truth; this class
follows it. ``_schemaURL`` is the schema's ``$id``, a stable address versioned as OpenLineage
versions its own facets: a change readers could trip over gets a new version there, and the file
in this repository is what is published at it. The facet's key carries labeltrail's prefix, as the
spec asks of custom facets.
"""

from pathlib import Path
from typing import Any

import attr
from openlineage.client.facet_v2 import DatasetFacet

KEY = "labeltrail_provenance"
SCHEMA_ID = "https://labeltrail.dev/spec/facets/1-0-0/LabeltrailProvenanceDatasetFacet.json"
SCHEMA_FILE = Path(__file__).with_name("LabeltrailProvenanceDatasetFacet.json")


@attr.define
class LabeltrailProvenanceDatasetFacet(DatasetFacet):
    datasetId: str  # noqa: N815 - the spec's camelCase
    purpose: str | None = attr.field(default=None)
    legalBasis: str | None = attr.field(default=None)  # noqa: N815
    taskTypes: list[str] | None = attr.field(default=None)  # noqa: N815
    origin: dict[str, Any] | None = attr.field(default=None)
    release: dict[str, Any] | None = attr.field(default=None)
    labels: dict[str, Any] | None = attr.field(default=None)
    profile: dict[str, Any] | None = attr.field(default=None)
    changes: dict[str, int] | None = attr.field(default=None)
    detectorVersion: str | None = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_ID}#/$defs/LabeltrailProvenanceDatasetFacet"
