import uuid

from fastapi import APIRouter

from api.deps import PrincipalDep, SessionDep
from catalog.annotations import service as annotations
from catalog.annotations.schemas import AnnotationCreate, AnnotationEdit, AnnotationOut, History, ReviewCreate

router = APIRouter(tags=["annotations"])


@router.get("/records/{record_id}/annotations")
def list_annotations(record_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[AnnotationOut]:
    return annotations.list_record_annotations(session, principal=principal, record_id=record_id)


@router.post("/records/{record_id}/annotations", status_code=201)
def annotate(
    record_id: uuid.UUID, body: AnnotationCreate, session: SessionDep, principal: PrincipalDep
) -> AnnotationOut:
    return annotations.create_annotation(session, principal=principal, record_id=record_id, data=body)


@router.get("/annotations/{annotation_id}")
def get_annotation(annotation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> AnnotationOut:
    return annotations.get_annotation(session, principal=principal, annotation_id=annotation_id)


@router.patch("/annotations/{annotation_id}")
def edit_annotation(
    annotation_id: uuid.UUID, body: AnnotationEdit, session: SessionDep, principal: PrincipalDep
) -> AnnotationOut:
    return annotations.edit_annotation(session, principal=principal, annotation_id=annotation_id, data=body)


@router.post("/annotations/{annotation_id}/reviews", status_code=201)
def review(
    annotation_id: uuid.UUID, body: ReviewCreate, session: SessionDep, principal: PrincipalDep
) -> AnnotationOut:
    return annotations.review_annotation(session, principal=principal, annotation_id=annotation_id, data=body)


@router.get("/annotations/{annotation_id}/history")
def history(annotation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> History:
    return annotations.get_history(session, principal=principal, annotation_id=annotation_id)
