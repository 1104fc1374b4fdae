from fastapi import APIRouter

from api.deps import PrincipalDep
from catalog.dtos import Me

router = APIRouter(tags=["identity"])


@router.get("/me")
def me(principal: PrincipalDep) -> Me:
    return Me(
        id=principal.id,
        name=principal.name,
        roles=sorted(principal.roles),
        dataset_roles={dataset_id: sorted(roles) for dataset_id, roles in principal.dataset_roles.items()},
    )
