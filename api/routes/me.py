from fastapi import APIRouter

from api.deps import PrincipalDep
from catalog.dtos import PrincipalOut

router = APIRouter(tags=["identity"])


@router.get("/me")
def me(principal: PrincipalDep) -> PrincipalOut:
    return PrincipalOut(name=principal.name, role=principal.role)
