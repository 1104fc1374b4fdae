"""The scanner: what it masks, how, and what it reports."""

import hashlib

import pytest

from pii import Finding, Scanner, ScannerConfig, ScannerConfigError, get_scanner

RECOGNIZERS = r"""
recognizers:
  - name: ApiKeyRecognizer
    supported_entity: API_KEY
    patterns:
      - name: live secret key
        regex: "\\bsk-live-[A-Za-z0-9]{24}\\b"
        score: 0.9
  - name: AccountNumberRecognizer
    supported_entity: ACCOUNT_NUMBER
    patterns:
      - name: internal account number
        regex: "\\bACCT-\\d{8}\\b"
        score: 0.6
  - name: UkNinoRecognizer
    type: predefined
"""


def masked_text(config: ScannerConfig, text: str) -> str:
    return Scanner.from_config(config).scan(text).text


def test_emails_are_masked_with_a_typed_placeholder(scanner):
    first, second = "jane.doe@example.com", "j.smith+ml@mail.example.org"
    text = f"Write to {first} or {second}."
    masked = scanner.scan(text)
    assert masked.text == "Write to <EMAIL_ADDRESS> or <EMAIL_ADDRESS>."
    assert masked.findings == (
        Finding("EMAIL_ADDRESS", 9, 9 + len(first), 1.0, "EmailRecognizer"),
        Finding("EMAIL_ADDRESS", text.index(second), text.index(second) + len(second), 1.0, "EmailRecognizer"),
    )


@pytest.mark.parametrize("number", ["212-555-0100", "(425) 882-8080", "+44 20 7946 0958"])
def test_phone_numbers_with_a_context_word_are_masked(scanner, number):
    assert scanner.scan(f"My phone number is {number}").text == "My phone number is <PHONE_NUMBER>"


def test_a_person_is_masked_in_ner_mode_only(ner, pattern):
    text = "My name is John Smith and my email is john.smith@example.com."
    assert ner.scan(text).text == "My name is <PERSON> and my email is <EMAIL_ADDRESS>."
    assert ner.scan(text).findings[0] == Finding("PERSON", 11, 21, 0.85, "SpacyRecognizer")
    assert pattern.scan(text).text == "My name is John Smith and my email is <EMAIL_ADDRESS>."


def test_a_contained_finding_gives_way_to_the_one_containing_it(scanner):
    """The URL recognizer also takes parts of the address (jane.do, example.com) for URLs."""
    masked = scanner.scan("jane.doe@example.com")
    assert masked.text == "<EMAIL_ADDRESS>"
    assert [f.entity_type for f in masked.findings] == ["EMAIL_ADDRESS"]


def test_partly_overlapping_findings_are_both_masked_the_first_up_to_the_second():
    config = ScannerConfig(mode="pattern", deny_lists={"CODENAME": ["alpha beta"], "TEAM": ["beta gamma"]})
    masked = Scanner.from_config(config).scan("x alpha beta gamma y")
    assert masked.text == "x <CODENAME><TEAM> y"
    assert [(f.entity_type, f.start, f.end) for f in masked.findings] == [("CODENAME", 2, 8), ("TEAM", 8, 18)]


def test_the_allow_list_keeps_exactly_its_terms():
    config = ScannerConfig(mode="pattern", allow_list=["support@labeltrail.example"])
    text = "Ask support@labeltrail.example, not jane@example.com"
    assert masked_text(config, text) == "Ask support@labeltrail.example, not <EMAIL_ADDRESS>"


def test_deny_lists_mask_their_words_as_their_entity_ignoring_case():
    config = ScannerConfig(mode="pattern", deny_lists={"PROJECT": ["Bluebird", "Night Jar"]})
    masked = Scanner.from_config(config).scan("Bluebird ships before night jar; bluebirds fly.")
    assert masked.text == "<PROJECT> ships before <PROJECT>; bluebirds fly."
    assert {f.recognizer for f in masked.findings} == {"PROJECT deny list"}


def test_the_score_threshold_decides():
    """Presidio scores a phone number 0.4 without a context word (and "call" does not count:
    it is a spaCy stop word)."""
    text = "Call 212-555-0100."
    assert masked_text(ScannerConfig(mode="pattern", score_threshold=0.5), text) == text
    assert masked_text(ScannerConfig(mode="pattern"), text) == "Call <PHONE_NUMBER>."  # the default, 0.35


def test_entities_limit_what_is_looked_for():
    config = ScannerConfig(mode="pattern", entities=["EMAIL_ADDRESS"])
    text = "jane@example.com, card 4111 1111 1111 1111"
    assert masked_text(config, text) == "<EMAIL_ADDRESS>, card 4111 1111 1111 1111"


