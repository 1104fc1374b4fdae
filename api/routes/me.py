from fastapi import APIRouter

from api.deps import PrincipalDep
from catalog.access import service as principals
from catalog.access.schemas import Me

router = APIRouter(tags=["identity"])


@router.get("/me")
def me(principal: PrincipalDep) -> Me:
    return principals.describe(principal)
