"""Input types, built from the DTOs the services accept, and their conversion back into them.

Every mutation takes its body as the argument ``input``. It is validated by the same pydantic
model as the REST body, so the same values are refused with the same message, naming the field
(``input.baseRevision: ...``). A field the client leaves out is left out of the DTO too: an edit
that does not mention ``value`` does not change it.
"""

import dataclasses
import types
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import strawberry
from pydantic import AwareDatetime, BaseModel, ValidationError
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from catalog.annotations.schemas import AnnotationCreate, AnnotationEdit, ReviewCreate, Source
from catalog.core.errors import InvalidInput
from catalog.datasets.schemas import DatasetCreate, GuidelineCreate, Origin
from catalog.records.schemas import Message, RecordIn, RecordRetire, RecordsCreate

ARGUMENT = "input"
_MODELS: dict[type, type[BaseModel]] = {}  # input type -> its DTO
_INPUTS: dict[type[BaseModel], type] = {}  # DTO -> its input type


def input_from(model: type[BaseModel], name: str, **graphql_types: Any) -> type:
    """A GraphQL input with the DTO's fields: those the DTO requires are required, the others
    optional and absent unless given (the DTO then applies its own default, as for REST).

    Field types follow the DTO's: strings for enumerations and literals, ``JSON`` for free-form
    values, the input of a nested DTO for it; ``graphql_types`` names the type of a field
    directly."""
    annotations, defaults = {}, {}
    for field_name, field in model.model_fields.items():
        graphql_type = graphql_types.get(field_name) or _graphql_type(field.annotation)
        if field.is_required():
            annotations[field_name] = graphql_type
            defaults[field_name] = strawberry.field(description=field.description)
        else:
            annotations[field_name] = graphql_type | None
            defaults[field_name] = strawberry.field(default=UNSET, description=field.description)
    made = strawberry.input(type(name, (), {"__annotations__": annotations, **defaults}), name=name)
    _MODELS[made], _INPUTS[model] = model, made
    return made


def _graphql_type(annotation: Any) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _graphql_type(args[0])
    if origin in (Union, types.UnionType):
        [inner] = [arg for arg in args if arg is not type(None)]
        return _graphql_type(inner) | None
    if origin is list:
        return list[_graphql_type(args[0])]
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return str
    if annotation is Any or origin is dict:
        return JSON
    if annotation is AwareDatetime:
        return datetime
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _INPUTS[annotation]
    return annotation


MessageInput = input_from(Message, "MessageInput")
OriginInput = input_from(Origin, "OriginInput")
SourceInput = input_from(Source, "SourceInput")
CreateDatasetInput = input_from(DatasetCreate, "CreateDatasetInput", label_schema=JSON)
AddGuidelineInput = input_from(GuidelineCreate, "AddGuidelineInput")
RecordInput = input_from(RecordIn, "RecordInput")
AddRecordsInput = input_from(RecordsCreate, "AddRecordsInput")
RetireRecordInput = input_from(RecordRetire, "RetireRecordInput")
AnnotateInput = input_from(AnnotationCreate, "AnnotateInput")
EditAnnotationInput = input_from(AnnotationEdit, "EditAnnotationInput")
ReviewInput = input_from(ReviewCreate, "ReviewInput")


def dtos_of(arguments: dict[str, Any]) -> dict[str, Any]:
    """Service arguments with every input object validated into its DTO."""
    return {name: to_dto(value) if _is_input(value) else value for name, value in arguments.items()}


def to_dto(value: Any) -> BaseModel:
    model = _MODELS[type(value)]
    try:
        return model.model_validate(_plain(value))
    except ValidationError as exc:
        raise _invalid_input(exc) from None


def _invalid_input(exc: ValidationError) -> InvalidInput:
    """The REST message and details for the same problems, with fields named as GraphQL names them."""
    details = [
        {"location": ".".join([ARGUMENT, *(_graphql_name(part) for part in e["loc"])]), "problem": e["msg"]}
        for e in exc.errors()
    ]
    return InvalidInput("; ".join(f"{d['location']}: {d['problem']}" for d in details[:5]), details)


def _graphql_name(part: str | int) -> str:
    return to_camel_case(part) if isinstance(part, str) else str(part)


def _plain(value: Any) -> Any:
    """Input objects as dicts of the fields the client gave, recursively."""
    if _is_input(value):
        return {
            field.name: _plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not UNSET
        }
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _is_input(value: Any) -> bool:
    return type(value) in _MODELS
