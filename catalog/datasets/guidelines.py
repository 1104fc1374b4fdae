"""Guidelines: versioned per dataset; a version, once written, never changes."""

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require
from catalog.access.service import principal_names
from catalog.core import audit_log
from catalog.core.errors import InvalidInput
from catalog.core.hashing import sha256_hex
from catalog.core.models import GuidelineRow
from catalog.core.principal import Principal
from catalog.datasets.schemas import GuidelineCreate, GuidelineOut
from catalog.datasets.service import visible_dataset, visible_datasets


def add_guideline(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, data: GuidelineCreate
) -> GuidelineOut:
    visible_dataset(session, principal, dataset_id)
    require(principal, Action.GUIDELINE_CREATE, dataset_id=dataset_id)
    row = GuidelineRow(
        dataset_id=dataset_id,
        version=(latest_version(session, dataset_id) or 0) + 1,
        text=data.text,
        sha256=sha256_hex(data.text.encode("utf-8")),
        author_id=principal.id,
    )
    session.add(row)
    session.flush()
    audit_log.append(
        session, actor=principal, action=Action.GUIDELINE_CREATE, resource=f"dataset:{dataset_id}",
        dataset_id=dataset_id, details={"version": row.version, "sha256": row.sha256},
    )
    return _to_dto(row, {principal.id: principal.name})


def list_guidelines(session: Session, *, principal: Principal, dataset_id: uuid.UUID) -> list[GuidelineOut]:
    visible_dataset(session, principal, dataset_id)
    return _guidelines_of(session, [dataset_id])[dataset_id]


def list_for_datasets(
    session: Session, *, principal: Principal, dataset_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[GuidelineOut]]:
    """Each dataset's guideline versions, for those of ``dataset_ids`` the principal may see."""
    return _guidelines_of(session, list(visible_datasets(session, principal, dataset_ids)))


def _guidelines_of(session: Session, dataset_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[GuidelineOut]]:
    """Every version of each dataset's guideline, oldest first."""
    found: dict[uuid.UUID, list[GuidelineOut]] = {dataset_id: [] for dataset_id in dataset_ids}
    if not dataset_ids:
        return found
    rows = session.scalars(
        select(GuidelineRow)
        .where(GuidelineRow.dataset_id.in_(dataset_ids))
        .order_by(GuidelineRow.dataset_id, GuidelineRow.version)
    ).all()
    names = principal_names(session, (row.author_id for row in rows))
    for row in rows:
        found[row.dataset_id].append(_to_dto(row, names))
    return found


def latest_version(session: Session, dataset_id: uuid.UUID) -> int | None:
    return session.scalar(select(func.max(GuidelineRow.version)).where(GuidelineRow.dataset_id == dataset_id))


def resolve_version(session: Session, dataset_id: uuid.UUID, requested: int | None) -> int | None:
    """The guideline version an annotation is made under: the one named, else the latest (or none)."""
    if requested is None:
        return latest_version(session, dataset_id)
    exists = session.scalar(
        select(GuidelineRow.id).where(GuidelineRow.dataset_id == dataset_id, GuidelineRow.version == requested)
    )
    if exists is None:
        raise InvalidInput(
            f"guideline version {requested} does not exist for this dataset", {"guideline_version": requested}
        )
    return requested


def _to_dto(row: GuidelineRow, names: dict[uuid.UUID, str]) -> GuidelineOut:
    return GuidelineOut(
        id=row.id,
        dataset_id=row.dataset_id,
        version=row.version,
        sha256=row.sha256,
        text=row.text,
        author=names.get(row.author_id, ""),
        created_at=row.created_at,
    )
