"""Releases through GraphQL: cut, read, profile and compare them, over the same services as REST.

REST streams a release's manifest and its training rows as JSON Lines; here they are pages
(``releaseManifest``, ``releaseRows``), with the same access checks, masking and raw-read audit.
A refused release is ``CONFLICT`` with REST's message, its failing gates in
``extensions.details.gates``.
"""

import uuid

import strawberry
from strawberry.experimental import pydantic as from_dto
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.context import page_limit, read, write
from api.graphql.inputs import input_from
from api.graphql.types import Connection, connection
from catalog.releases import service as releases
from catalog.releases.schemas import (
    ContaminationExample,
    ContaminationOut,
    ExportLabel,
    ExportRow,
    FeatureShift,
    GateOverride,
    GateResult,
    Profile,
    ReleaseCreate,
    ReleaseDiff,
    ReleaseOut,
    ShiftOut,
    SplitRatios,
)

SplitRatiosInput = input_from(SplitRatios, "SplitRatiosInput")
GateOverrideInput = input_from(GateOverride, "GateOverrideInput")
CutReleaseInput = input_from(ReleaseCreate, "CutReleaseInput")


@from_dto.type(model=SplitRatios, all_fields=True, name="SplitRatios")
class SplitRatios:
    pass


@from_dto.type(model=GateResult, all_fields=True, name="GateResult")
class GateResult:
    pass


@from_dto.type(model=ContaminationExample, all_fields=True, name="ContaminationExample")
class ContaminationExample:
    kind: str
    against: str


@from_dto.type(model=ContaminationOut, all_fields=True, name="Contamination")
class Contamination:
    pass


@from_dto.type(model=ReleaseOut, all_fields=True, name="Release")
class Release:
    statuses: list[str]
    split_counts: JSON
    override: JSON | None


@from_dto.type(model=Profile, all_fields=True, name="Profile")
class Profile:
    categorical: JSON = strawberry.field(description="per feature, the count of each category")
    numeric: JSON = strawberry.field(description="per feature, [value, count] pairs in ascending value, as REST sends them")


@from_dto.type(model=FeatureShift, all_fields=True, name="FeatureShift")
class FeatureShift:
    kind: str
    test: str


@from_dto.type(model=ShiftOut, all_fields=True, name="Shift")
class Shift:
    pass


@from_dto.type(model=ReleaseDiff, all_fields=True, name="ReleaseDiff")
class ReleaseDiff:
    examples: JSON = strawberry.field(description="up to 100 record ids per kind of change")


@from_dto.type(model=ExportLabel, all_fields=True, name="ExportLabel")
class ExportLabel:
    text: str
    value: JSON | None
    status: str


@from_dto.type(model=ExportRow, all_fields=True, name="ExportRow")
class ExportRow:
    text: str
    metadata: JSON | None


@strawberry.type
class ReleaseQuery:
    @strawberry.field(description="The dataset's releases, oldest first")
    async def releases(self, info: Info, dataset_id: uuid.UUID) -> list[Release] | None:
        return await read(info, releases.list_releases, dataset_id=dataset_id)

    @strawberry.field
    async def release(self, info: Info, dataset_id: uuid.UUID, tag: str) -> Release | None:
        return await read(info, releases.get_release, dataset_id=dataset_id, tag=tag)

    @strawberry.field(description="The release's distributions, as its diffs compare them")
    async def release_profile(self, info: Info, dataset_id: uuid.UUID, tag: str) -> Profile | None:
        return await read(info, releases.get_profile, dataset_id=dataset_id, tag=tag)

    @strawberry.field(description="What changed from release base to target: records, labels and per-feature shift")
    async def release_diff(
        self, info: Info, dataset_id: uuid.UUID, base: str, target: str, drift_share: float = 0.5
    ) -> ReleaseDiff | None:
        diff = releases.diff_releases
        return await read(info, diff, dataset_id=dataset_id, base=base, target=target, drift_share=drift_share)

    @strawberry.field(description="The manifest's leaf documents in leaf order, exactly as their hashes cover them")
    async def release_manifest(
        self, info: Info, dataset_id: uuid.UUID, tag: str, first: int | None = None, after: str | None = None
    ) -> Connection[JSON] | None:
        page = await read(
            info, releases.manifest_page, dataset_id=dataset_id, tag=tag, limit=page_limit(info, first), cursor=after
        )
        return connection(page)

    @strawberry.field(description="Training rows in leaf order: text masked unless the caller may read raw (audited)")
    async def release_rows(
        self, info: Info, dataset_id: uuid.UUID, tag: str, first: int | None = None, after: str | None = None
    ) -> Connection[ExportRow] | None:
        page = await read(
            info, releases.export_page, dataset_id=dataset_id, tag=tag, limit=page_limit(info, first), cursor=after
        )
        return connection(page)


@strawberry.type
class ReleaseMutation:
    @strawberry.mutation(description="Cut an immutable release; CONFLICT names every gate it fails")
    async def cut_release(self, info: Info, dataset_id: uuid.UUID, input: CutReleaseInput) -> Release | None:
        cut, policy = releases.cut_release, info.context.settings.release  # REST's release_policy
        return await write(info, f"dataset:{dataset_id}", cut, dataset_id=dataset_id, data=input, policy=policy)

