"""Nothing is downloaded: not spaCy models, not tldextract's public suffix list."""

import pytest
import spacy.cli
import tldextract.tldextract

from pii import ModelNotInstalledError, Scanner, ScannerConfig, detector_version

MISSING = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_nonexistent"}]}


@pytest.mark.parametrize("build", ["offline_ner", "offline_pattern"])
def test_a_scanner_is_built_and_used_with_the_network_blocked(request, build):
    offline = request.getfixturevalue(build)
    assert offline.attempts == []
    assert offline.first_scan.text == "Mail <EMAIL_ADDRESS> or visit <URL>"


def test_presidios_email_validation_never_fetches_the_public_suffix_list():
    assert tldextract.tldextract.TLD_EXTRACTOR.suffix_list_urls == ()
    assert tldextract.tldextract.TLD_EXTRACTOR.fallback_to_snapshot


def test_a_missing_model_is_a_clear_error_not_a_download(monkeypatch):
    downloads = []
    monkeypatch.setattr(spacy.cli, "download", lambda *args, **kwargs: downloads.append(args))
    config = ScannerConfig(nlp_configuration=MISSING)
    with pytest.raises(ModelNotInstalledError, match="'en_core_web_nonexistent' is not installed"):
        Scanner.from_config(config)
    with pytest.raises(ModelNotInstalledError, match="en_core_web_nonexistent"):
        detector_version(config)
    assert downloads == []


def test_a_missing_model_does_not_matter_in_pattern_mode():
    masked = Scanner.from_config(ScannerConfig(mode="pattern", nlp_configuration=MISSING)).scan("jane@example.com")
    assert masked.text == "<EMAIL_ADDRESS>"
