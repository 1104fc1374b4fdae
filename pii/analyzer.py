"""The Presidio analyzer a scanner runs: Presidio's default recognizers, the recognizers of this
package (cards, phone numbers in groups, titled names, postal addresses), the configured deny
lists and the recognizers of the configured registry file."""

from pathlib import Path

import yaml
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, PatternRecognizer
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpEngine
from presidio_analyzer.recognizer_registry import RecognizerRegistry, RecognizerRegistryProvider

from pii.address import AddressRecognizer
from pii.config import ScannerConfig
from pii.errors import ScannerConfigError
from pii.nlp import build_nlp_engine
from pii.recognizers import GroupedPhoneRecognizer, MaestroRecognizer, MoreCardsRecognizer, TitledNameRecognizer

# Context words count five words before a finding, as in Presidio, and also five after it (Presidio:
# none), counting the finding's own words: a phone number followed by "office" or "fax".
CONTEXT_WORDS_BEFORE = 5
CONTEXT_WORDS_AFTER = 5


def build_analyzer(config: ScannerConfig) -> AnalyzerEngine:
    nlp_engine = build_nlp_engine(config)
    analyzer = AnalyzerEngine(
        registry=_registry(config, nlp_engine),
        nlp_engine=nlp_engine,
        supported_languages=[config.language],
        default_score_threshold=config.score_threshold,
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_prefix_count=CONTEXT_WORDS_BEFORE, context_suffix_count=CONTEXT_WORDS_AFTER
        ),
    )
    _check_entities(config, analyzer)
    return analyzer


def _registry(config: ScannerConfig, nlp_engine: NlpEngine) -> RecognizerRegistry:
    """Built the way AnalyzerEngine builds its default one, so Presidio's default_recognizers.yaml
    decides which predefined recognizers run; the spaCy NER recognizer and the titled names only
    in ner mode."""
    registry = RecognizerRegistryProvider(
        registry_configuration={"supported_languages": [config.language]}
    ).create_recognizer_registry()
    language = config.language
    extra: list[EntityRecognizer] = [
        MoreCardsRecognizer(supported_language=language),
        MaestroRecognizer(supported_language=language),
        GroupedPhoneRecognizer(supported_language=language),
        AddressRecognizer(supported_language=language),
    ]
    if config.mode == "ner":
        registry.add_nlp_recognizer(nlp_engine=nlp_engine)
        # It helps spaCy with names, and alone would let pattern mode claim PERSON, which it cannot find.
        extra.append(TitledNameRecognizer(supported_language=language))
    extra += [
        PatternRecognizer(entity, name=f"{entity} deny list", supported_language=language, deny_list=words)
        for entity, words in config.deny_lists.items()
    ]
    if config.recognizers_file:
        extra += _file_recognizers(config.recognizers_file, language, registry.global_regex_flags)
    for recognizer in extra:
        registry.add_recognizer(recognizer)
    return registry


def _file_recognizers(path: Path, language: str, regex_flags: int) -> list[EntityRecognizer]:
    """The recognizers of a Presidio recognizer-registry YAML, custom and predefined alike.

    A file without ``recognizers`` is refused: given one, Presidio would silently load all its
    default recognizers a second time.
    """
    configuration = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(configuration, dict) or not configuration.get("recognizers"):
        raise ScannerConfigError(f"{path}: a recognizer registry YAML needs a 'recognizers' list")
    defaults = {"supported_languages": [language], "global_regex_flags": regex_flags}
    provider = RecognizerRegistryProvider(registry_configuration=defaults | configuration)
    return list(provider.create_recognizer_registry().recognizers)


def _check_entities(config: ScannerConfig, analyzer: AnalyzerEngine) -> None:
    """Presidio only logs a warning for an entity no recognizer detects: here it is an error."""
    supported = set(analyzer.get_supported_entities(config.language))
    unknown = sorted(set(config.entities or ()) - supported)
    if unknown:
        raise ScannerConfigError(f"no recognizer detects {unknown}; supported: {sorted(supported)}")