def test_an_entity_no_recognizer_detects_is_refused():
    with pytest.raises(ScannerConfigError, match="PERSON"):
        Scanner.from_config(ScannerConfig(mode="pattern", entities=["EMAIL_ADDRESS", "PERSON"]))


def test_operators_mask_hash_redact_and_replace():
    salt = "labeltrail-test-salt"
    config = ScannerConfig(
        mode="pattern",
        operators={
            "EMAIL_ADDRESS": {"type": "mask", "params": {"masking_char": "*", "chars_to_mask": 4, "from_end": False}},
            "CREDIT_CARD": {"type": "mask", "params": {"masking_char": "#", "chars_to_mask": 15, "from_end": False}},
            "IP_ADDRESS": {"type": "hash", "params": {"hash_type": "sha256", "salt": salt}},
            "URL": {"type": "redact"},
            "PROJECT": {"type": "replace", "params": {"new_value": "[codename]"}},
        },
        deny_lists={"PROJECT": ["Bluebird"]},
    )
    text = "jane@example.com paid with 4111 1111 1111 1111 from 192.168.0.1 on https://example.org for Bluebird"
    digest = hashlib.sha256(b"192.168.0.1" + salt.encode()).hexdigest()
    expected = f"****@example.com paid with ###############1111 from {digest} on  for [codename]"
    assert masked_text(config, text) == expected


def test_an_operator_with_wrong_parameters_is_refused_when_the_scanner_is_built():
    wrong = {"EMAIL_ADDRESS": {"type": "mask", "params": {"masking_char": "**"}}}
    config = ScannerConfig(mode="pattern", operators=wrong)
    with pytest.raises(ScannerConfigError, match="EMAIL_ADDRESS"):
        Scanner.from_config(config)


def test_a_recognizer_registry_file_adds_recognizers(tmp_path):
    path = tmp_path / "recognizers.yaml"
    path.write_text(RECOGNIZERS, encoding="utf-8")
    scanner = Scanner.from_config(ScannerConfig(mode="pattern", recognizers_file=path))
    masked = scanner.scan("Key sk-live-4eC39HqLyjWDarjtT1zdp7dc for ACCT-12345678; NI number AB 12 34 56 C.")
    assert masked.text == "Key <API_KEY> for <ACCOUNT_NUMBER>; NI number <UK_NINO>."
    recognizers = [f.recognizer for f in masked.findings]
    assert recognizers == ["ApiKeyRecognizer", "AccountNumberRecognizer", "UkNinoRecognizer"]
    assert scanner.scan("sk-live-tooShort and ACCT-1234567").findings == ()


def test_a_registry_file_without_recognizers_is_refused(tmp_path):
    path = tmp_path / "recognizers.yaml"
    path.write_text("supported_languages: [en]\n", encoding="utf-8")
    with pytest.raises(ScannerConfigError, match="recognizers"):
        Scanner.from_config(ScannerConfig(mode="pattern", recognizers_file=path))


def test_scan_many_keeps_the_order_of_the_texts_whatever_the_batch_size(scanner):
    texts = ["jane@example.com", "", "nothing here", "card 4111 1111 1111 1111", "bob@example.org"]
    expected = ["<EMAIL_ADDRESS>", "", "nothing here", "card <CREDIT_CARD>", "<EMAIL_ADDRESS>"]
    assert [m.text for m in scanner.scan_many(texts, batch_size=2)] == expected
    assert scanner.scan_many(texts) == [scanner.scan(text) for text in texts]


def test_get_scanner_builds_once_per_fingerprint():
    config = ScannerConfig(mode="pattern", allow_list=["get-scanner-test"])
    scanner = get_scanner(config)
    assert get_scanner(ScannerConfig(mode="pattern", allow_list=["get-scanner-test"])) is scanner
    assert get_scanner(config.model_copy(update={"score_threshold": 0.7})) is not scanner
    assert scanner.version.startswith("presidio-") and scanner.version.endswith(config.fingerprint()[:12])


def test_a_recognizers_own_score_threshold_comes_before_the_scanners(tmp_path):
    path = tmp_path / "recognizers.yaml"
    path.write_text(
        r"""
recognizers:
  - name: TicketRecognizer
    supported_entity: TICKET
    patterns: [{name: ticket, regex: "\\bTCK-\\d{6}\\b", score: 0.4}]
    score_thresholds: {default: 0.3}
  - name: OrderRecognizer
    supported_entity: ORDER
    patterns: [{name: order, regex: "\\bORD-\\d{6}\\b", score: 0.4}]
""",
        encoding="utf-8",
    )
    config = ScannerConfig(mode="pattern", score_threshold=0.5, recognizers_file=path)
    assert masked_text(config, "see TCK-123456 and ORD-123456") == "see <TICKET> and ORD-123456"
