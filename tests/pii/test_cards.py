"""Card numbers: what Presidio's built-in recognizer misses, and that the scanner masks them all."""

import pytest
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from pii import MaestroRecognizer, MoreCardsRecognizer

VISA_16 = "4111 1111 1111 1111"
VISA_19 = "4111 1111 1111 1111 003"  # its first 16 digits pass Luhn on their own
VISA_19_WHOLE = "4000000000000000006"
MASTERCARD_2_SERIES = ["2223003122003222", "2720 9927 2099 2729"]
MAESTRO = ["6799 9901 0000 0000 019", "5641821111166669"]
MAESTRO_12 = "5018 0000 0009"
AMEX = "3782 822463 10005"


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    return (sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])) % 10 == 0


def found(recognizer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, ["CREDIT_CARD"])]


def test_the_test_numbers_pass_luhn():
    for number in [VISA_16, VISA_19, VISA_19_WHOLE, *MASTERCARD_2_SERIES, *MAESTRO, MAESTRO_12, AMEX]:
        assert luhn_valid(number), number


def test_presidios_built_in_recognizer_misses_them():
    built_in = CreditCardRecognizer()
    for number in [VISA_19_WHOLE, *MASTERCARD_2_SERIES, *MAESTRO, MAESTRO_12]:
        assert found(built_in, f"card {number}") == [], number
    assert found(built_in, f"card {VISA_19}") == [VISA_16]  # the last three digits would stay


def test_the_extra_recognizers_find_the_whole_numbers():
    for number in [VISA_19, VISA_19_WHOLE, *MASTERCARD_2_SERIES]:
        assert found(MoreCardsRecognizer(), f"card {number}") == [number]
    for number in [*MAESTRO, MAESTRO_12]:
        assert found(MaestroRecognizer(), f"card {number}") == [number]


@pytest.mark.parametrize("number", [VISA_16, VISA_19, VISA_19_WHOLE, *MASTERCARD_2_SERIES, *MAESTRO, AMEX])
def test_every_card_is_masked(scanner, number):
    masked = scanner.scan(f"My card number: {number}")
    assert masked.text == "My card number: <CREDIT_CARD>"
    assert [(f.entity_type, f.start, f.end) for f in masked.findings] == [("CREDIT_CARD", 16, 16 + len(number))]


def test_a_short_maestro_is_masked_though_in_ner_mode_spacy_claims_it_as_a_date(pattern, ner):
    """Of two findings of the same span Presidio's anonymizer keeps the higher score: spaCy's
    DATE (0.85) beats a Maestro match lifted by its context word (0.65). Masked all the same."""
    assert pattern.scan(f"My card number: {MAESTRO_12}").text == "My card number: <CREDIT_CARD>"
    assert ner.scan(f"My card number: {MAESTRO_12}").text == "My card number: <DATE_TIME>"


def test_the_recognizer_that_found_each_card_is_kept(pattern):
    recognizers = {n: pattern.scan(f"card {n}").findings[0].recognizer for n in (VISA_16, VISA_19_WHOLE, MAESTRO[0])}
    assert recognizers == {
        VISA_16: "CreditCardRecognizer",
        VISA_19_WHOLE: "MoreCardsRecognizer",
        MAESTRO[0]: "MaestroRecognizer",
    }


def test_a_number_failing_luhn_is_not_a_card(pattern):
    for number in ["2223003122003223", "4000000000000000007", "5641821111166668"]:
        assert not luhn_valid(number)
        assert pattern.scan(f"card {number}").findings == ()


def test_a_maestro_shaped_number_needs_a_context_word(pattern):
    """Luhn alone passes one long number in ten; without "card" or the like it is left alone."""
    assert pattern.scan("Order 5641821111166669 has shipped").text == "Order 5641821111166669 has shipped"
    assert pattern.scan("Maestro 5641821111166669 was charged").text == "Maestro <CREDIT_CARD> was charged"


def test_part_of_a_longer_number_is_not_a_card():
    for text in ["id 1234 2223 0031 2200 3222", "id 2223 0031 2200 3222 7", "id 56418211111666690001"]:
        assert found(MoreCardsRecognizer(), text) == found(MaestroRecognizer(), text) == [], text
