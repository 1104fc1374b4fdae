import uuid

from fastapi import APIRouter

from api.deps import LimitDep, PrincipalDep, SessionDep
from catalog.core.schemas import Page
from catalog.datasets import guidelines
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate, DatasetOut, GuidelineCreate, GuidelineOut

router = APIRouter(tags=["datasets"])


@router.post("/datasets", status_code=201)
def create_dataset(body: DatasetCreate, session: SessionDep, principal: PrincipalDep) -> DatasetOut:
    return datasets.create_dataset(session, principal=principal, data=body)


@router.get("/datasets")
def list_datasets(
    session: SessionDep, principal: PrincipalDep, limit: LimitDep, cursor: str | None = None
) -> Page[DatasetOut]:
    return datasets.list_datasets(session, principal=principal, limit=limit, cursor=cursor)


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> DatasetOut:
    return datasets.get_dataset(session, principal=principal, dataset_id=dataset_id)


@router.post("/datasets/{dataset_id}/guidelines", status_code=201)
def add_guideline(
    dataset_id: uuid.UUID, body: GuidelineCreate, session: SessionDep, principal: PrincipalDep
) -> GuidelineOut:
    return guidelines.add_guideline(session, principal=principal, dataset_id=dataset_id, data=body)


@router.get("/datasets/{dataset_id}/guidelines")
def list_guidelines(dataset_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[GuidelineOut]:
    return guidelines.list_guidelines(session, principal=principal, dataset_id=dataset_id)
