"""Masking analyzer results with Presidio's anonymizer, keeping where each replacement came from."""

from collections.abc import Mapping

from presidio_analyzer import RecognizerResult as Detected
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, InvalidParamError, OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as Resolved
from presidio_anonymizer.operators import OperatorType

from pii.config import OperatorSpec
from pii.errors import ScannerConfigError
from pii.results import Finding, Masked, Replacement


class Masker(AnonymizerEngine):
    """Presidio's anonymizer that also tells which raw span each replacement took.

    Presidio reports only where each replacement landed in the masked text. So its own conflict
    resolution and merge of same-type entities separated by spaces run here first, giving the raw
    spans it replaces; ``anonymize`` then gets those, which its resolution leaves as they are.
    """

    def __init__(self, operators: Mapping[str, OperatorSpec]):
        super().__init__()
        self.operators = {entity: OperatorConfig(spec.type, dict(spec.params)) for entity, spec in operators.items()}
        self._check_operators()

    def mask(self, text: str, detected: list[Detected]) -> Masked:
        resolved = self._resolved(text, detected)
        result = self.anonymize(text, resolved, operators=self.operators, merge_entities_with_spaces=False)
        items = list(reversed(result.items))  # Presidio lists them from the end of the text
        if len(items) != len(resolved):
            raise RuntimeError(f"Presidio replaced {len(items)} spans where {len(resolved)} were resolved")
        findings, spans = [], []
        for index, (entity, item) in enumerate(zip(resolved, items)):
            # A partly overlapped entity keeps only the text up to the next one (TextReplaceBuilder).
            raw_end = min(entity.end, resolved[index + 1].start) if index + 1 < len(resolved) else entity.end
            recognizer = _recognizer(entity, detected)
            findings.append(Finding(entity.entity_type, entity.start, raw_end, entity.score, recognizer))
            spans.append(Replacement(entity.start, raw_end, item.start, item.end))
        return Masked(text=result.text, findings=tuple(findings), spans=tuple(spans))

    def _resolved(self, text: str, detected: list[Detected]) -> list[Resolved]:
        """The entities ``anonymize`` replaces, in text order, resolved as it resolves them."""
        ordered = sorted(self._copy_recognizer_results(detected), key=lambda r: (r.start, r.end))
        kept = self._remove_conflicts_and_get_text_manipulation_data(
            ordered, ConflictResolutionStrategy.MERGE_SIMILAR_OR_CONTAINED
        )
        return sorted(self._merge_entities_with_spaces_between(text, kept), key=lambda r: r.start)

    def _check_operators(self) -> None:
        """Presidio checks an operator's parameters only when it first masks with it."""
        for entity, config in self.operators.items():
            operator = self.operators_factory.create_operator_class(config.operator_name, OperatorType.Anonymize)
            try:
                operator.validate({**config.params, "entity_type": entity})
            except InvalidParamError as error:
                raise ScannerConfigError(f"operator for {entity}: {error}") from None


def _recognizer(entity: Resolved, detected: list[Detected]) -> str:
    """The recognizer of the best-scoring detection that went into a resolved entity."""
    sources = [
        d for d in detected if d.entity_type == entity.entity_type and entity.start <= d.start and d.end <= entity.end
    ]
    best = max(sources, key=lambda d: d.score)
    return best.recognition_metadata[Detected.RECOGNIZER_NAME_KEY]
