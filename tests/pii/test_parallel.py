"""Scanning in worker processes gives what scanning here gives."""

import pytest

from pii import ModelNotInstalledError, ParallelScanner, ScannerConfig, get_scanner

TEXTS = [
    "My name is John Smith and my email is john.smith@example.com.",
    "Call my phone number 212-555-0100 tomorrow.",
    "Nothing personal here.",
    "",
    "Card 4111 1111 1111 1111, expires 09/27. Ask Maria Garcia in Lisbon.",
    "Write to jane.doe@example.com or visit https://example.org",
    "Mein Name ist Anna Schmidt.",
] * 3


@pytest.mark.parametrize("mode", ["ner", "pattern"])
def test_workers_mask_as_one_process_does_in_the_same_order(mode):
    config = ScannerConfig(mode=mode)
    with ParallelScanner(config, workers=2, chunk=4) as parallel:  # several chunks per worker
        assert parallel.scan_many(TEXTS) == get_scanner(config).scan_many(TEXTS)
        assert parallel.scan_many(TEXTS[:1]) == get_scanner(config).scan_many(TEXTS[:1])
        assert parallel.scan_many([]) == []


def test_an_error_building_the_scanner_in_a_worker_is_raised_to_the_caller():
    missing = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_nonexistent"}]}
    with ParallelScanner(ScannerConfig(nlp_configuration=missing), workers=2) as parallel:
        with pytest.raises(ModelNotInstalledError, match="en_core_web_nonexistent"):
            parallel.scan_many(TEXTS)


def test_workers_and_chunk_are_at_least_one():
    with pytest.raises(ValueError):
        ParallelScanner(ScannerConfig(mode="pattern"), workers=0)
