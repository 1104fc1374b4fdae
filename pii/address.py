"""Postal addresses, which Presidio has no recognizer for and spaCy's NER finds only in part.

An address is found from an anchor that is hard to mistake for anything else:

- a street line: a house number and a street with a street-type word (``12 Oak Street``,
  ``4 Main Rd.``), a street whose name ends in a street type with its number (``Lindenstraße 4``,
  ``Holmevej 34``, ``Salontie 6``), or a street type written first with a number before or after
  it (``14 rue de la Paix``, ``Via Roma 12``, ``ul. Polna 3``);
- a unit (``Apt. 5``, ``Suite 210``, ``Flat 3``), with the line before it when that line is a
  street line of words and house numbers (``Bergshaugen 43`` above ``Apt. 323``);
- a post office box (``P.O. Box 12``, ``Postfach 71``) or a US military address
  (``PSC 1234, Box 5678``, ``Unit 4502 Box 4881``, ``FPO AP 24796``, with a ship name before it).

From there the match runs on over what follows in the same address: up to five parts, each on a
new line or after a comma (or, for capitalised words, a space), each a unit, a postcode, or a
place name (words, maybe with a region code or postcode: ``Springfield, IL 62704``,
``Antigua and Barbuda 28975``). After a comma or a space a place name must be capitalised, so that
an address in a sentence does not take in the words after it; on a line of its own a place name
may be lower-case when it is one word or ends in a postcode. A part must end where the line, the
sentence or a comma ends.

A bare postcode (five digits, or ZIP+4) is an address only with a context word such as "zip" or
"postcode" before it.
"""

from presidio_analyzer import Pattern, PatternRecognizer

# Building blocks. Presidio runs patterns with the `regex` module, ignoring case: (?-i:...) is
# where case matters.
_SP = r"[^\S\n]"  # a space within a line
_NUMBER = r"\d{1,5}[a-z]?"  # a house number: 12, 12a
_WORD = r"\p{L}[\w'.-]*"
_CAPITALISED = r"(?-i:\p{Lu}|\p{Lo})[\w'.-]*"  # or a word of a script without case
_POSTCODE = r"\d{4,6}(?:-\d{4})?"
_REGION = r"(?-i:\p{Lu}{2,3})"  # a state or region code: IL, QLD

_STREET_TYPE = (
    r"(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|square|sq"
    r"|terrace|way|highway|hwy|parkway|pkwy|circle|crescent|close|trail|alley|row|grove|gardens|walk|mews)"
)
# Street types that end a continental street name: Lindenstraße, Holmevej, Storgatan, Salontie.
_STREET_TYPE_ENDING = (
    r"(?:stra(?:ss|ß)e|str\.|gasse|weg|vej|veien|vegen|vegur|gatan|gata|gade|laan|straat|steenweg"
    r"|dreef|plein|allee|all[ée]|all[ée]en|plads|platz|tie|katu|kuja|polku|v[äa]g|v[äa]gen|vei|utca|ulica)"
)
# Street types written before the name; the second kind are English words too, so the name after
# them must be capitalised.
_STREET_TYPE_FIRST = r"(?:rue|rua|calle|avenida|avda\.|viale|piazza|ulica|ul\.|strada|carrer|chemin|travessa|pra[çc]a)"
_STREET_TYPE_FIRST_CAPITALISED = r"(?:via|avenue|boulevard)"

