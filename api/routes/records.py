import uuid

from fastapi import APIRouter

from api.deps import LimitDep, PrincipalDep, SessionDep
from catalog.core.schemas import Page
from catalog.records import service as records
from catalog.records.schemas import RecordIds, RecordOut, RecordRetire, RecordsCreate

router = APIRouter(tags=["records"])


@router.post("/datasets/{dataset_id}/records", status_code=201)
def add_records(
    dataset_id: uuid.UUID, body: RecordsCreate, session: SessionDep, principal: PrincipalDep
) -> RecordIds:
    return records.add_records(session, principal=principal, dataset_id=dataset_id, records=body.records)


@router.get("/datasets/{dataset_id}/records")
def list_records(
    dataset_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: LimitDep,
    cursor: str | None = None,
    include_retired: bool = False,
) -> Page[RecordOut]:
    return records.list_records(
        session, principal=principal, dataset_id=dataset_id, limit=limit, cursor=cursor,
        include_retired=include_retired,
    )


@router.get("/records/{record_id}")
def get_record(record_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RecordOut:
    return records.get_record(session, principal=principal, record_id=record_id)


@router.post("/records/{record_id}/retire")
def retire_record(record_id: uuid.UUID, body: RecordRetire, session: SessionDep, principal: PrincipalDep) -> RecordOut:
    return records.retire_record(session, principal=principal, record_id=record_id, data=body)
