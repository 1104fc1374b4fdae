"""Datasets: what the data is, where it came from, and the questions its annotators answer."""

import secrets
import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require, scope_datasets
from catalog.access.service import principal_names
from catalog.core import audit_log
from catalog.core.errors import Conflict, NotFound
from catalog.core.models import DatasetRow
from catalog.core.pagination import Keyset, fetch_page
from catalog.core.principal import Principal
from catalog.core.schemas import Page
from catalog.datasets.label_schema import LabelSchema
from catalog.datasets.schemas import DatasetCreate, DatasetOut


def create_dataset(session: Session, *, principal: Principal, data: DatasetCreate) -> DatasetOut:
    require(principal, Action.DATASET_CREATE)
    if session.scalar(select(DatasetRow.id).where(DatasetRow.name == data.name)):
        raise Conflict(f"a dataset named '{data.name}' already exists", {"name": data.name})
    row = DatasetRow(
        name=data.name,
        description=data.description,
        purpose=data.purpose,
        origin=data.origin.model_dump(),
        legal_basis=data.legal_basis,
        task_types=data.task_types,
        label_schema=data.label_schema.model_dump(),
        text_salt=secrets.token_bytes(32),
        created_by=principal.id,
    )
    session.add(row)
    session.flush()
    audit_log.append(
        session, actor=principal, action=Action.DATASET_CREATE, resource=f"dataset:{row.id}",
        details={"name": row.name},
    )
    return _to_dto(row, {principal.id: principal.name})


DATASETS = Keyset("datasets", uuid.UUID)  # the cursors of list_datasets: a dataset id


def list_datasets(
    session: Session, *, principal: Principal, limit: int, cursor: str | None = None
) -> Page[DatasetOut]:
    stmt = scope_datasets(select(DatasetRow), principal, DatasetRow.id)
    rows, paging = fetch_page(session, stmt, DatasetRow.id, keyset=DATASETS, limit=limit, cursor=cursor)
    names = principal_names(session, (row.DatasetRow.created_by for row in rows))
    return paging.page([_to_dto(row.DatasetRow, names) for row in rows])


def get_dataset(session: Session, *, principal: Principal, dataset_id: uuid.UUID) -> DatasetOut:
    row = visible_dataset(session, principal, dataset_id)
    return _to_dto(row, principal_names(session, [row.created_by]))


def find_dataset_id(session: Session, *, principal: Principal, name: str) -> uuid.UUID:
    stmt = scope_datasets(select(DatasetRow.id).where(DatasetRow.name == name), principal, DatasetRow.id)
    dataset_id = session.scalar(stmt)
    if dataset_id is None:
        raise NotFound(f"dataset '{name}' not found", {"name": name})
    return dataset_id


def dataset_names(session: Session, *, principal: Principal, dataset_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of those of ``dataset_ids`` the principal may see, by id (one statement)."""
    if not dataset_ids:
        return {}
    stmt = select(DatasetRow.id, DatasetRow.name).where(DatasetRow.id.in_(set(dataset_ids)))
    return {dataset_id: name for dataset_id, name in session.execute(scope_datasets(stmt, principal, DatasetRow.id))}


def visible_dataset(session: Session, principal: Principal, dataset_id: uuid.UUID) -> DatasetRow:
    """The dataset row if the principal may see it; otherwise the same 404 as a missing one."""
    row = visible_datasets(session, principal, [dataset_id]).get(dataset_id)
    if row is None:
        raise NotFound("dataset not found", {"dataset_id": str(dataset_id)})
    return row


def visible_datasets(
    session: Session, principal: Principal, dataset_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, DatasetRow]:
    """Those of ``dataset_ids`` the principal may see, by id."""
    stmt = scope_datasets(select(DatasetRow).where(DatasetRow.id.in_(dataset_ids)), principal, DatasetRow.id)
    return {row.id: row for row in session.scalars(stmt)}


def label_schema_of(row: DatasetRow) -> LabelSchema:
    return LabelSchema.model_validate(row.label_schema)


def _to_dto(row: DatasetRow, names: dict[uuid.UUID, str]) -> DatasetOut:
    return DatasetOut(
        id=row.id,
        name=row.name,
        description=row.description,
        purpose=row.purpose,
        origin=row.origin,
        legal_basis=row.legal_basis,
        task_types=row.task_types,
        label_schema=row.label_schema,
        created_by=names.get(row.created_by, ""),
        created_at=row.created_at,
    )
