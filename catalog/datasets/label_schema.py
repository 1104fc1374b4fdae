"""Label schemas: the questions a dataset asks, and validation of answers against them."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from catalog.core.errors import InvalidInput

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: str = ""


class LabelQuestion(_Question):
    """Single or multiple choice from a fixed list of options."""

    kind: Literal["label"]
    options: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    multiple: bool = False


class RatingAxis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    min: int = 1
    max: int = 5
    rubric: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _range(self) -> "RatingAxis":
        if self.min >= self.max:
            raise ValueError(f"axis '{self.name}': min must be below max")
        return self


class RatingQuestion(_Question):
    """An integer score on each of one or more axes, each with its own rubric."""

    kind: Literal["rating"]
    axes: list[RatingAxis] = Field(min_length=1)


class RankingQuestion(_Question):
    """Order the record's candidate responses, best first; ties share a group."""

    kind: Literal["ranking"]
    allow_ties: bool = True
    require_rationale: bool = False


class TextQuestion(_Question):
    """Free text: an SFT response, a chain-of-thought trace, a correction of model output."""

    kind: Literal["text"]
    max_length: int | None = Field(default=None, gt=0)


class SpanQuestion(_Question):
    """Labelled character spans in one message of the record."""

    kind: Literal["span"]
    labels: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)


Question = Annotated[
    LabelQuestion | RatingQuestion | RankingQuestion | TextQuestion | SpanQuestion,
    Field(discriminator="kind"),
]


class LabelSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> "LabelSchema":
        names = [question.name for question in self.questions]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"question names must be unique: {', '.join(duplicates)}")
        return self

    def question(self, name: str) -> Question:
        for question in self.questions:
            if question.name == name:
                return question
        raise InvalidInput(
            f"unknown question '{name}'",
            {"question": name, "known": [q.name for q in self.questions]},
        )


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    label: str


class RankingValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ranking: list[list[int]] = Field(min_length=1)
    rationale: str | None = None


_SPANS = TypeAdapter(list[Span])


def validate_value(question: Question, value: Any, content: dict[str, Any]) -> Any:
    """Check an answer against its question and the record it is about; return it normalised."""
    try:
        problem = _PROBLEMS[question.kind](question, value, content)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
    if problem:
        raise InvalidInput(
            f"invalid value for question '{question.name}': {problem}",
            {"question": question.name, "kind": question.kind, "problem": problem},
        )
    return value


def _label_problem(question: LabelQuestion, value: Any, _content) -> str | None:
    chosen = value if question.multiple else [value]
    if question.multiple and (not isinstance(value, list) or not value):
        return "expected a non-empty list of options"
    if not all(isinstance(item, str) for item in chosen):
        return "expected " + ("a list of options" if question.multiple else "one option as a string")
    unknown = [item for item in chosen if item not in question.options]
    if unknown:
        return f"not an option: {', '.join(unknown)} (options: {', '.join(question.options)})"
    if len(set(chosen)) != len(chosen):
        return "an option is chosen twice"
    return None


def _rating_problem(question: RatingQuestion, value: Any, _content) -> str | None:
    if not isinstance(value, dict):
        return "expected an object mapping each axis to an integer"
    axes = {axis.name: axis for axis in question.axes}
    missing, extra = sorted(set(axes) - set(value)), sorted(set(value) - set(axes))
    if missing or extra:
        return f"axes missing: {missing or 'none'}, unknown: {extra or 'none'}"
    for name, score in value.items():
        axis = axes[name]
        if not isinstance(score, int) or isinstance(score, bool) or not axis.min <= score <= axis.max:
            return f"axis '{name}' takes an integer from {axis.min} to {axis.max}, got {score!r}"
    return None


def _ranking_problem(question: RankingQuestion, value: Any, content) -> str | None:
    parsed = RankingValue.model_validate(value)
    count = len(content.get("candidates") or [])
    if count < 2:
        return "the record has fewer than two candidates to rank"
    flat = [index for group in parsed.ranking for index in group]
    if sorted(flat) != list(range(count)):
        return f"the ranking must place each of the {count} candidates (0..{count - 1}) exactly once"
    if not question.allow_ties and any(len(group) > 1 for group in parsed.ranking):
        return "ties are not allowed"
    if any(not group for group in parsed.ranking):
        return "a ranking group is empty"
    if question.require_rationale and not (parsed.rationale or "").strip():
        return "a rationale is required"
    return None


def _text_problem(question: TextQuestion, value: Any, _content) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "expected non-empty text"
    if question.max_length and len(value) > question.max_length:
        return f"longer than {question.max_length} characters"
    return None


def _span_problem(question: SpanQuestion, value: Any, content) -> str | None:
    messages = content["messages"]
    for span in _SPANS.validate_python(value):
        if span.label not in question.labels:
            return f"unknown span label '{span.label}' (labels: {', '.join(question.labels)})"
        if span.message >= len(messages):
            return f"message {span.message} does not exist"
        if not span.start < span.end <= len(messages[span.message]["content"]):
            return f"span {span.start}..{span.end} is outside message {span.message}"
    return None


_PROBLEMS = {
    "label": _label_problem,
    "rating": _rating_problem,
    "ranking": _ranking_problem,
    "text": _text_problem,
    "span": _span_problem,
}
