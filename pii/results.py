"""What scanning one text gives: the masked text, what was masked, and where."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """An entity that was masked, at its offsets in the raw text, and the recognizer that found
    it (Presidio's ``recognizer_name``, e.g. ``EmailRecognizer`` or ``SpacyRecognizer``)."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass(frozen=True)
class Replacement:
    """A raw span and the span of the masked text that replaced it."""

    raw_start: int
    raw_end: int
    masked_start: int
    masked_end: int


@dataclass(frozen=True)
class Masked:
    """A masked text. ``findings[i]`` was replaced as ``spans[i]``; both are in text order."""

    text: str
    findings: tuple[Finding, ...]
    spans: tuple[Replacement, ...]
