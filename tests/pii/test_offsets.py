"""Offsets between the raw and the masked text, both ways."""

import pytest

from pii import Replacement, Scanner, ScannerConfig, masked_to_raw, raw_to_masked

RAW = "Mail jane@example.com today, or call +44 20 7946 0958."
EMAIL = (RAW.index("jane"), RAW.index(" today"))
PHONE = (RAW.index("+44"), len(RAW) - 1)


@pytest.fixture(scope="module")
def masked():
    config = ScannerConfig(mode="pattern", score_threshold=0.4)
    return Scanner.from_config(config).scan(RAW)


@pytest.fixture(scope="module")
def redacted():
    config = ScannerConfig(mode="pattern", score_threshold=0.4, operators={"DEFAULT": {"type": "redact"}})
    return Scanner.from_config(config).scan(RAW)


def span_of(text: str, part: str) -> tuple[int, int]:
    return text.index(part), text.index(part) + len(part)


def test_each_replacement_maps_its_raw_span_to_its_placeholder(masked):
    assert masked.text == "Mail <EMAIL_ADDRESS> today, or call <PHONE_NUMBER>."
    assert masked.spans == (
        Replacement(*EMAIL, *span_of(masked.text, "<EMAIL_ADDRESS>")),
        Replacement(*PHONE, *span_of(masked.text, "<PHONE_NUMBER>")),
    )
    assert [(f.start, f.end) for f in masked.findings] == [EMAIL, PHONE]


def test_unmasked_text_maps_to_itself_shifted(masked):
    for part in ("Mail", "today, or call"):
        assert masked_to_raw(masked, *span_of(masked.text, part)) == span_of(RAW, part)
        assert raw_to_masked(masked, *span_of(RAW, part)) == span_of(masked.text, part)
    assert masked_to_raw(masked, len(masked.text) - 1, len(masked.text)) == (len(RAW) - 1, len(RAW))
    assert masked_to_raw(masked, 0, len(masked.text)) == (0, len(RAW))
    assert raw_to_masked(masked, 0, len(RAW)) == (0, len(masked.text))


def test_a_placeholder_maps_to_its_whole_raw_entity_and_back(masked):
    placeholder = span_of(masked.text, "<PHONE_NUMBER>")
    assert masked_to_raw(masked, *placeholder) == PHONE
    assert raw_to_masked(masked, *PHONE) == placeholder


def test_a_boundary_inside_a_placeholder_takes_in_the_whole_entity(masked):
    inside_email = masked.text.index("EMAIL")
    inside_phone = masked.text.index("NUMBER")
    assert masked_to_raw(masked, inside_email, inside_phone) == (EMAIL[0], PHONE[1])
    assert masked_to_raw(masked, 0, inside_email) == (0, EMAIL[1])
    assert raw_to_masked(masked, RAW.index("example"), RAW.index("today") + 2) == (
        masked.text.index("<EMAIL"), masked.text.index("today") + 2,
    )


def test_a_redaction_is_taken_in_by_a_span_that_touches_it(redacted):
    assert redacted.text == "Mail  today, or call ."
    gap = redacted.text.index("  ") + 1
    assert masked_to_raw(redacted, gap, gap) == EMAIL
    assert masked_to_raw(redacted, 0, gap) == (0, EMAIL[1])
    assert masked_to_raw(redacted, *span_of(redacted.text, "today")) == span_of(RAW, "today")
    assert raw_to_masked(redacted, *EMAIL) == (gap, gap)


def test_spans_outside_the_text_are_refused(masked):
    with pytest.raises(ValueError):
        masked_to_raw(masked, 0, len(masked.text) + 1)
    with pytest.raises(ValueError):
        raw_to_masked(masked, 5, 4)


@pytest.mark.parametrize(
    "raw",
    [
        "Pay with 2223 0031 2200 3222 or 4111 1111 1111 1111 003 today, John Smith of Paris",
        "x alpha beta gamma delta y beta",
    ],
)
def test_outside_its_spans_the_masked_text_is_the_raw_text(ner, raw):
    """Also where findings overlap (spaCy's DATE over card digits, deny lists over each other)."""
    overlapping = ScannerConfig(mode="pattern", deny_lists={"A": ["alpha beta"], "B": ["beta gamma"], "C": ["beta"]})
    for masked in (ner.scan(raw), Scanner.from_config(overlapping).scan(raw)):
        raw_at = masked_at = 0
        for span in masked.spans:
            assert raw[raw_at : span.raw_start] == masked.text[masked_at : span.masked_start]
            raw_at, masked_at = span.raw_end, span.masked_end
        assert raw[raw_at:] == masked.text[masked_at:]
        assert [(f.start, f.end) for f in masked.findings] == [(s.raw_start, s.raw_end) for s in masked.spans]
