"""The scanner: Presidio's batch analyzer, then its anonymizer, for one configuration."""

import threading

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine

from pii.analyzer import build_analyzer
from pii.config import ScannerConfig, detector_version
from pii.masking import Masker
from pii.results import Masked


class Scanner:
    """Finds and masks personal data. Build one per process and configuration: in ner mode
    building loads a spaCy model, which takes seconds (``get_scanner`` keeps them)."""

    def __init__(self, config: ScannerConfig, analyzer: AnalyzerEngine, masker: Masker):
        self.config = config
        self.version = detector_version(config)
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        self._masker = masker

    @classmethod
    def from_config(cls, config: ScannerConfig) -> "Scanner":
        return cls(config, build_analyzer(config), Masker(config.operators))

    def scan_many(self, texts: list[str], batch_size: int = 64) -> list[Masked]:
        """Mask each text; the NLP pipeline runs over them in batches (spaCy's ``nlp.pipe``)."""
        detected = self._batch.analyze_iterator(
            texts,
            language=self.config.language,
            batch_size=batch_size,
            entities=self.config.entities,
            allow_list=self.config.allow_list,
        )
        return [self._masker.mask(text, found) for text, found in zip(texts, detected, strict=True)]

    def scan(self, text: str) -> Masked:
        return self.scan_many([text])[0]


_scanners: dict[str, Scanner] = {}
_lock = threading.Lock()


def get_scanner(config: ScannerConfig) -> Scanner:
    """This process's scanner for ``config``, built on first use and shared by every
    configuration with the same fingerprint."""
    key = config.fingerprint()
    with _lock:
        if key not in _scanners:
            _scanners[key] = Scanner.from_config(config)
        return _scanners[key]
