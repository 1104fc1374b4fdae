"""Postal addresses, which Presidio has no recognizer for and spaCy's NER finds only in part.

An address is found from an anchor that is hard to mistake for anything else:

- a street line: a house number and a street with a street-type word (``12 Oak Street``,
  ``4 Main Rd.``; before a type that is a common word too, such as "walk" or "way", the name must
  be capitalised, and no street name starts with "the", "down", "each" and the like); a street
  whose name ends in a street type, with its number (``Lindenstraße 4``, ``Storgatan 9``,
  ``Koulutie 3``); or a street type written first with a number before or after it (``14 rue de
  la Paix``, ``Via Garibaldi 12``, ``ul. Polna 3``);
- a unit (``Apt. 4C``, ``Suite 210``, ``Flat 3``), with the line above it when that line holds only
  words and house numbers (``Birkelunden 8`` above ``Apt. 9B``);
- a post office box (``P.O. Box 12``, ``Postfach 1203``) or a US military address
  (``PSC 1234, Box 5678``, ``Unit 2050 Box 4190``, ``FPO AP 96601``, with a ship name before it).

The match then runs on over up to five more parts of the same address, each on a new line or
after a comma (or, capitalised, after a space): a unit; a postcode, maybe with a place name after
it (``10115 Berlin``); or a place name, maybe with a region code, a postcode or both after it
(``Springfield, IL 62704``, ``Boston, MA 02110-1301 USA``, ``Saint Lucia 40431``). A part
must end where a line, a sentence or a comma does, and after a comma or a space a place name must
be capitalised, so that an address in a sentence does not take in the words after it. On a line
of its own a place name may be lower-case if it is one word or ends in a postcode.

A bare postcode (five digits, or ZIP+4) is an address only with a context word ("zip",
"postcode", "postal") near it.
"""

from presidio_analyzer import Pattern, PatternRecognizer

# Building blocks. Presidio runs patterns with the `regex` module, ignoring case: (?-i:...) is
# where case matters.
_SP = r"[^\S\n]"  # a space within a line
_NUMBER = r"\d{1,5}[a-z]?"  # a house number: 12, 12a
_WORD = r"\p{L}[\w'.-]*"
# A capitalised word, or one of a script without case; a full stop only inside it ("St.John").
_CAPITALISED = r"(?-i:\p{Lu}|\p{Lo})[\w'-]*(?:\.\w[\w'-]*)*"
# Words that do not start a street name: "5 miles down the road", "2 hours each way".
_NOT_NAMES = (
    "the a an of on onto to in into at by up down off from along across over my your his her its our their"
    " this that these those and or each per every next last"
)
_NOT_A_NAME = rf"(?!(?:{'|'.join(_NOT_NAMES.split())})\b)"
_POSTCODE = r"(?:\d{4,6}(?:-\d{4})?|(?-i:[A-Z]{1,2}\d[A-Z\d]?[^\S\n]?\d[A-Z]{2}))\b"  # 62704, 02110-1301, NW8 9AY
_REGION = r"(?-i:\p{Lu}{2,3})"  # a state or region code: IL, QLD
_END = rf"{_SP}*(?:[,;)\n.?!]|$)"  # where a line, a part of an address or a sentence ends

# Street types after the name. The first kind are seldom anything else: the name before them may
# be lower-case. The second kind are common words too ("a 10 minute walk", "2 hours each way"):
# the name before them must be capitalised.
_STREET_TYPE = r"(?:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|highway|hwy|parkway|pkwy)"
_STREET_TYPE_AFTER_CAPITALISED = (
    r"(?:drive|dr|court|ct|place|pl|square|sq|terrace|way|circle|crescent|close|trail|alley|row|grove"
    r"|gardens|walk|mews)"
)
# Street types that end a continental street name: Lindenstraße, Skovvej, Storgatan, Koulutie.
_STREET_TYPE_ENDING = (
    r"(?:stra(?:ss|ß)e|str\.|gasse|weg|vej|veien|vegen|vegur|gatan|gata|gade|laan|straat|steenweg"
    r"|dreef|plein|allee|allé|alléen|plads|platz|tie|katu|kuja|polku|v[äa]g|v[äa]gen|vei|utca|ulica)"
)
# Street types written before the name. The second kind are English words too: the name after them
# must be capitalised.
_STREET_TYPE_FIRST = r"(?:rue|rua|calle|avenida|avda\.|viale|piazza|ulica|ul\.|strada|carrer|chemin|travessa|pra[çc]a)"
_STREET_TYPE_FIRST_CAPITALISED = r"(?:via|avenue|boulevard)"