_UNIT = r"(?:apt|apartment|suite|ste|flat)\b\.?\s*#?\s*\d+[a-z]?\b"
_END = rf"{_SP}*(?:[,;)\n.?!]|$)"  # where a line, a part of an address or a sentence ends
_NAME = rf"(?:{_WORD}{_SP}+){{0,3}}{_WORD}"
_STREET_BY_TYPE = rf"{_NUMBER}(?:{_SP}+{_NUMBER})?{_SP}+(?:{_WORD}{_SP}+){{0,3}}{_STREET_TYPE}\b\.?"
_STREET_BY_ENDING = rf"(?:{_NUMBER}{_SP}+)?(?:{_CAPITALISED}{_SP}+){{0,2}}\p{{L}}*{_STREET_TYPE_ENDING}{_SP}+{_NUMBER}\b"
_STREET_TYPE_FIRST_NAME = (
    rf"(?:{_STREET_TYPE_FIRST}{_SP}+{_NAME}|{_STREET_TYPE_FIRST_CAPITALISED}{_SP}+{_CAPITALISED}(?:{_SP}+{_WORD}){{0,3}})"
)
_STREET_BY_TYPE_FIRST = (
    rf"(?:{_NUMBER}{_SP}+{_STREET_TYPE_FIRST_NAME}(?:{_SP}+{_NUMBER}\b)?(?={_END})|{_STREET_TYPE_FIRST_NAME}{_SP}+{_NUMBER}\b)"
)
# The street line above a unit line: words and house numbers only.
_LINE_ABOVE = rf"(?<=(?:^|\n)[^\w\n]*)(?:{_NUMBER}{_SP}+)?(?:{_WORD}{_SP}+){{1,4}}{_NUMBER}{_SP}*\n[^\w\n]*(?={_UNIT})"
_PO_BOX = r"(?:p\.?\s?o\.?\s?box|post\s+office\s+box|postfach|postbox|apartado|casilla)\s*#?\s*\d+\b"
_SHIP = rf"(?-i:USNS|USNV|USS|USCGC){_SP}+{_CAPITALISED}(?:{_SP}+{_CAPITALISED})?\s+"
_MILITARY = rf"(?:(?:psc|cmr|unit)\s+\d{{4}},?\s+box\s+\d{{4}}\b|(?:{_SHIP})?(?:apo|fpo|dpo)\s+(?:aa|ae|ap)\s+\d{{5}}\b)"

# What may follow an anchor in the same address.
_PLACE = rf"{_CAPITALISED}(?:{_SP}+{_CAPITALISED}){{0,3}}(?:,?{_SP}+(?:{_POSTCODE}|{_REGION}))?"
_PLACE_LOWER_CASE = rf"{_WORD}(?:{_SP}+{_WORD}){{0,2}}{_SP}+{_POSTCODE}|{_WORD}"
_PART = (
    rf"(?:{_SP}*,{_SP}*(?:{_PLACE}|{_POSTCODE})"
    rf"|{_SP}+(?:{_UNIT}|{_PLACE})"
    rf"|{_SP}*\n[^\w\n]*(?:{_UNIT}|{_PLACE}|{_PLACE_LOWER_CASE}|,{_SP}*{_PLACE}|{_POSTCODE}))"
)
_REST = rf"(?:{_PART}(?={_END})){{0,5}}"


def _address(anchor: str) -> str:
    return rf"\b(?:{anchor}){_REST}"


class AddressRecognizer(PatternRecognizer):
    """ADDRESS: a postal address, from a street line, unit, PO box or military address on."""

    PATTERNS = [
        Pattern("street with a street type", _address(_STREET_BY_TYPE), 0.5),
        Pattern("street name ending in a street type", _address(_STREET_BY_ENDING), 0.5),
        Pattern("street type first", _address(_STREET_BY_TYPE_FIRST), 0.5),
        Pattern("unit", rf"(?:{_LINE_ABOVE})?{_address(_UNIT)}", 0.5),
        Pattern("post office box", _address(_PO_BOX), 0.6),
        Pattern("military address", _address(_MILITARY), 0.6),
        Pattern("postcode", r"\b\d{5}(?:-\d{4})?\b", 0.05),
    ]
    CONTEXT = ["zip", "postcode", "postal", "address"]

    def __init__(self, supported_language: str = "en", **kwargs):
        super().__init__(
            supported_entity="ADDRESS",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            **kwargs,
        )
