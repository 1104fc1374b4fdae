"""The default configuration's other additions to Presidio: phone numbers written in groups,
names after a courtesy title, organisations, and context words after a finding."""

import pytest

from pii import ScannerConfig
from pii.config import default_nlp_configuration
from pii.recognizers import GroupedPhoneRecognizer, TitledNameRecognizer


def types(masked) -> list[str]:
    return [f.entity_type for f in masked.findings]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You can reach me on 62 910 584", "You can reach me on <PHONE_NUMBER>"),  # context word before
        ("Mobile: 47-12-90-33", "Mobile: <PHONE_NUMBER>"),
        ("fax 001-555-010-4477x123", "fax <PHONE_NUMBER>"),  # an extension
        ("81 27 64-Office", "<PHONE_NUMBER>-Office"),  # context word after it
        ("Nobody answers at (44) 915-207", "Nobody answers at <PHONE_NUMBER>"),  # area code
    ],
)
def test_phone_numbers_in_groups_are_masked(pattern, text, expected):
    assert pattern.scan(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "We sold 62 910 584 units",  # no context word
        "Call me, it costs 12 34",  # too few digits
        "My phone bill for 2009-2015",  # a range of years
        "Phone log of 2020-03-10",  # a date (masked as DATE_TIME, not as a phone number)
        "Smith (1998) 45-67",  # brackets but not an area code and three digits
    ],
)
def test_near_misses_are_not_phone_numbers(pattern, text):
    assert "PHONE_NUMBER" not in types(pattern.scan(text))


def test_the_grouped_phone_recognizer_wants_6_to_15_digits():
    recognizer = GroupedPhoneRecognizer()
    assert recognizer.validate_result("81 27 64") is None
    assert recognizer.validate_result("12 34 5") is False
    assert recognizer.validate_result("1234 5678 9012 3456") is False  # 16: a card number
    assert recognizer.validate_result("(978) 645-9740x11144") is None


def titled_names(text: str) -> list[str]:
    return [text[r.start : r.end] for r in TitledNameRecognizer().analyze(text, ["PERSON"])]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("For my take on Mrs. Okafor, see below", "Mrs. Okafor"),
        ("Hello, this is Dr. Ada Lindqvist. Who are you?", "Dr. Ada Lindqvist"),
        ("hello, this is mr. baker", "mr. baker"),
        ("Miss Pemberton arrived", "Miss Pemberton"),
    ],
)
def test_a_name_after_a_courtesy_title_is_a_person(text, name):
    assert titled_names(text) == [name]


@pytest.mark.parametrize("text", ["I miss you", "dr who is on tonight", "Mr. and", "the doctor's orders"])
def test_near_misses_are_not_titled_names(text):
    assert titled_names(text) == []


def test_titled_names_are_masked_in_ner_mode_only(ner, pattern):
    text = "For my take on Mrs. Okafor, see below"
    assert ner.scan(text).text == "For my take on <PERSON>, see below"
    assert pattern.scan(text).text == text  # pattern mode finds no names: PERSON stays refused there


def test_organisations_are_masked_by_default(ner):
    configuration = default_nlp_configuration()["ner_model_configuration"]
    assert configuration["model_to_presidio_entity_mapping"]["ORG"] == "ORGANIZATION"
    assert "ORGANIZATION" not in configuration["labels_to_ignore"]
    assert ner.scan("I work at Microsoft.").text == "I work at <ORGANIZATION>."


def test_a_configuration_can_still_ignore_organisations():
    configuration = default_nlp_configuration()
    configuration["ner_model_configuration"]["labels_to_ignore"].append("ORGANIZATION")
    config = ScannerConfig(nlp_configuration=configuration)
    assert config.fingerprint() != ScannerConfig().fingerprint()