_UNIT = r"(?:apt|apartment|suite|ste|(?-i:Flat|FLAT))\b\.?\s*#?\s*\d+[a-z]?\b"
_HOUSE_NUMBERS = rf"{_NUMBER}(?:{_SP}+{_NUMBER})?{_SP}+"
_STREET_BY_TYPE = (
    rf"{_HOUSE_NUMBERS}(?:(?:{_NOT_A_NAME}{_WORD}{_SP}+){{1,3}}{_STREET_TYPE}"
    rf"|(?:{_CAPITALISED}{_SP}+){{1,3}}(?:{_STREET_TYPE}|{_STREET_TYPE_AFTER_CAPITALISED}))\b\.?"
)
_STREET_BY_ENDING = (
    rf"(?:{_NUMBER}{_SP}+)?(?:{_CAPITALISED}{_SP}+){{0,2}}\p{{L}}{{2,}}{_STREET_TYPE_ENDING}{_SP}+{_NUMBER}\b"
)
_STREET_TYPE_FIRST_NAME = (
    rf"(?:{_STREET_TYPE_FIRST}{_SP}+(?:{_WORD}{_SP}+){{0,3}}{_WORD}"
    rf"|{_STREET_TYPE_FIRST_CAPITALISED}{_SP}+{_CAPITALISED}(?:{_SP}+{_WORD}){{0,3}})"
)
_STREET_BY_TYPE_FIRST = (
    rf"(?:{_NUMBER}{_SP}+{_STREET_TYPE_FIRST_NAME}(?:{_SP}+{_NUMBER}\b)?(?={_END})"
    rf"|{_STREET_TYPE_FIRST_NAME}{_SP}+{_NUMBER}\b)"
)
# The street line above a unit line: words and house numbers only.
_LINE_ABOVE = rf"(?<=(?:^|\n)[^\w\n]*)(?:{_NUMBER}{_SP}+)?(?:{_WORD}{_SP}+){{1,4}}{_NUMBER}{_SP}*\n[^\w\n]*(?={_UNIT})"
_PO_BOX = r"(?:p\.?\s?o\.?\s?box|post\s+office\s+box|postfach|postbox|apartado|casilla)\s*#?\s*\d+\b"
_SHIP = rf"(?-i:USNS|USNV|USS|USCGC){_SP}+{_CAPITALISED}(?:{_SP}+{_CAPITALISED})?\s+"
_MILITARY = (
    rf"(?:(?:psc|cmr|unit)\s+\d{{4}},?\s+box\s+\d{{4}}\b"
    rf"|(?:{_SHIP})?(?:apo|fpo|dpo)\s+(?:aa|ae|ap)\s+\d{{5}}\b)"
)

# What may follow an anchor in the same address.
_PLACE = rf"{_CAPITALISED}(?:{_SP}+{_CAPITALISED}){{0,3}}(?:,?{_SP}+(?:{_POSTCODE}|{_REGION})){{0,2}}"
_PLACE_LOWER_CASE = rf"{_WORD}(?:{_SP}+{_WORD}){{0,2}}{_SP}+{_POSTCODE}|{_WORD}"
_POSTCODE_FIRST = rf"{_POSTCODE}(?:{_SP}+{_PLACE})?"  # 10115 Berlin
_PART = (
    rf"(?:{_SP}*,{_SP}*(?:{_PLACE}|{_POSTCODE_FIRST})"
    rf"|{_SP}+(?:{_UNIT}|{_PLACE})"
    rf"|{_SP}*\n[^\w\n]*(?:{_UNIT}|{_PLACE}|{_PLACE_LOWER_CASE}|,{_SP}*{_PLACE}|{_POSTCODE_FIRST}))"
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
        Pattern("postcode (weak)", r"(?<![\w#/-])\d{5}(?:-\d{4})?\b", 0.05),
    ]
    CONTEXT = ["zip", "postcode", "postal"]

    def __init__(self, supported_language: str = "en", **kwargs):
        super().__init__(
            supported_entity="ADDRESS",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            **kwargs,
        )
