from fastapi import APIRouter

from api.deps import PrincipalDep
from catalog.dtos import Me
from catalog.services import principals

router = APIRouter(tags=["identity"])


@router.get("/me")
def me(principal: PrincipalDep) -> Me:
    return principals.describe(principal)
