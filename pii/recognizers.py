"""Recognizers this package adds to Presidio's defaults (postal addresses are in ``pii.address``).

Card numbers that Presidio's built-in CREDIT_CARD recognizer misses: its one pattern takes
numbers starting 1, 3, 4, 50–55 or 6, of at most 17 digits. So it never sees a Mastercard of the
2-series (2221–2720) nor a 19-digit Visa; a Maestro starting 56–59 or of 12, 18 or 19 digits; and
a 19-digit number written in groups can leave its last three digits unmasked when its first
sixteen happen to pass Luhn. Both card recognizers here subclass it, so the Luhn check and the
context words are its own.

Phone numbers that Presidio's PhoneRecognizer misses: it takes only numbers that libphonenumber
finds valid in eight regions, so local numbers of most other countries (``62 910 584``,
``(44) 915-207``) stay. ``GroupedPhoneRecognizer`` takes digits written in groups, but only with a
context word, or with an area code in brackets.

Names after a courtesy title, which a small NER model misses when they are lower-case or
uncommon: ``TitledNameRecognizer``.
"""

import re

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

# Not part of a longer number, even one written in groups.
_ALONE_BEFORE = r"\b(?<!\d[- ])"
_ALONE_AFTER = r"\b(?![- ]\d)"


class MoreCardsRecognizer(CreditCardRecognizer):
    """Mastercard 2-series (16 digits) and 19-digit Visa, whole or in groups of four.

    As with the built-in, a number that passes Luhn scores 1.0 and one that fails is dropped.
    """

    PATTERNS = [
        Pattern(
            "Mastercard 2-series",
            _ALONE_BEFORE
            + r"(?:222[1-9]|22[3-9]\d|2[3-6]\d{2}|27[01]\d|2720)(?:\d{12}|(?:[- ]\d{4}){3})"
            + _ALONE_AFTER,
            0.3,
        ),
        Pattern("Visa 19 digits", _ALONE_BEFORE + r"4\d{3}(?:\d{15}|(?:[- ]\d{4}){3}[- ]\d{3})" + _ALONE_AFTER, 0.3),
    ]


class MaestroRecognizer(CreditCardRecognizer):
    """Maestro: 12 to 19 digits starting 50 or 56–69, whole or in groups of four.

    That range takes in a good share of all long numbers (order numbers, account numbers, phone
    numbers with a country code), and a tenth of them pass Luhn by chance. So passing Luhn keeps
    the weak pattern score, and only a context word ("card", "maestro", ...) lifts a match over a
    usual threshold; failing Luhn still drops it.
    """

    PATTERNS = [
        Pattern(
            "Maestro (weak)",
            _ALONE_BEFORE
            + r"(?:50|5[6-9]|6\d)\d{2}(?:\d{8,15}|(?:[- ]\d{4}){2}(?:[- ]\d{1,4})?|(?:[- ]\d{4}){3}[- ]\d{1,3})"
            + _ALONE_AFTER,
            0.3,
        ),
    ]

    def validate_result(self, pattern_text: str) -> bool | None:
        """``None`` (no verdict: the score stays) on a valid checksum, ``False`` otherwise."""
        return None if super().validate_result(pattern_text) else False


_YEAR = r"(?:19|20)\d\d"
_DATE_OR_YEARS = re.compile(
    rf"{_YEAR}[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01])"  # 2020-03-10
    rf"|(?:0?[1-9]|[12]\d|3[01])[-./ ](?:0?[1-9]|[12]\d|3[01])[-./ ]{_YEAR}"  # 10.03.2020, 3/10/2020
    rf"|{_YEAR}[-/ ]{_YEAR}"  # 2009-2015
)
_GROUPS_END = r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\w-]?\d)"  # an extension; not part of a longer number


class GroupedPhoneRecognizer(PatternRecognizer):
    """PHONE_NUMBER: 6 to 15 digits in two to five groups (``62 910 584``, ``47-12-90-33``,
    ``001-555-010-4477x123``), maybe with a country code or an area code in brackets.

    Such groups are also dates, amounts and references, so they score 0.1 and are masked only with
    a context word within five words ("phone", "mobile", "fax", "office", ...: 0.45). A number
    whose area code is in brackets and is followed by at least three digits (``(44) 915-207``)
    looks like nothing else and scores 0.4 on its own.
    """

    PATTERNS = [
        Pattern(
            "area code in brackets",
            r"(?<![\w+.(-])\(\d{2,4}\)[ .-]?\d{3,4}(?:[ .-]\d{2,6}){0,3}" + _GROUPS_END,
            0.4,
        ),
        Pattern(
            "digit groups (weak)",
            r"(?<![\w+.-])(?:(?:\+|00)\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,6}){1,4}" + _GROUPS_END,
            0.1,
        ),
    ]
    CONTEXT = [
        "phone", "telephone", "tel", "mobile", "cell", "fax", "office", "call", "reach", "contact", "dial", "whatsapp"
    ]

    def __init__(self, supported_language: str = "en", **kwargs):
        super().__init__(
            supported_entity="PHONE_NUMBER",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            **kwargs,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Numbers of 6 to 15 digits (an extension not counted) are phone numbers, unless they are
        a date (``2020-03-10``, ``10.03.2020``) or a range of years (``2009-2015``)."""
        number = re.split(r"x|ext", pattern_text.lower())[0]
        if not 6 <= sum(c.isdigit() for c in number) <= 15:
            return False
        return False if _DATE_OR_YEARS.fullmatch(number.strip()) else None


_NAME_LETTERS = r"[\p{L}'’-]+"  # the rest of a name after its first letter


class TitledNameRecognizer(PatternRecognizer):
    """PERSON: a courtesy title and the name after it, the title included: ``Mrs. Okafor``,
    ``Dr. Ada Lindqvist``, ``mr. baker``.

    A title written with a capital takes up to two capitalised words after it. ``Mr.``, ``Mrs.``,
    ``Ms.``, ``Mx.``, ``Dr.`` and ``Prof.`` with their full stop take one word in any case (not
    "and", "or", "the", "a", "an": ``Mr. and Mrs. Smith``); ``Miss`` only a capitalised one, since
    "miss" is a verb too.
    """

    PATTERNS = [
        Pattern(
            "title and capitalised name",
            rf"\b(?-i:(?:Mr|Mrs|Ms|Mx|Dr|Prof|Miss)\b\.?(?:[^\S\n]+\p{{Lu}}{_NAME_LETTERS}){{1,2}})",
            0.6,
        ),
        Pattern(
            "title with a full stop and name",
            rf"\b(?:mr|mrs|ms|mx|dr|prof)\.[^\S\n]+(?!(?:and|or|the|a|an)\b)\p{{L}}{_NAME_LETTERS}",
            0.5,
        ),
    ]

    def __init__(self, supported_language: str = "en", **kwargs):
        super().__init__(
            supported_entity="PERSON",
            patterns=self.PATTERNS,
            supported_language=supported_language,
            **kwargs,
        )
